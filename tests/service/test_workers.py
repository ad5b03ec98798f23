"""A weights change reaches every worker process within a second (Redis pub/sub)."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.servers import ServiceProcess


def test_weight_change_reaches_both_workers_within_one_second(sqlite_url: str, redis_url: str) -> None:
    env = {"VITRINE_DATABASE_URL": sqlite_url, "VITRINE_REDIS_URL": redis_url}
    token = subprocess.run(
        [sys.executable, "-m", "screens.cli", "token", "create", "--role", "ops"],
        env=__import__("os").environ | env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    service = ServiceProcess(env, workers=2)
    service.start()
    try:
        with httpx.Client(base_url=service.url, timeout=5) as http:

            def versions() -> dict[int, int]:
                """Worker pid → weights version, asking on fresh connections until both answered."""
                seen: dict[int, int] = {}
                for _ in range(200):
                    body = http.get("/readyz", headers={"Connection": "close"}).json()
                    seen[body["worker_pid"]] = body["weights_version"]
                    if len(seen) == 2:
                        break
                return seen

            deadline = time.monotonic() + 20
            before = versions()
            while len(before) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
                before = versions()
            assert len(before) == 2, "both workers answer"
            r = http.put(
                "/v1/ranking/weights",
                json={"weights": {"popularity": 4.0}},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200 and r.json()["version"] == 1
            changed_at = time.monotonic()
            while time.monotonic() - changed_at < 1.0:
                after = versions()
                if len(after) == 2 and set(after.values()) == {1}:
                    break
            assert len(after) == 2 and set(after.values()) == {1}, after
            assert time.monotonic() - changed_at < 1.0 + 0.5  # polling slack of the check itself
    finally:
        service.stop()


def test_serve_refuses_several_workers_without_redis(sqlite_url: str) -> None:
    import os

    proc = subprocess.run(
        [sys.executable, "-m", "screens.cli", "serve", "--workers", "2"],
        env=os.environ | {"VITRINE_DATABASE_URL": sqlite_url},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "VITRINE_REDIS_URL" in proc.stderr
