"""`vitrine bench analytics`: analytics latency against the size of the event log (issue 17).

A real service process (``vitrine serve``) on SQLite or PostgreSQL gets a mall of 60 stores,
100 lead-in screens and 180 coupons, then the log is filled through ``POST /v1/events`` (batches
of 1,000) in passes that each span the last 29 days, so a bigger log is a busier mall over the same
days (as more screens would make it), not a longer history. After each size, every endpoint the
console calls, the store audience and the coupon ranking route are timed over HTTP.

Bulk path (``--bulk``, for the 10M point): events are written by the intake function itself
(``screens.services.events.ingest``: same validation, log insert and rollups, same transaction) in
batches of about 5,000 from this process, skipping HTTP and JSON; the service process only answers the
timed reads. It measures the same read path at a log size HTTP filling would take hours to reach.
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from screens.bus.memory import MemoryEventStream

log = logging.getLogger(__name__)
STORES, LEAD_INS, COUPONS_PER_STORE = 60, 100, 3
SPAN = timedelta(days=29)
BATCH = 1_000
ENDPOINTS = (
    ("store audience grid", "/v1/analytics/stores/{store}/audience?days=28"),
    ("store coupons", "/v1/analytics/stores/{store}/coupons?days=28"),
    ("traffic", "/v1/analytics/traffic?days=30"),
    ("flow", "/v1/analytics/flow?days=7"),
    ("coupon summary", "/v1/analytics/coupons?days=7"),
    ("screens", "/v1/analytics/screens"),
    ("store audience (published)", "/v1/stores/{store}/audience"),
    ("coupon ranking", "/v1/screens/{screen}/coupons"),
)


def _moment(rng: random.Random, at: datetime) -> list[dict[str, Any]]:
    """What one moment at a lead-in screen logs: its crowd, maybe a showing and a claim, a store visit."""
    screen = f"lead{rng.randrange(LEAD_INS)}"
    faces = [
        {"gender": rng.choice(("female", "male")), "age": rng.randint(8, 75), "confidence": 0.9}
        for _ in range(rng.randint(1, 4))
    ]
    events: list[dict[str, Any]] = [_event("audience", at, screen_id=screen, faces=faces)]
    coupon = f"c{rng.randrange(STORES * COUPONS_PER_STORE)}"
    if rng.random() < 0.5:
        shown = at + timedelta(seconds=rng.uniform(1, 5))
        events.append(
            _event("coupon_impression", shown, screen_id=screen, coupon_id=coupon, explored=rng.random() < 0.1)
        )
        if rng.random() < 0.08:
            events.append(
                _event("coupon_claim", shown + timedelta(seconds=rng.uniform(1, 8)), coupon_id=coupon, screen_id=screen)
            )
    store = rng.randrange(STORES)
    face = faces[0]
    events.append(_event("store_visit", at, screen_id=f"cam{store}", gender=face["gender"], age=face["age"]))
    return events


def _event(kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "type": kind, "ts": at.isoformat(), **fields}


def passes(total: int, per_pass: int, seed: int = 17, span: timedelta = SPAN) -> Iterator[list[dict[str, Any]]]:
    """Batches of events; each pass of ``per_pass`` events spans the last ``span`` in time order."""
    rng = random.Random(seed)
    end = datetime.now(UTC) - timedelta(minutes=1)
    made = 0
    while made < total:
        n = min(per_pass, total - made)
        moments = math.ceil(n / 2.54)  # events per moment, on average
        step = span / moments
        batch: list[dict[str, Any]] = []
        start = end - span
        for i in range(moments):
            batch += _moment(rng, start + step * i)
            if len(batch) > BATCH - 4:  # a moment logs at most 4 events; a batch holds at most 1,000
                yield batch
                made += len(batch)
                batch = []
        if batch:
            yield batch
            made += len(batch)


def _mall(http: httpx.Client) -> None:
    now = datetime.now(UTC)
    for s in range(STORES):
        body = {"name": f"Store {s}", "floor": 1 + s % 3, "zone": "z", "category": "fashion"}
        http.put(f"/v1/stores/st{s}", json=body).raise_for_status()
    for s in range(STORES):
        http.put(f"/v1/screens/cam{s}", json={"kind": "entrance_camera", "store_id": f"st{s}"}).raise_for_status()
        coupons = [
            {
                "coupon_id": f"c{s * COUPONS_PER_STORE + j}",
                "title": f"Offer {j}",
                "kind": "percent",
                "value": 10 + j * 5,
                "valid_from": (now - timedelta(days=40)).isoformat(),
                "valid_to": (now + timedelta(days=40)).isoformat(),
                "daily_cap": 200,
            }
            for j in range(COUPONS_PER_STORE)
        ]
        http.put(f"/v1/stores/st{s}/coupons", json=coupons).raise_for_status()
    for i in range(LEAD_INS):
        http.put(f"/v1/screens/lead{i}", json={"kind": "lead_in", "zone": "atrium"}).raise_for_status()


def _time_endpoints(http: httpx.Client, repeats: int) -> dict[str, dict[str, float]]:
    rng = random.Random(3)
    answer = {}
    for name, path in ENDPOINTS:
        times = []
        for _ in range(repeats):
            url = path.format(store=f"st{rng.randrange(STORES)}", screen=f"lead{rng.randrange(LEAD_INS)}")
            t0 = time.perf_counter()
            http.get(url).raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
        answer[name] = {
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(statistics.quantiles(times, n=20)[-1], 1),
        }
    return answer


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


@contextmanager
def _database(postgres_admin_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a scratch PostgreSQL database dropped afterwards."""
    if postgres_admin_url is None:
        yield f"sqlite:///{workdir}/bench.db"
        return
    import psycopg

    name = f"vitrine_bench_{uuid.uuid4().hex[:8]}"
    admin = postgres_admin_url.replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def bench_analytics(
    sizes: list[int],
    postgres_admin_url: str | None = None,
    repeats: int = 20,
    bulk: bool = False,
    progress: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Fill the log to each of ``sizes`` (ascending) and time every analytics read at each."""
    from screens.tools.http_bench import _start_service

    sizes = sorted(sizes)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, _database(postgres_admin_url, Path(tmp)) as url:
        service, base, admin = _start_service(Path(tmp), None, database_url=url)
        try:
            with httpx.Client(base_url=base, headers=admin, timeout=120) as http:
                _mall(http)
                batches = passes(sizes[-1], per_pass=min(sizes[0], 100_000))
                filled, wal_max = 0, 0
                for size in sizes:
                    started, sent = time.perf_counter(), filled
                    while filled < size:
                        batch = next(batches)
                        if bulk:  # five batches per transaction: fewer, larger rollup upserts
                            for _ in range(4):
                                batch += next(batches, [])
                            _ingest_direct(url, batch)
                        else:
                            body = json.dumps({"events": batch}).encode()
                            r = http.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
                            assert r.json()["accepted"] == len(batch), r.text[:500]
                        filled += len(batch)
                        wal_max = max(wal_max, _wal_bytes(url))
                        if progress and filled % 50_000 < len(batch):
                            progress(f"\r{filled:,} events logged")
                    elapsed = time.perf_counter() - started
                    _analyze(url)
                    time.sleep(2)  # let the consumer drain the stream and the audiences reload
                    results.append(
                        {
                            "events": filled,
                            "ingest_events_per_s": round((filled - sent) / elapsed),
                            "ingest_path": "intake function (bulk)" if bulk else "HTTP batches of 1,000",
                            "endpoints": _time_endpoints(http, repeats),
                            "server_rss_mb": _rss_mb(service.proc.pid),
                            "sqlite_wal_max_mb": round(wal_max / 2**20, 1) if url.startswith("sqlite") else None,
                        }
                    )
                    if progress:
                        progress(f"\n{json.dumps(results[-1])}\n")
        finally:
            service.stop()
    return {"database": "postgresql" if postgres_admin_url else "sqlite", "sizes": results}


def _analyze(url: str) -> None:
    """Refresh planner statistics (and, on PostgreSQL, clear the upserts' dead rows) before timing.

    A fill at full speed outruns autovacuum; a service at a steady rate has it keep up, and that
    steady state is what the timed reads are meant to show.
    """
    from sqlalchemy import text

    from screens.db.rollups import ROLLUPS
    from screens.db.session import make_engine
    from screens.db.tables import table

    engine = make_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            for model in ROLLUPS:
                conn.execute(text(f"VACUUM ANALYZE {table(model).name}"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def _wal_bytes(url: str) -> int:
    if not url.startswith("sqlite"):
        return 0
    wal = Path(url.removeprefix("sqlite:///") + "-wal")
    return wal.stat().st_size if wal.exists() else 0


_ENGINES: dict[str, Any] = {}


class _Discard(MemoryEventStream):
    """The bulk path's stream: nothing consumes it here, so nothing is kept."""

    def publish(self, events: Sequence[dict[str, Any]]) -> None:
        pass


def _ingest_direct(url: str, batch: list[dict[str, Any]]) -> None:
    """The bulk path: the intake function in this process (validation, log, rollups; no HTTP)."""
    from sqlmodel import Session, select

    from screens.auth import Principal
    from screens.bus.memory import make_memory_bus
    from screens.db.session import make_engine
    from screens.db.tables import Screen
    from screens.services.events import IntakeConfig, ScreenInfo, ingest
    from screens.services.session_window import SessionPolicy
    from screens.settings import Settings

    if url not in _ENGINES:
        engine = make_engine(url)
        with Session(engine) as session:
            screens = {s.id: ScreenInfo(s.kind, s.store_id) for s in session.exec(select(Screen))}
        config = IntakeConfig.from_settings(Settings(database_url=url))
        sessions = SessionPolicy(engine, make_memory_bus().counters, "analytics-bench", 7200.0)
        _ENGINES[url] = (engine, screens, config, _Discard(), sessions)
    engine, screens, config, stream, sessions = _ENGINES[url]
    with Session(engine) as session:
        admin = Principal(token_id=0, role="admin")
        result = ingest(session, stream, batch, screens, admin, config, sessions=sessions)
    assert result.accepted == len(batch), result.errors[:3]
