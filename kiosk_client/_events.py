"""Event construction and the client-side half of the event contract.

Events are checked when they are *made*, not when they are sent: an event the service would reject
should fail in the kiosk code that built it, loudly, instead of sitting in the outbox until a flush
quietly drops it. The ``event_id`` is minted here, on the device, so a resend after a lost
acknowledgement is recognised by the service as the same event.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

# Required fields per event type, from the service's ``POST /v1/events`` contract.
REQUIRED_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "audience": ("screen_id", "faces"),
    "store_visit": ("screen_id", "gender", "age"),
    "try_on": ("screen_id", "sku", "session_id"),
    "coupon_impression": ("screen_id", "coupon_id"),
    "coupon_claim": ("coupon_id",),
    "purchase": ("store_id", "skus"),
}
MAX_BATCH: Final = 1000


def new_event_id() -> str:
    """A fresh uuid4 string: unique per event, stable across resends."""
    return str(uuid.uuid4())


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat()


def validate_event(event: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if ``event`` lacks a field the service requires."""
    event_type = event.get("type")
    if event_type not in REQUIRED_FIELDS:
        raise ValueError(f"unknown event type {event_type!r}; expected one of {', '.join(REQUIRED_FIELDS)}")
    # Required keys must be present; some may be null (an entrance camera may not estimate an age).
    missing = [f for f in REQUIRED_FIELDS[event_type] if f not in event]
    missing += [f for f in ("event_id", "ts") if not event.get(f)]
    if missing:
        raise ValueError(f"{event_type} event is missing {', '.join(missing)}")
    if event_type == "audience" and not isinstance(event["faces"], list):
        raise ValueError("audience event: faces must be a list of {gender, age, confidence}")


def make_event(event_type: str, *, event_id: str | None = None, ts: str | None = None, **fields: Any) -> dict[str, Any]:
    """A validated event dict with ``event_id`` and ``ts`` filled in when not given."""
    event = {"event_id": event_id or new_event_id(), "type": event_type, "ts": ts or utc_now_iso(), **fields}
    validate_event(event)
    return event
