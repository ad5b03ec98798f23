"""Issue 13, row 10: tokens can be listed, revoked everywhere within a second, and expire."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from screens.app import create_app
from screens.auth import create_token
from screens.db.session import make_engine
from screens.settings import Settings
from tests.builders import wait_for
from tests.conftest import TokenFactory, make_settings


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"VITRINE_DATABASE_URL": settings.database_url}
    if settings.redis_url:
        env["VITRINE_REDIS_URL"] = settings.redis_url
    return subprocess.run(
        [sys.executable, "-m", "screens.cli", "token", *args], env=env, capture_output=True, text=True
    )


@pytest.fixture
def two_workers(database_url: str, redis_url: str) -> Iterator[tuple[TestClient, TestClient, Settings]]:
    """Two app instances on one database and one Redis: two workers, as `vitrine serve --workers 2`."""
    settings = make_settings(database_url, redis_url=redis_url)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield a, b, settings


def _revoked_everywhere_within_a_second(clients: tuple[TestClient, ...], headers: dict[str, str]) -> float:
    start = time.monotonic()
    wait_for(lambda: all(c.get("/v1/me", headers=headers).status_code == 401 for c in clients), timeout=1.0)
    return time.monotonic() - start


def test_admin_api_creates_lists_and_revokes_on_every_worker(
    two_workers: tuple[TestClient, TestClient, Settings], auth: TokenFactory
) -> None:
    a, b, _ = two_workers
    admin = auth("admin")
    r = a.post("/v1/tokens", json={"role": "device", "screen_id": "lead1", "label": "atrium"}, headers=admin)
    assert r.status_code == 201, r.text
    issued = r.json()
    device = {"Authorization": f"Bearer {issued['token']}"}
    assert a.get("/v1/me", headers=device).status_code == b.get("/v1/me", headers=device).status_code == 200
    listed = a.get("/v1/tokens", headers=admin).json()
    mine = next(t for t in listed if t["id"] == issued["id"])
    assert mine["role"] == "device" and mine["screen_id"] == "lead1" and not mine["revoked"]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert issued["token"] not in a.get("/v1/tokens", headers=admin).text
    assert a.get("/v1/tokens", headers=device).status_code == 403
    assert a.delete(f"/v1/tokens/{issued['id']}", headers=admin).json()["revoked"] is True
    _revoked_everywhere_within_a_second((a, b), device)
    assert a.delete("/v1/tokens/99999", headers=admin).status_code == 404


def test_cli_revocation_reaches_every_worker_within_a_second(
    two_workers: tuple[TestClient, TestClient, Settings], auth: TokenFactory
) -> None:
    a, b, settings = two_workers
    ops = auth("ops", label="night shift")
    assert a.get("/v1/me", headers=ops).status_code == b.get("/v1/me", headers=ops).status_code == 200
    listing = _cli(settings, "list", "--json")
    assert listing.returncode == 0, listing.stderr
    token_id = next(line for line in listing.stdout.splitlines() if "night shift" in line)
    token_id = str(json.loads(token_id)["id"])
    assert ops["Authorization"].split()[1] not in listing.stdout
    revoked = _cli(settings, "revoke", token_id)
    assert revoked.returncode == 0, revoked.stderr
    _revoked_everywhere_within_a_second((a, b), ops)


def test_cli_revocation_without_redis_holds_within_a_second(
    client: TestClient, settings: Settings, auth: TokenFactory
) -> None:
    ops = auth("ops", label="solo")
    assert client.get("/v1/me", headers=ops).status_code == 200
    token_id = next(line.split()[0] for line in _cli(settings, "list").stdout.splitlines() if "ops" in line)
    assert _cli(settings, "revoke", token_id).returncode == 0
    _revoked_everywhere_within_a_second((client,), ops)


def test_tokens_expire_after_their_ttl(client: TestClient, settings: Settings, auth: TokenFactory) -> None:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        token = create_token(session, "ops", ttl_s=1.5)
        session.commit()
    engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/me", headers=headers).status_code == 200
    time.sleep(1.6)
    r = client.get("/v1/me", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"], "the cached principal expires too"


def test_ttl_from_the_cli_and_the_api(client: TestClient, settings: Settings, auth: TokenFactory) -> None:
    created = _cli(settings, "create", "--role", "ops", "--ttl", "90d", "--label", "ninety")
    assert created.returncode == 0, created.stderr
    listed = [json.loads(line) for line in _cli(settings, "list", "--json").stdout.splitlines()]
    expires = datetime.fromisoformat(next(t for t in listed if t["label"] == "ninety")["expires_at"])
    assert abs((expires - datetime.now(UTC)) - timedelta(days=90)) < timedelta(minutes=5)
    assert _cli(settings, "create", "--role", "ops", "--ttl", "soon").returncode == 2
    r = client.post("/v1/tokens", json={"role": "ops", "ttl_s": 3600}, headers=auth("admin"))
    assert r.status_code == 201 and r.json()["expires_at"] is not None


def test_last_use_is_recorded(client: TestClient, auth: TokenFactory) -> None:
    admin = auth("admin")
    client.get("/v1/me", headers=admin)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.token_usage.flush()
    listed = client.get("/v1/tokens", headers=admin).json()
    assert listed[0]["last_used_at"] is not None and listed[0]["last_used_at"].endswith(("Z", "+00:00"))
