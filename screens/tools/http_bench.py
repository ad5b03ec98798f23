"""Service benchmarks over real HTTP on loopback: catalog upload and event ingestion.

The service runs as its own process (``vitrine serve``) and the load comes from this one, so the
figures include parsing, validation, the database and the network stack — what a merchandiser's
upload or a fleet of kiosks sees. Run with ``vitrine bench upload`` / ``vitrine bench events``;
the coupon route's benchmark is :mod:`screens.tools.coupon_bench`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)


def machine() -> dict[str, Any]:
    import os

    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _start_service(
    workdir: Path, redis_url: str | None, workers: int = 1, database_url: str | None = None
) -> tuple[Any, str, dict[str, str]]:
    from screens.tools.launcher import ServiceProcess

    db = database_url or f"sqlite:///{workdir}/bench.db"
    env = {"VITRINE_DATABASE_URL": db, "VITRINE_LOG_LEVEL": os.environ.get("VITRINE_LOG_LEVEL", "WARNING")}
    if redis_url:
        env["VITRINE_REDIS_URL"] = redis_url
    from screens.db.session import upgrade

    upgrade(db)
    from sqlmodel import Session

    from screens.auth import create_token
    from screens.db.session import make_engine

    engine = make_engine(db)
    with Session(engine) as session:
        token = create_token(session, "admin", label="bench")
        session.commit()
    engine.dispose()
    service = ServiceProcess(env, workers=workers, cwd=workdir)
    service.start()
    return service, service.url, {"Authorization": f"Bearer {token}"}


def _wait_until_idle(http: httpx.Client, timeout_s: float = 300.0) -> None:
    """Let the previous upload's background index rebuild finish, so each upload is timed alone."""
    deadline = time.monotonic() + timeout_s
    while http.get("/readyz").json().get("background_tasks", 0) and time.monotonic() < deadline:
        time.sleep(0.2)


def bench_upload(rows: int = 100_000, repeats: int = 3, redis_url: str | None = None) -> dict[str, Any]:
    """Time ``PUT /v1/stores/{id}/catalog`` with a ``rows``-row CSV (first insert, then upserts)."""
    from seeds.files import write_catalog_csv
    from seeds.generate import generate_catalog

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        items = generate_catalog(rows, ["bench"], seed=1)
        write_catalog_csv(items, workdir / "catalog.csv")
        body = (workdir / "catalog.csv").read_bytes()
        service, url, admin = _start_service(workdir, redis_url)
        try:
            with httpx.Client(base_url=url, headers=admin, timeout=300) as http:
                http.put("/v1/stores/bench", json={"name": "Bench", "floor": 1, "zone": "x", "category": "fashion"})
                times = []
                for i in range(repeats):
                    _wait_until_idle(http)
                    start = time.perf_counter()
                    r = http.put("/v1/stores/bench/catalog", content=body, headers={"Content-Type": "text/csv"})
                    times.append(time.perf_counter() - start)
                    r.raise_for_status()
                    log.info("upload %d/%d: %d rows in %.2f s", i + 1, repeats, r.json()["rows"], times[-1])
        finally:
            service.stop()
    return {
        "rows": rows,
        "bytes": len(body),
        "first_insert_s": round(times[0], 2),
        "median_s": round(statistics.median(times), 2),
        "all_s": [round(t, 2) for t in times],
    }


def _events(n: int, screens: list[str]) -> list[dict[str, Any]]:
    now = datetime.now(UTC).isoformat()
    out = []
    for i in range(n):
        screen = screens[i % len(screens)]
        out.append(
            {
                "event_id": str(uuid.uuid4()),
                "ts": now,
                "type": "audience",
                "screen_id": screen,
                "faces": [{"gender": "female", "age": 20 + i % 40, "confidence": 0.8}],
            }
        )
    return out


def bench_events(total: int = 50_000, batch: int = 500, redis_url: str | None = None) -> dict[str, Any]:
    """Events per second through ``POST /v1/events`` in batches, one client, sequential."""
    with tempfile.TemporaryDirectory() as tmp:
        service, url, admin = _start_service(Path(tmp), redis_url)
        try:
            with httpx.Client(base_url=url, headers=admin, timeout=60) as http:
                screens = [f"lead{i}" for i in range(10)]
                for sid in screens:
                    http.put(f"/v1/screens/{sid}", json={"kind": "lead_in"}).raise_for_status()
                payloads = [json.dumps({"events": _events(batch, screens)}).encode() for _ in range(total // batch)]
                latencies = []
                start = time.perf_counter()
                for body in payloads:
                    t0 = time.perf_counter()
                    r = http.post("/v1/events", content=body, headers={"Content-Type": "application/json"})
                    latencies.append(time.perf_counter() - t0)
                    assert r.json()["accepted"] == batch, r.text
                elapsed = time.perf_counter() - start
        finally:
            service.stop()
    return {
        "events": total,
        "batch": batch,
        "bus": "redis" if redis_url else "memory",
        "events_per_s": round(total / elapsed),
        "batch_median_ms": round(statistics.median(latencies) * 1000, 1),
    }
