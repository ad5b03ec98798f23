"""Issue 13, row 8: a mirror session_id lives two hours, and no raw session id is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from screens.services.mirror.sessions import try_ons_key
from screens.services.session_window import SessionPolicy
from tests.builders import coupon, event, wait_for
from tests.conftest import TokenFactory

CATALOG = [
    {"sku": f"T{i}", "name": f"top {i}", "category": "tops", "gender_target": "women", "price": 10, "stock": 5}
    for i in range(3)
]


def _try_on(client: TestClient, headers: dict[str, str], session_id: str, ts: datetime, sku: str = "T0"):
    body = {"event_id": str(uuid.uuid4()), "sku": sku, "session_id": session_id, "ts": ts.isoformat()}
    return client.post("/v1/mirrors/mirror1/try-ons", json=body, headers=headers)


def _load_catalog(client: TestClient, admin: dict[str, str]) -> None:
    """The catalog, and the wait until the mirror index (rebuilt off the request path) holds it."""
    assert client.put("/v1/stores/s1/catalog", json=CATALOG, headers=admin).status_code == 200
    url = "/v1/mirrors/mirror1/recommendations?sku=T0"
    wait_for(lambda: client.get(url, headers=admin).status_code == 200)


def _stored_session_ids(client: TestClient) -> list[str]:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return [str(p) for (p,) in conn.execute(text("SELECT payload FROM event_log"))]


def test_a_session_is_refused_two_hours_after_its_first_try_on(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    _load_catalog(client, mall)
    device = auth("device", screen_id="mirror1")
    now = datetime.now(UTC)
    assert _try_on(client, device, "kiosk-sess-42", now - timedelta(hours=3)).status_code == 200
    assert _try_on(client, device, "kiosk-sess-42", now - timedelta(hours=2, minutes=30), "T1").status_code == 200
    late = _try_on(client, device, "kiosk-sess-42", now, "T2")
    assert late.status_code == 422, late.text
    assert (
        late.json()["errors"][0]["field"] == "session_id"
        and "start a new session" in late.json()["errors"][0]["message"]
    )
    assert _try_on(client, device, "kiosk-sess-43", now, "T2").status_code == 200
    batch = {"events": [event(type="try_on", screen_id="mirror1", sku="T0", session_id="kiosk-sess-42")]}
    r = client.post("/v1/events", json=batch, headers=device)
    assert r.json()["rejected"] == 1 and "start a new session" in r.json()["errors"][0]["message"]


def test_stored_events_keep_no_raw_session_id(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    _load_catalog(client, mall)
    assert client.put("/v1/stores/s1/coupons", json=[coupon("c1")], headers=mall).status_code == 200
    device = auth("device", screen_id="mirror1")
    assert _try_on(client, device, "raw-session-777", datetime.now(UTC)).status_code == 200
    purchase = event(type="purchase", store_id="s1", skus=["T0"], session_id="raw-session-777")
    assert client.post("/v1/events", json={"events": [purchase]}, headers=device).json()["accepted"] == 1
    payloads = _stored_session_ids(client)
    assert len(payloads) == 2 and not any("raw-session-777" in p for p in payloads)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    hashed = runtime.sessions.stored_id("raw-session-777")
    assert hashed.startswith("h:") and all(hashed in p for p in payloads), "try-on and purchase stay linked"
    live = runtime.bus.counters.zrange_by_score(try_ons_key("mirror1"), 0, 1e12)
    assert live and not any("raw-session-777" in member for member, _ in live), "not even in live state"


def test_the_salt_rotates_daily_and_old_salts_are_deleted(client: TestClient, mall: dict[str, str]) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    policy = SessionPolicy(runtime.engine, runtime.bus.counters, "k" * 40, 7200)
    today = datetime.now(UTC)
    yesterday = today - timedelta(days=1)
    old = policy.stored_id("same-id", yesterday)
    assert policy.stored_id("same-id", yesterday) == old
    assert policy.stored_id("same-id", today) != old, "a new day, a new salt: days cannot be linked"
    with runtime.engine.connect() as conn:
        keys = [k for (k,) in conn.execute(text("SELECT key FROM settings_kv WHERE key LIKE 'session_salt:%'"))]
    assert keys == [f"session_salt:{today.date().isoformat()}"], "yesterday's salt is gone"
