"""`vitrine bench analytics`: analytics latency against the size of the event log (issue 17).

A real service process (``vitrine serve``) on SQLite or PostgreSQL gets a mall of 60 stores,
100 lead-in screens and 180 coupons, then the log is filled through ``POST /v1/events`` (batches
of 1,000) in passes that each span the last 29 days, so a bigger log is a busier mall over the same
days (as more screens would make it), not a longer history. After each size, every endpoint the
console calls, the store audience and the coupon ranking route are timed over HTTP (after one
untimed call each).

Bulk path (``--bulk``, for the 1M and 10M points): each size's new events are one pass over the
29 days in time order (so a bigger log is still a busier mall), validated by the event schema and
written straight into the raw log with the database's bulk writer (SQLite: an executemany per
transaction of :data:`BULK_ROWS`; PostgreSQL: ``COPY`` into the partitioned log and its id ledger);
then the rollups are recomputed from the whole log by the service's own rebuild
(:func:`screens.services.rebuild.rebuild`, as ``vitrine analytics rebuild`` runs it), so they are
exactly what intake would have kept. Nothing goes through the stream, so live state (recent faces)
stays empty. The service process only answers the timed reads. Memory stays flat: events are
generated, written and rolled up a batch at a time.
"""

from __future__ import annotations

import json
import logging
import math
import random
import resource
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)
STORES, LEAD_INS, COUPONS_PER_STORE = 60, 100, 3
SPAN = timedelta(days=29)
BATCH = 1_000
BULK_ROWS = 50_000
ENDPOINTS = (
    ("store audience grid", "/v1/analytics/stores/{store}/audience?days=28"),
    ("store coupons", "/v1/analytics/stores/{store}/coupons?days=28"),
    ("traffic", "/v1/analytics/traffic?days=30"),
    ("flow", "/v1/analytics/flow?days=7"),
    ("flow chart", "/v1/analytics/flow/chart?days=7"),
    ("proof of play", "/v1/analytics/proof-of-play?days=7&limit=100"),
    ("proof of play CSV (every pair)", "/v1/analytics/proof-of-play.csv?days=7"),
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
        # One untimed call first: the first read after a fill meets cold pages and plans, which a
        # console polling the same endpoint does not.
        http.get(path.format(store="st0", screen="lead0")).raise_for_status()
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
def _database(postgres_admin_url: str | None, workdir: Path, keep: bool = False) -> Iterator[str]:
    """A fresh database: a SQLite file in ``workdir``, or a scratch PostgreSQL database dropped
    afterwards unless ``keep``."""
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
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


@contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    """Where the service runs (and the SQLite file lives): removed afterwards unless ``keep``."""
    if keep:
        yield Path(tempfile.mkdtemp(prefix="vitrine-bench-analytics-"))
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def logged_events(url: str) -> int:
    """How many events a database's raw log holds (what a kept database is timed at)."""
    from sqlalchemy import func, select

    from screens.db.session import make_engine
    from screens.db.tables import EventRecord, table

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table(EventRecord))).scalar_one())
    finally:
        engine.dispose()


def bench_analytics(
    sizes: list[int],
    postgres_admin_url: str | None = None,
    repeats: int = 20,
    bulk: bool = False,
    progress: Callable[[str], object] | None = None,
    keep: bool = False,
) -> dict[str, Any]:
    """Fill the log to each of ``sizes`` (ascending) and time every analytics read at each.

    With ``keep`` the filled database stays (its URL is in the answer's ``kept``), so a change to
    the read path can be timed on it again with :func:`time_kept` instead of another fill.
    """
    from screens.tools.http_bench import _start_service

    sizes = sorted(sizes)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    results: list[dict[str, Any]] = []
    with _workdir(keep) as workdir, _database(postgres_admin_url, workdir, keep) as url:
        if keep and progress:
            progress(f"keeping the filled database: {url}\n")
        service, base, admin = _start_service(workdir, None, database_url=url)
        try:
            with httpx.Client(base_url=base, headers=admin, timeout=120) as http:
                _mall(http)
                batches = passes(sizes[-1], per_pass=min(sizes[0], 100_000))
                filled, wal_max = 0, 0
                for size in sizes:
                    started, sent = time.perf_counter(), filled
                    if bulk:
                        filled += bulk_fill(url, passes(size - filled, per_pass=size - filled, seed=size), progress)
                        wal_max = max(wal_max, _wal_bytes(url))
                        rolled = rebuild_rollups(url, progress)
                        assert rolled == filled, (rolled, filled)
                    while not bulk and filled < size:
                        batch = next(batches)
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
                            "ingest_path": "bulk write + rebuild" if bulk else "HTTP batches of 1,000",
                            "endpoints": _time_endpoints(http, repeats),
                            "server_rss_mb": _rss_mb(service.proc.pid),
                            "bench_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                            "sqlite_wal_max_mb": round(wal_max / 2**20, 1) if url.startswith("sqlite") else None,
                        }
                    )
                    if progress:
                        progress(f"\n{json.dumps(results[-1])}\n")
        finally:
            service.stop()
    answer: dict[str, Any] = {"database": "postgresql" if postgres_admin_url else "sqlite", "sizes": results}
    if keep:
        answer["kept"] = url
    return answer


