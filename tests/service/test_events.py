"""Event intake: per-event validation, closed schemas, idempotency (also across restarts)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from screens.app import create_app
from screens.db.rollups import BUCKET_S, AudienceRollup, CouponRollup, VisitRollup
from screens.settings import Settings
from tests.builders import event as _event


def _batch() -> list[dict[str, object]]:
    return [
        _event(
            type="audience",
            screen_id="lead1",
            faces=[
                {"gender": "female", "age": 27, "confidence": 0.9},
                {"gender": "unknown", "age": None, "confidence": 0.4},
            ],
            dwell_s=3.5,
        ),
        _event(type="store_visit", screen_id="cam1", gender="male", age=41, group="pair"),
        _event(type="try_on", screen_id="mirror1", sku="A1", session_id="sess-1"),
        _event(type="coupon_impression", screen_id="lead1", coupon_id="c1"),
        _event(type="coupon_impression", screen_id="lead1", coupon_id="c1", explored=True),
        _event(type="coupon_claim", coupon_id="c1", screen_id="lead1"),
        _event(type="purchase", store_id="s1", skus=["A1", "B1"], session_id="sess-1"),
    ]


def test_every_event_type_is_accepted(client: TestClient, mall: dict[str, str]) -> None:
    r = client.post("/v1/events", json={"events": _batch()}, headers=mall)
    assert r.status_code == 200
    assert r.json() == {"accepted": 7, "duplicates": 0, "rejected": 0, "errors": []}


def test_repeated_event_id_is_a_duplicate_never_applied_twice(client: TestClient, mall: dict[str, str]) -> None:
    batch = _batch()
    client.post("/v1/events", json={"events": batch}, headers=mall)
    again = client.post("/v1/events", json={"events": batch + [batch[0]]}, headers=mall).json()
    assert again["accepted"] == 0 and again["duplicates"] == 8
    counters = client.app.state.runtime.bus.counters  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while counters.get("coupons:claims").get("c1") != 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert counters.get("coupons:claims")["c1"] == 1.0
    assert counters.get("store:s1:visits")["male:35-44"] == 1.0
    with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
        assert session.exec(select(VisitRollup.cell, VisitRollup.visits)).all() == [("male:35-44", 1)]
        shown = select(CouponRollup.impressions, CouponRollup.claims).where(CouponRollup.grain == BUCKET_S)
        assert session.exec(shown).all() == [(2, 1)]
        assert len(session.exec(select(AudienceRollup)).all()) == 1


def test_duplicates_are_recognised_across_a_restart(
    settings: Settings, mall: dict[str, str], client: TestClient
) -> None:
    batch = _batch()
    assert client.post("/v1/events", json={"events": batch}, headers=mall).json()["accepted"] == 7
    with TestClient(create_app(settings)) as restarted:
        body = restarted.post("/v1/events", json={"events": batch}, headers=mall).json()
    assert body["accepted"] == 0 and body["duplicates"] == 7


def test_extra_fields_such_as_images_or_face_ids_are_rejected(client: TestClient, mall: dict[str, str]) -> None:
    smuggled = [
        _event(type="audience", screen_id="lead1", faces=[], image="/9j/4AAQSkZJRg=="),
        _event(
            type="audience",
            screen_id="lead1",
            faces=[{"gender": "male", "age": 30, "confidence": 1, "embedding": [0.1, 0.2]}],
        ),
        _event(type="store_visit", screen_id="cam1", gender="male", age=30, face_id="f-17"),
        _event(type="coupon_claim", coupon_id="c1", phone="+86 138 0000 0000"),
    ]
    body = client.post("/v1/events", json={"events": smuggled}, headers=mall).json()
    assert body["accepted"] == 0 and body["rejected"] == 4
    assert all("Extra inputs are not permitted" in e["message"] for e in body["errors"])


def test_bad_events_are_rejected_and_good_neighbours_kept(client: TestClient, mall: dict[str, str]) -> None:
    events = [
        _event(type="store_visit", screen_id="cam1", gender="female", age=22),
        _event(type="teleport", screen_id="cam1"),
        {
            "type": "store_visit",
            "screen_id": "cam1",
            "gender": "female",
            "age": 22,
            "event_id": "not-a-uuid",
            "ts": "yesterday",
        },
        _event(type="store_visit", screen_id="lead1", gender="female", age=22),
        _event(type="try_on", screen_id="ghost", sku="A", session_id="s"),
    ]
    body = client.post("/v1/events", json={"events": events}, headers=mall).json()
    assert body["accepted"] == 1 and body["rejected"] == 4
    reasons = {e["index"]: e["message"] for e in body["errors"]}
    assert "event_id" in reasons[2] and "ts" in reasons[2]
    assert "entrance_camera" not in reasons[3] and "lead_in screen" in reasons[3]
    assert "unknown screen 'ghost'" in reasons[4]


def test_batch_over_limit_is_422(client: TestClient, mall: dict[str, str]) -> None:
    events = [_event(type="coupon_claim", coupon_id="c") for _ in range(1001)]
    r = client.post("/v1/events", json={"events": events}, headers=mall)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "events"
