"""`vitrine bench ingest`: the intake function's cost per event, in process (issue 17).

Times :func:`screens.services.events.ingest` (validation, log insert, rollups, one transaction)
on the mixed log of :mod:`screens.tools.analytics_bench` (crowds, showings, claims, store visits)
in batches of 1,000, against a fresh migrated SQLite file or a scratch PostgreSQL database. No
HTTP and no JSON: what is left is the intake's own work, which is what rollups at ingest add to.
Each repeat starts from an empty log, so repeats measure the same work.

``http=True`` measures the same log end to end instead: ``vitrine serve`` on a fresh SQLite file
with the in-process bus, the mall set up over the API, the events POSTed in batches of 1,000 as
JSON (events per second of POST wall time; serialising the bodies is done before the clock starts).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session

from screens.auth import Principal
from screens.bus.memory import MemoryEventStream, make_memory_bus
from screens.db.session import make_engine, upgrade
from screens.db.tables import Coupon, Screen, Store
from screens.services.events import IntakeConfig, ScreenInfo, ingest
from screens.services.session_window import SessionPolicy
from screens.settings import Settings
from screens.tools.analytics_bench import COUPONS_PER_STORE, LEAD_INS, STORES, _database, passes


class _Discard(MemoryEventStream):
    """Nothing consumes the stream in this bench, so nothing is kept."""

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        pass


def _mall(session: Session) -> dict[str, ScreenInfo]:
    now = datetime.now(UTC)
    screens: dict[str, ScreenInfo] = {}
    for s in range(STORES):
        session.add(Store(id=f"st{s}", name=f"Store {s}", floor=1, zone="z", category="fashion"))
    session.flush()
    for s in range(STORES):
        session.add(Screen(id=f"cam{s}", kind="entrance_camera", store_id=f"st{s}"))
        screens[f"cam{s}"] = ScreenInfo("entrance_camera", f"st{s}")
        for j in range(COUPONS_PER_STORE):
            session.add(
                Coupon(
                    id=f"c{s * COUPONS_PER_STORE + j}",
                    store_id=f"st{s}",
                    title=f"Offer {j}",
                    kind="percent",
                    value=10.0,
                    valid_from=now - timedelta(days=40),
                    valid_to=now + timedelta(days=40),
                )
            )
    for i in range(LEAD_INS):
        session.add(Screen(id=f"lead{i}", kind="lead_in", zone="atrium"))
        screens[f"lead{i}"] = ScreenInfo("lead_in", None)
    session.commit()
    return screens


def _one_run(url: str, total: int, minutes: float) -> tuple[float, float, int, int]:
    """Wall and CPU seconds spent inside ``ingest`` for about ``total`` events; events sent, accepted."""
    upgrade(url)
    engine = make_engine(url)
    config = IntakeConfig.from_settings(Settings(database_url=url))
    admin = Principal(token_id=0, role="admin")
    stream = _Discard()
    sessions = SessionPolicy(engine, make_memory_bus().counters, "ingest-bench", 7200.0)
    wall = cpu = 0.0
    sent = accepted = 0
    try:
        with Session(engine) as session:
            screens = _mall(session)
        # Live traffic: each batch of 1,000 spans a few minutes of the mall, in time order.
        for batch in passes(total, per_pass=total, span=timedelta(minutes=minutes)):
            with Session(engine) as session:
                w, c = time.perf_counter(), time.process_time()
                result = ingest(session, stream, batch, screens, admin, config, sessions=sessions)
                wall += time.perf_counter() - w
                cpu += time.process_time() - c
            sent += len(batch)
            accepted += result.accepted
    finally:
        engine.dispose()
    return wall, cpu, sent, accepted


def _one_http_run(total: int, minutes: float) -> tuple[float, float, int, int]:
    """POST wall seconds for about ``total`` events to a fresh ``vitrine serve`` (SQLite); CPU is not
    measured (0.0: the work is in the server process); events sent, accepted."""
    from screens.tools.analytics_bench import _mall as mall_over_http
    from screens.tools.http_bench import _start_service

    bodies = [
        json.dumps({"events": b}).encode() for b in passes(total, per_pass=total, span=timedelta(minutes=minutes))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        service, base, admin = _start_service(Path(tmp), None)
        try:
            with httpx.Client(base_url=base, headers=admin, timeout=120) as http:
                mall_over_http(http)
                wall, sent, accepted = 0.0, 0, 0
                for body in bodies:
                    w = time.perf_counter()
                    answer = http.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
                    wall += time.perf_counter() - w
                    answer.raise_for_status()
                    accepted += answer.json()["accepted"]
                    sent += body.count(b'"event_id"')
        finally:
            service.stop()
    return wall, 0.0, sent, accepted


def bench_ingest(
    total: int,
    repeats: int,
    postgres_admin_url: str | None,
    minutes: float,
    progress: Callable[[str], Any],
    http: bool = False,
) -> dict[str, Any]:
    """Median µs per event (wall and CPU) over ``repeats`` runs, each on a fresh database."""
    if http and postgres_admin_url:
        raise ValueError("--http runs on SQLite only")
    walls: list[float] = []
    cpus: list[float] = []
    for r in range(repeats):
        if http:
            wall, cpu, sent, accepted = _one_http_run(total, minutes)
        else:
            with tempfile.TemporaryDirectory() as tmp, _database(postgres_admin_url, Path(tmp)) as url:
                wall, cpu, sent, accepted = _one_run(url, total, minutes)
        if accepted != sent:
            raise RuntimeError(f"{sent - accepted} of {sent} events were not accepted")
        walls.append(wall / sent * 1e6)
        cpus.append(cpu / sent * 1e6)
        progress(f"run {r + 1}/{repeats}: {walls[-1]:.1f} µs/event wall, {cpus[-1]:.1f} CPU\n")
    return {
        "database": "postgresql" if postgres_admin_url else "sqlite",
        "path": "HTTP batches of 1,000" if http else "intake function in process",
        "events": total,
        "repeats": repeats,
        "us_per_event_wall": [round(w, 1) for w in walls],
        "us_per_event_cpu": [round(c, 1) for c in cpus],
        "median_us_per_event_wall": round(statistics.median(walls), 1),
        "median_us_per_event_cpu": round(statistics.median(cpus), 1),
        "median_events_per_s": round(1e6 / statistics.median(walls)),
    }