def time_kept(url: str, repeats: int = 20) -> dict[str, Any]:
    """Time every analytics read again on a database an earlier ``keep`` run filled (no fill)."""
    from screens.tools.http_bench import _start_service

    logging.getLogger("httpx").setLevel(logging.WARNING)
    events = logged_events(url)
    if not events:
        raise ValueError(f"{url}: the event log is empty; fill one with --keep first")
    with tempfile.TemporaryDirectory() as tmp:
        service, base, admin = _start_service(Path(tmp), None, database_url=url)
        try:
            with httpx.Client(base_url=base, headers=admin, timeout=120) as http:
                time.sleep(2)  # let the audiences load
                timed = {
                    "events": events,
                    "endpoints": _time_endpoints(http, repeats),
                    "server_rss_mb": _rss_mb(service.proc.pid),
                }
        finally:
            service.stop()
    return {"database": "postgresql" if url.startswith("postgresql") else "sqlite", "kept": url, "sizes": [timed]}


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


def bulk_fill(
    url: str, batches: Iterator[list[dict[str, Any]]], progress: Callable[[str], object] | None = None
) -> int:
    """Write ``batches`` into the raw log with the database's bulk writer; how many were written.

    The payloads are what intake logs (the schema's JSON dump plus the screen's store); the rollups
    are not touched (:func:`rebuild_rollups` makes them). Events must be new and within the days
    the log has partitions for.
    """
    from sqlalchemy import insert
    from sqlmodel import Session, select

    from screens.db.session import make_engine
    from screens.db.tables import EventRecord, Screen, table
    from screens.schemas.events import EVENT_ADAPTER

    engine = make_engine(url)
    with Session(engine) as session:
        stores = {s.id: s.store_id for s in session.exec(select(Screen))}
    received = datetime.now(UTC)

    def rows() -> Iterator[dict[str, Any]]:
        for batch in batches:
            for raw in batch:
                payload: dict[str, Any] = EVENT_ADAPTER.validate_python(raw).model_dump(mode="json")
                screen = payload.get("screen_id")
                payload["store_id"] = payload.get("store_id") or (stores.get(screen) if screen else None)
                yield {
                    "event_id": payload["event_id"],
                    "type": payload["type"],
                    "ts": datetime.fromisoformat(payload["ts"]),
                    "screen_id": screen,
                    "store_id": payload["store_id"],
                    "payload": payload,
                    "received_at": received,
                }

    written = 0
    chunk: list[dict[str, Any]] = []
    try:
        if engine.dialect.name == "postgresql":
            written = _copy_postgres(engine, rows(), progress)
        else:
            statement = insert(table(EventRecord))
            for row in rows():
                chunk.append(row)
                if len(chunk) == BULK_ROWS:
                    with engine.begin() as conn:
                        conn.execute(statement, chunk)
                    written += len(chunk)
                    chunk = []
                    if progress:
                        progress(f"\r{written:,} events written")
            if chunk:
                with engine.begin() as conn:
                    conn.execute(statement, chunk)
                written += len(chunk)
    finally:
        engine.dispose()
    return written


def _copy_postgres(engine: Any, rows: Iterator[dict[str, Any]], progress: Callable[[str], object] | None) -> int:
    """``COPY`` into the partitioned log and the id ledger, one transaction per :data:`BULK_ROWS`."""
    from screens.db.partitions import ensure_partitions

    columns = ("event_id", "type", "ts", "screen_id", "store_id", "payload", "received_at")
    now = datetime.now(UTC).date()
    with engine.begin() as conn:
        ensure_partitions(conn, now - SPAN - timedelta(days=1), now + timedelta(days=1))
    written, more = 0, True
    while more:
        more = False
        raw = engine.raw_connection()
        try:
            cursor = raw.driver_connection.cursor()  # psycopg's own, for COPY
            ledger: list[tuple[str, datetime]] = []
            with cursor.copy(f"COPY event_log ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(row[c]) if c == "payload" else row[c] for c in columns])
                    ledger.append((row["event_id"], row["ts"]))
                    if len(ledger) == BULK_ROWS:
                        more = True
                        break
            with cursor.copy("COPY event_ledger (event_id, ts) FROM STDIN") as copy:
                for entry in ledger:
                    copy.write_row(entry)
            raw.driver_connection.commit()
            written += len(ledger)
        finally:
            raw.close()
        if progress:
            progress(f"\r{written:,} events written")
    return written


def rebuild_rollups(url: str, progress: Callable[[str], object] | None = None) -> int:
    """Recompute every rollup from the whole log with the service's rebuild; how many events it read."""
    from sqlmodel import Session

    from screens.db.session import make_engine
    from screens.services.events import IntakeConfig
    from screens.services.rebuild import rebuild
    from screens.settings import Settings

    engine = make_engine(url)
    config = IntakeConfig.from_settings(Settings(database_url=url)).rollups
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress and done % 100_000 < n:
            progress(f"\r{done:,} events rolled up")

    try:
        with Session(engine) as session:
            result = rebuild(session, config, None, step)
    finally:
        engine.dispose()
    return result.events
