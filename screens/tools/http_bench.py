"""Service benchmarks over real HTTP on loopback: catalog upload, event ingestion, coupon ranking.

The service runs as its own process (``vitrine serve``) and the load comes from this one, so the
figures include parsing, validation, the database and the network stack — what a merchandiser's
upload or a fleet of kiosks sees. Run with ``vitrine bench upload`` / ``vitrine bench events`` /
``vitrine bench coupons`` (the latter's load comes from separate processes).
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
from datetime import UTC, datetime, timedelta
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


def _coupon_world(http: httpx.Client, n_coupons: int, n_stores: int, n_screens: int) -> list[str]:
    """Stores with entrance cameras, coupons spread over them, lead-in screens and two weeks of visits."""
    import random

    rng = random.Random(1)
    now = datetime.now(UTC)
    categories = ("fashion", "sports", "toys", "beauty", "electronics", "food", "home", "books")
    for s in range(n_stores):
        http.put(
            f"/v1/stores/st{s}",
            json={"name": f"Store {s}", "floor": 1 + s % 3, "zone": "z", "category": categories[s % len(categories)]},
        ).raise_for_status()
    for s in range(n_stores):  # a second pass: stores must be committed before screens name them
        http.put(f"/v1/screens/cam{s}", json={"kind": "entrance_camera", "store_id": f"st{s}"}).raise_for_status()
        rows = [
            {
                "coupon_id": f"c{i}",
                "title": f"coupon {i}",
                "kind": "percent",
                "value": rng.randint(5, 50),
                "valid_from": (now - timedelta(days=3)).isoformat(),
                "valid_to": (now + timedelta(days=rng.uniform(1, 30))).isoformat(),
                "daily_cap": rng.randint(50, 500),
                "total_stock": 10_000,
            }
            for i in range(s, n_coupons, n_stores)
        ]
        http.put(f"/v1/stores/st{s}/coupons", json=rows).raise_for_status()
    screens = [f"lead{i}" for i in range(n_screens)]
    for sid in screens:
        http.put(f"/v1/screens/{sid}", json={"kind": "lead_in"}).raise_for_status()
    genders = ("female", "male")
    visits = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "store_visit",
            "screen_id": f"cam{rng.randrange(n_stores)}",
            "ts": (now - timedelta(seconds=rng.uniform(0, 14 * 86_400))).isoformat(),
            "gender": rng.choice(genders),
            "age": rng.randint(8, 80),
        }
        for _ in range(100 * n_stores)
    ]
    for start in range(0, len(visits), 1000):
        http.post("/v1/events", json={"events": visits[start : start + 1000]}).raise_for_status()
    return screens


def _feed_crowds(url: str, headers: dict[str, str], screens: list[str], stop: Any) -> None:
    """What the cameras do meanwhile: one audience event per screen per second."""
    import random

    rng = random.Random(2)
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        while not stop.wait(1.0):
            ts = datetime.now(UTC).isoformat()
            events = [
                {
                    "event_id": str(uuid.uuid4()),
                    "type": "audience",
                    "screen_id": sid,
                    "ts": ts,
                    "faces": [
                        {"gender": rng.choice(("female", "male")), "age": rng.randint(10, 75), "confidence": 0.8}
                        for _ in range(rng.randint(1, 4))
                    ],
                }
                for sid in screens
            ]
            http.post("/v1/events", json={"events": events})


def _load_process(args: tuple[str, dict[str, str], list[str], int, float, float]) -> tuple[list[float], int]:
    """One load-generator process: ``concurrency`` keep-alive clients in a closed loop."""
    import threading

    url, headers, screens, concurrency, warmup_s, duration_s = args
    latencies: list[float] = []
    errors = [0]
    start = time.perf_counter()

    def loop(offset: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            i = offset
            while (now := time.perf_counter()) < start + warmup_s + duration_s:
                r = http.get(f"/v1/screens/{screens[i % len(screens)]}/coupons", params={"k": 5})
                done = time.perf_counter()
                i += 1
                if r.status_code != 200:
                    errors[0] += 1
                elif now >= start + warmup_s:
                    latencies.append(done - now)

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


_WRK_SCRIPT = """
local screens = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/screens/" .. screens[(i %% #screens) + 1] .. "/coupons?k=5",
                    {["Authorization"] = "%s"})
