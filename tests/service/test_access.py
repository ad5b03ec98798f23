"""Every access rule: 401 without or with a bad token, 403 for the wrong role or scope."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.builders import event as _event
from tests.conftest import TokenFactory

ITEM = [{"sku": "A", "name": "a", "category": "tops", "gender_target": "men", "price": 1, "stock": 1}]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer vt_not-a-token"}, {"Authorization": "Basic x"}])
def test_missing_or_bad_token_is_401(client: TestClient, mall: dict[str, str], headers: dict[str, str]) -> None:
    r = client.get("/v1/stores", headers=headers)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_merchandiser_writes_only_its_own_stores(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    merch = auth("merchandiser", store_ids=["s1"])
    assert client.put("/v1/stores/s1/catalog", json=ITEM, headers=merch).status_code == 200
    assert client.put("/v1/stores/s2/catalog", json=ITEM, headers=merch).status_code == 403
    assert client.put("/v1/stores/s2/coupons", json=[], headers=merch).status_code == 403
    assert client.get("/v1/stores/s2/catalog", headers=merch).status_code == 403
    assert [s["id"] for s in client.get("/v1/stores", headers=merch).json()] == ["s1"]


def test_merchandiser_cannot_touch_weights_stores_or_screens(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    merch = auth("merchandiser", store_ids=["s1"])
    assert client.get("/v1/ranking/weights", headers=merch).status_code == 403
    assert client.put("/v1/ranking/weights", json={"weights": {"popularity": 1}}, headers=merch).status_code == 403
    assert (
        client.put(
            "/v1/stores/s1", json={"name": "x", "floor": 1, "zone": "z", "category": "c"}, headers=merch
        ).status_code
        == 403
    )
    assert client.put("/v1/screens/x", json={"kind": "lead_in"}, headers=merch).status_code == 403


def test_weights_and_screens_belong_to_ops(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    ops = auth("ops")
    assert client.put("/v1/ranking/weights", json={"weights": {"popularity": 1}}, headers=ops).status_code == 200
    assert client.put("/v1/screens/lead2", json={"kind": "lead_in"}, headers=ops).status_code == 200
    assert client.get("/v1/screens", headers=ops).status_code == 200
    assert client.get("/v1/stores/s1/catalog", headers=ops).status_code == 200


def test_device_posts_events_only_for_its_own_screen(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    device = auth("device", screen_id="cam1")
    own = _event(type="store_visit", screen_id="cam1", gender="female", age=30)
    other = _event(type="audience", screen_id="lead1", faces=[])
    r = client.post("/v1/events", json={"events": [own, other]}, headers=device)
    assert r.status_code == 200
    assert r.json()["accepted"] == 1 and r.json()["errors"][0]["index"] == 1
    assert "bound to screen 'cam1'" in r.json()["errors"][0]["message"]


def test_device_reports_purchases_only_of_its_store(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    device = auth("device", screen_id="mirror1")
    ok = _event(type="purchase", store_id="s1", skus=["A"])
    foreign = _event(type="purchase", store_id="s2", skus=["A"])
    body = client.post("/v1/events", json={"events": [ok, foreign]}, headers=device).json()
    assert body["accepted"] == 1 and body["errors"][0]["index"] == 1


def test_device_cannot_read_other_screens_or_admin_routes(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    device = auth("device", screen_id="lead1")
    assert client.get("/v1/screens/lead1", headers=device).status_code == 200
    assert client.get("/v1/screens/mirror1", headers=device).status_code == 403
    assert client.post("/v1/screens/mirror1/heartbeat", headers=device).status_code == 403
    assert client.get("/v1/screens", headers=device).status_code == 403
    assert client.put("/v1/stores/s1/catalog", json=ITEM, headers=device).status_code == 403
    assert client.get("/v1/ranking/weights", headers=device).status_code == 403


def test_heartbeat_marks_screen_fresh(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    device = auth("device", screen_id="lead1")
    assert client.get("/v1/screens/lead1", headers=device).json()["stale"] is True
    r = client.post("/v1/screens/lead1/heartbeat", headers=device)
    assert r.status_code == 200 and r.json()["stale"] is False
    screens = {s["id"]: s for s in client.get("/v1/screens", headers=mall).json()}
    assert screens["lead1"]["stale"] is False and screens["mirror1"]["stale"] is True


def test_mirror_screen_needs_a_known_store(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/screens/m9", json={"kind": "mirror"}, headers=mall)
    assert r.status_code == 422
    r = client.put("/v1/screens/m9", json={"kind": "mirror", "store_id": "nope"}, headers=mall)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "store_id"
