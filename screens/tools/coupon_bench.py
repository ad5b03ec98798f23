"""``vitrine bench coupons``: the coupon route over real HTTP, beside a bare FastAPI app.

The service runs as its own process (``vitrine serve``) on a world of 300 stores with entrance
cameras, 2,000 active coupons, lead-in screens and 30,000 store visits, with a claim model fitted
and published the way ``vitrine train coupons`` publishes one (so each request scores the richer
model). Cameras keep posting ``audience`` events during the run, in one of two crowds:

- ``steady``: 10 screens, each camera reporting the same faces once a second (a crowd standing
  still in front of each screen) — the best case for any per-crowd reuse;
- ``changing``: 200 screens, each camera reporting a fresh random crowd once a second (posted in
  batches five times a second) — every screen's crowd differs from one second to the next.

With ``wrk`` as the load, each round measures the service on each crowd and then (``baseline``)
the bare app of :mod:`screens.tools.bare_app`, with cameras paused, so the ratio compares figures
taken a minute apart on the same machine; the medians over ``rounds`` are what the docs quote.
Each measurement is taken with wrk's connections on every worker (a run where the kernel handed
them all to one is measured again), so no figure is halved by an idle worker.
"""

from __future__ import annotations

import logging
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from screens.tools.http_bench import _start_service

log = logging.getLogger(__name__)
STEADY_SCREENS: Final = 10
CHANGING_SCREENS: Final = 200
CAMERA_BATCHES_PER_S: Final = 5
MAX_IDLE_RERUNS: Final = 4
CATEGORIES: Final = ("fashion", "sports", "toys", "beauty", "electronics", "food", "home", "books")
GENDERS: Final = ("female", "male")


def _coupon_world(http: httpx.Client, n_coupons: int, n_stores: int, screens: list[str]) -> None:
    """Stores with entrance cameras, coupons spread over them, lead-in screens and two weeks of visits."""
    rng = random.Random(1)
    now = datetime.now(UTC)
    for s in range(n_stores):
        http.put(
            f"/v1/stores/st{s}",
            json={"name": f"Store {s}", "floor": 1 + s % 3, "zone": "z", "category": CATEGORIES[s % len(CATEGORIES)]},
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
    for sid in screens:
        http.put(f"/v1/screens/{sid}", json={"kind": "lead_in"}).raise_for_status()
    visits = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "store_visit",
            "screen_id": f"cam{rng.randrange(n_stores)}",
            "ts": (now - timedelta(seconds=rng.uniform(0, 14 * 86_400))).isoformat(),
            "gender": rng.choice(GENDERS),
            "age": rng.randint(8, 80),
        }
        for _ in range(100 * n_stores)
    ]
    for start in range(0, len(visits), 1000):
        http.post("/v1/events", json={"events": visits[start : start + 1000]}).raise_for_status()