end
"""


def _wrk_load(
    url: str, headers: dict[str, str], screens: list[str], connections: int, duration_s: float, workdir: Path
) -> dict[str, Any]:
    """Load from ``wrk`` (C, one thread): the generator takes little of the 2 cores the service needs."""
    import re
    import subprocess

    script = workdir / "coupons.lua"
    script.write_text(_WRK_SCRIPT % (", ".join(f'"{s}"' for s in screens), headers["Authorization"]))

    def run(seconds: float) -> str:
        return subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s", str(script), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    run(3)  # warm-up, not measured: the first requests build each worker's coupon table
    out = run(duration_s)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)$", out, re.M).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "load": "wrk",
        "connections": connections,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "requests_per_s": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),  # type: ignore[union-attr]
        "median_ms": ms("50%"),
        "p99_ms": ms("99%"),
    }


def _bare_load(workdir: Path, workers: int, screens: list[str], connections: int, duration_s: float) -> dict[str, Any]:
    """The bare app under uvicorn with ``workers`` workers, loaded by the same wrk script."""
    import subprocess
    import sys

    from screens.tools.launcher import free_port

    port = free_port()
    env = os.environ | {"VITRINE_BARE_BODY": str(workdir / "body.json")}
    cmd = [sys.executable, "-m", "uvicorn", "screens.tools.bare_app:app", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        return _wrk_load(url, {"Authorization": "none"}, screens, connections, duration_s, workdir)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def bench_coupons_http(
    n_coupons: int = 2000,
    n_stores: int = 300,
    duration_s: float = 10.0,
    clients: int = 2,
    concurrency: int = 4,
    workers: int = 1,
    redis_url: str | None = None,
    load: str = "python",
    baseline: bool = False,
) -> dict[str, Any]:
    """``GET /v1/screens/{id}/coupons`` under closed-loop load from ``clients`` separate processes
    (``load="python"``: httpx clients) or from ``wrk`` (``load="wrk"``).

    With ``baseline`` (wrk only), the bare app of :mod:`screens.tools.bare_app` is then loaded the same
    way with the same number of workers, returning a coupon body captured from the service, and the
    result gains ``baseline`` and ``share_of_baseline`` (requests per second, service / bare).
    """
    if baseline and load != "wrk":
        raise ValueError("--baseline runs with --load wrk (the same generator for both apps)")
    import multiprocessing
    import threading

    with tempfile.TemporaryDirectory() as tmp:
        service, url, admin = _start_service(Path(tmp), redis_url, workers)
        stop = threading.Event()
        try:
            with httpx.Client(base_url=url, headers=admin, timeout=120) as http:
                screens = _coupon_world(http, n_coupons, n_stores, n_screens=10)
                body = http.get(f"/v1/screens/{screens[0]}/coupons", params={"k": 5}).content
            feeder = threading.Thread(target=_feed_crowds, args=(url, admin, screens, stop), daemon=True)
            feeder.start()
            time.sleep(2.0)  # visits applied, first crowds seen
            if load == "wrk":
                measured = _wrk_load(url, admin, screens, clients * concurrency, duration_s, Path(tmp))
            else:
                with multiprocessing.get_context("spawn").Pool(clients) as pool:
                    results = pool.map(_load_process, [(url, admin, screens, concurrency, 1.0, duration_s)] * clients)
        finally:
            stop.set()
            service.stop()
        if baseline:
            (Path(tmp) / "body.json").write_bytes(body)
            measured["baseline"] = _bare_load(Path(tmp), workers, screens, clients * concurrency, duration_s)
            measured["share_of_baseline"] = round(
                measured["requests_per_s"] / measured["baseline"]["requests_per_s"], 3
            )
    common = {
        "coupons": n_coupons,
        "stores": n_stores,
        "bus": "redis" if redis_url else "memory",
        "service_workers": workers,
    }
    if load == "wrk":
        return common | measured
    latencies = sorted(ms * 1000 for part, _ in results for ms in part)
    errors = sum(e for _, e in results)
    return common | {
        "load": "python",
        "load_processes": clients,
        "connections": clients * concurrency,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / duration_s),
        "median_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2),
    }
