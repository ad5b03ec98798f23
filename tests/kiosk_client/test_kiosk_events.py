"""Events are checked when they are made, so bad ones fail in kiosk code, not in a later flush."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import pytest

from kiosk_client import REQUIRED_FIELDS, LeadInClient, make_event, validate_event


def test_made_events_carry_a_uuid4_id_and_an_iso_timestamp():
    event = make_event("store_visit", screen_id="cam-s001", gender="female", age=None, group="pair")
    assert uuid.UUID(event["event_id"]).version == 4
    assert datetime.fromisoformat(event["ts"]).tzinfo is not None
    assert event["age"] is None and event["group"] == "pair"


@pytest.mark.parametrize("event_type", sorted(REQUIRED_FIELDS))
def test_every_required_field_is_enforced(event_type: str):
    fields = {name: "x" for name in REQUIRED_FIELDS[event_type]} | {"faces": [], "skus": []}
    fields = {k: v for k, v in fields.items() if k in REQUIRED_FIELDS[event_type]}
    make_event(event_type, **fields)
    for missing in REQUIRED_FIELDS[event_type]:
        with pytest.raises(ValueError, match=missing):
            make_event(event_type, **{k: v for k, v in fields.items() if k != missing})


def test_unknown_types_and_missing_ids_are_refused():
    with pytest.raises(ValueError, match="unknown event type"):
        make_event("page_view")
    with pytest.raises(ValueError, match="event_id"):
        validate_event({"type": "coupon_claim", "coupon_id": "c", "ts": "2026-01-01T00:00:00Z"})


def test_made_events_pass_the_service_schema():
    """Contract test with ``screens``: what the SDK makes, the service's event schema accepts."""
    schemas = pytest.importorskip("screens.schemas.events")
    examples = [
        make_event(
            "audience",
            screen_id="lead-f1-atrium",
            faces=[{"gender": "female", "age": 31, "confidence": 0.9}],
            dwell_s=4.0,
        ),
        make_event("store_visit", screen_id="cam-s001", gender="unknown", age=None, group="family"),
        make_event("try_on", screen_id="mirror-s003-1", sku="S003-00012", session_id="sess-1"),
        make_event("coupon_impression", screen_id="lead-f1-atrium", coupon_id="s001-c01"),
        make_event("coupon_impression", screen_id="lead-f1-atrium", coupon_id="s001-c02", explored=True),
        make_event("coupon_claim", coupon_id="s001-c01"),
        make_event("purchase", store_id="s003", skus=["S003-00012"], session_id="sess-1"),
    ]
    assert {e["type"] for e in examples} == set(REQUIRED_FIELDS) == set(schemas.EVENT_TYPES)
    for event in examples:
        schemas.EVENT_ADAPTER.validate_python(event)


def test_impressions_say_whether_they_were_explored_only_when_told(tmp_path: Path):
    with LeadInClient("http://vitrine.test", "lead-1", "tok", state_dir=tmp_path) as kiosk:
        kiosk.record_coupon_impression("s001-c01", explored=True)
        kiosk.record_coupon_impression("s001-c02")
        first, second = (p.event for p in kiosk.outbox.peek(2))
    assert first["explored"] is True and "explored" not in second