def _publish_claim_model(database_url: str, model_dir: Path, n_impressions: int = 8000, seed: int = 3) -> str:
    """Fit a claim model on synthetic impressions of the world's coupons and publish it.

    Serving cost does not depend on what the model learned, only on its shape (every coupon feature
    crossed with the whole context vector), so a synthetic log with a taste per category × gender
    and per category × hour block is enough; publishing is the code ``vitrine train coupons`` uses.
    """
    import numpy as np
    from sqlmodel import Session

    from recsys.leadin.claim_model import ClaimModel, sigmoid
    from recsys.leadin.model import CouponImpression
    from recsys.profile import CrowdProfile, Face
    from screens.db.session import make_engine
    from screens.services.leadin.training import coupon_features
    from screens.services.model_pointers import publish_coupon_model

    engine = make_engine(database_url)
    with Session(engine) as session:
        features = list(coupon_features(session).values())
    engine.dispose()
    rng = np.random.default_rng(seed)
    taste = {(c, g): rng.normal(0, 0.8) for c in CATEGORIES for g in GENDERS}
    hours = {(c, h): rng.normal(0, 0.5) for c in CATEGORIES for h in range(8)}
    start = datetime.now(UTC) - timedelta(days=28)
    impressions = []
    for _ in range(n_impressions):
        when = start + timedelta(seconds=float(rng.uniform(0, 28 * 86_400)))
        gender = GENDERS[int(rng.integers(2))]
        faces = [Face(when.timestamp(), gender, int(rng.integers(5, 80)), 0.9) for _ in range(int(rng.integers(1, 5)))]
        coupon = features[int(rng.integers(len(features)))]
        logit = -2.5 + taste[(coupon.store_category, gender)] + hours[(coupon.store_category, when.hour // 3)]
        claimed = bool(rng.random() < sigmoid(np.array(logit)))
        impressions.append(CouponImpression(when.timestamp(), coupon, CrowdProfile.from_faces(faces, when), claimed))
    model = ClaimModel(max_iter=60).fit(impressions)
    return publish_coupon_model(model, model_dir, None)


class _Cameras(threading.Thread):
    """What the lead-in cameras do during the run; ``mode`` switches between the two crowds (or off)."""

    def __init__(self, url: str, headers: dict[str, str], steady: list[str], changing: list[str]) -> None:
        super().__init__(name="bench-cameras", daemon=True)
        self.url, self.headers, self.steady, self.changing = url, headers, steady, changing
        self.mode = "off"
        self.posted = 0
        self.stop_event = threading.Event()
        self._rng = random.Random(2)
        self._standing = {sid: self._faces() for sid in steady}

    def _faces(self) -> list[dict[str, Any]]:
        return [
            {"gender": self._rng.choice(GENDERS), "age": self._rng.randint(10, 75), "confidence": 0.8}
            for _ in range(self._rng.randint(1, 4))
        ]

    def _batch(self, tick: int) -> list[dict[str, Any]]:
        ts = datetime.now(UTC).isoformat()
        if self.mode == "steady":
            due = [(sid, self._standing[sid]) for sid in self.steady] if tick % CAMERA_BATCHES_PER_S == 0 else []
        elif self.mode == "changing":
            due = [(sid, self._faces()) for sid in self.changing[tick % CAMERA_BATCHES_PER_S :: CAMERA_BATCHES_PER_S]]
        else:
            due = []
        return [
            {"event_id": str(uuid.uuid4()), "type": "audience", "screen_id": sid, "ts": ts, "faces": faces}
            for sid, faces in due
        ]

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=10) as http:
            tick = 0
            while not self.stop_event.wait(1.0 / CAMERA_BATCHES_PER_S):
                events = self._batch(tick)
                tick += 1
                if events:
                    http.post("/v1/events", json={"events": events})
                    self.posted += len(events)


_WRK_SCRIPT = """
local screens = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/screens/" .. screens[(i %% #screens) + 1] .. "/coupons?k=5",
                    {["Authorization"] = "%s"})
end
"""


def _wrk(
    url: str,
    authorization: str,
    screens: list[str],
    connections: int,
    workers: int,
    duration_s: float,
    workdir: Path,
    warmup_s: int,
) -> dict[str, Any]:
    """One wrk measurement (one thread: the generator takes little of the cores the service needs).

    A run that left a worker without a connection is measured again (up to
    :data:`MAX_IDLE_RERUNS` times; the discarded runs are kept under ``idle_worker_runs``): with all of
    wrk's connections on one worker every app served about half, so that split, not the app,
    decided the figure.
    """
    script = workdir / f"coupons-{len(screens)}.lua"
    script.write_text(_WRK_SCRIPT % (", ".join(f'"{s}"' for s in screens), authorization))
    cmd = ["wrk", "-t1", f"-c{connections}", "--latency", "-s", str(script), url]
    if warmup_s:  # not measured: each worker builds its tables on its first requests
        subprocess.run([*cmd, f"-d{warmup_s}s"], capture_output=True, check=True)
    port, idle_runs = int(url.rpartition(":")[2]), list[dict[str, Any]]()
    while True:
        load_before = os.getloadavg()[0]
        with subprocess.Popen([*cmd, f"-d{int(duration_s)}s"], stdout=subprocess.PIPE, text=True) as wrk:
            time.sleep(1.0)  # wrk opens its connections at once; a second in, all are accepted
            split = _connections_per_process(port, wrk.pid)
            out, _ = wrk.communicate()
        if wrk.returncode:
            raise RuntimeError(f"wrk exited with {wrk.returncode}")
        if split is None or _no_idle_worker(split, connections, workers) or len(idle_runs) >= MAX_IDLE_RERUNS:
            break
        idle_runs.append({"connections_per_worker": split, "requests_per_s": _requests_per_s(out)})
        log.info("connections fell %s on the workers (one idle): measured again", split)

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)$", out, re.M).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
        "requests_per_s": _requests_per_s(out),
        "median_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "connections_per_worker": split,
        "idle_worker_runs": idle_runs,
    }


def _requests_per_s(wrk_out: str) -> int:
    return round(float(re.search(r"Requests/sec:\s+([\d.]+)", wrk_out).group(1)))  # type: ignore[union-attr]


def _no_idle_worker(split: list[int], connections: int, workers: int) -> bool:
    """Every connection accepted and no worker idle (4 on 2: ``[2, 2]`` or ``[3, 1]``, not ``[4]``).

    Measured on this machine (docs/benchmarks.md): ``[3, 1]`` serves as much as ``[2, 2]`` (two cores
    shared with wrk and Redis: a worker with one connection is not the bottleneck), ``[4]`` half.
    """
    return sum(split) == connections and len(split) == min(workers, connections)


def _connections_per_process(port: int, client_pid: int) -> list[int] | None:
    """How one client's connections fell on the server's processes, most first (``[2, 2]``, ``[3, 1]``).

    The kernel hands each new connection to whichever worker accepts it first, so the split differs
    from run to run, and with 4 connections on 2 workers it decides much of the figure: a worker with
    one connection idles while the other queues three. Only the client's own connections count (the
    cameras' keep-alive connection is on the same port): the server-side sockets whose peer port is
    one of ``client_pid``'s. Read with ``ss`` (iproute2); None without it.
    """
    try:
        out = subprocess.run(
            ["ss", "-Htnp", "state", "established", f"( sport = :{port} or dport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    rows = [fields for fields in map(str.split, out.splitlines()) if len(fields) >= 5]
    sockets = [(local, peer, re.findall(r"pid=(\d+)", users)) for _, _, local, peer, users, *_ in rows]
    client_ports = {
        local.rpartition(":")[2]
        for local, peer, pids in sockets
        if str(client_pid) in pids and peer.endswith(f":{port}")
    }
    server = Counter(
        pids[0]
        for local, peer, pids in sockets
        if local.endswith(f":{port}") and peer.rpartition(":")[2] in client_ports and pids
    )
    return sorted(server.values(), reverse=True)


class _BareApp:
    """The bare app under uvicorn with the service's worker count, returning the captured body."""

    def __init__(self, body_path: Path, workers: int) -> None:
        from screens.tools.launcher import free_port

        self.port = free_port()
        env = os.environ | {"VITRINE_BARE_BODY": str(body_path)}
        cmd = [sys.executable, "-m", "uvicorn", "screens.tools.bare_app:app", "--port", str(self.port)]
        cmd += ["--workers", str(workers), "--log-level", "warning", "--no-access-log"]
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the bare app did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


def _wait_for_model(http: httpx.Client, screen: str, version: str, timeout_s: float = 30.0) -> None:
    """Every worker reads the model pointer within a second; wait until answers name the version."""
    deadline, seen = time.monotonic() + timeout_s, 0
    while seen < 20:  # consecutive answers, so both workers have it
        if time.monotonic() > deadline:
            raise RuntimeError(f"the service did not load model {version}")
        seen = seen + 1 if http.get(f"/v1/screens/{screen}/coupons").json()["model_version"] == version else 0
        time.sleep(0.05)


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: round(statistics.median(r[key] for r in runs), 2) for key in ("requests_per_s", "median_ms", "p99_ms")}


def bench_coupons(
    n_coupons: int = 2000,
    n_stores: int = 300,
    duration_s: float = 15.0,
    connections: int = 4,
    workers: int = 2,
    redis_url: str | None = None,
    baseline: bool = True,
    rounds: int = 3,
    crowds: tuple[str, ...] = ("steady", "changing"),
) -> dict[str, Any]:
    """Requests per second, median and p99 of ``GET /v1/screens/{id}/coupons`` under ``wrk``, per crowd.

    Each round loads the service once per crowd and then the bare app; ``share_of_baseline`` is the
    median over rounds of service req/s ÷ bare req/s of the same round.
    """
    import tempfile

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per camera POST otherwise
    if unknown := set(crowds) - {"steady", "changing"}:
        raise ValueError(f"unknown crowd {sorted(unknown)}; expected steady and/or changing")
    steady = [f"lead{i}" for i in range(STEADY_SCREENS)]
    changing = [f"lead{i}" for i in range(CHANGING_SCREENS)]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in (*crowds, *(("bare",) if baseline else ()))}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        service, url, admin = _start_service(workdir, redis_url, workers)
        cameras = _Cameras(url, admin, steady, changing)
        bare: _BareApp | None = None
        try:
            with httpx.Client(base_url=url, headers=admin, timeout=120) as http:
                _coupon_world(http, n_coupons, n_stores, changing)
                version = _publish_claim_model(f"sqlite:///{workdir}/bench.db", workdir / "var" / "models")
                _wait_for_model(http, steady[0], version)
                cameras.start()
                cameras.mode = "steady"
                time.sleep(2.0)
                body = http.get(f"/v1/screens/{steady[0]}/coupons", params={"k": 5}).content
                (workdir / "body.json").write_bytes(body)
            if baseline:
                bare = _BareApp(workdir / "body.json", workers)
            for round_no in range(rounds):
                for crowd in crowds:
                    cameras.mode = crowd
                    screens = steady if crowd == "steady" else changing
                    result = _wrk(
                        url, admin["Authorization"], screens, connections, workers, duration_s, workdir, warmup_s=3
                    )
                    runs[crowd].append(result)
                    log.info("round %d %s: %s", round_no + 1, crowd, result)
                if bare is not None:
                    cameras.mode = "off"
                    result = _wrk(bare.url, "none", steady, connections, workers, duration_s, workdir, warmup_s=3)
                    runs["bare"].append(result)
                    log.info("round %d bare: %s", round_no + 1, result)
        finally:
            cameras.stop_event.set()
            service.stop()
            if bare is not None:
                bare.stop()
    out: dict[str, Any] = {
        "coupons": n_coupons,
        "stores": n_stores,
        "bus": "redis" if redis_url else "memory",
        "service_workers": workers,
        "load": f"wrk 1 thread, {connections} connections, {duration_s:g} s per run",
        "model_version": version,
        "rounds": rounds,
        "camera_events_posted": cameras.posted,
    }
    for name, measured in runs.items():
        out[name] = {"median": _median(measured), "runs": measured}
    if baseline:
        out["share_of_baseline"] = {
            crowd: round(
                statistics.median(
                    s["requests_per_s"] / b["requests_per_s"] for s, b in zip(runs[crowd], runs["bare"], strict=True)
                ),
                3,
            )
            for crowd in crowds
        }
    return out
