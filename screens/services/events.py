"""Event intake: validate each event on its own, dedupe by ``event_id``, log, then stream.

The event log doubles as the idempotency ledger: an insert that conflicts on ``event_id`` is a
duplicate, which holds across restarts and across workers. Events are committed to the log
*before* they are put on the stream, so a stream outage never loses an accepted event (the bus
buffers it) and a crash in between can be replayed from the log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from screens.auth import Principal
from screens.bus import EventStream
from screens.db.tables import EventRecord, table
from screens.schemas.events import EVENT_ADAPTER, EventError, IngestResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreenInfo:
    kind: str
    store_id: str | None


# Which screen kind may send each event type that names a screen.
_SCREEN_KINDS = {
    "audience": {"lead_in", "mirror", "entrance_camera"},
    "store_visit": {"entrance_camera"},
    "try_on": {"mirror"},
    "coupon_impression": {"lead_in"},
    "coupon_claim": {"lead_in"},
}


def _check(event: Any, screens: Mapping[str, ScreenInfo], who: Principal) -> str | None:
    """Why ``event`` may not be accepted from ``who``, or None when it may."""
    screen_id = getattr(event, "screen_id", None)
    if screen_id is not None:
        screen = screens.get(screen_id)
        if screen is None:
            return f"unknown screen {screen_id!r}"
        if screen.kind not in _SCREEN_KINDS[event.type]:
            return f"a {event.type} event cannot come from a {screen.kind} screen"
    if who.role != "device":
        return None
    if event.type == "purchase":
        own = screens.get(who.screen_id or "")
        return None if own and own.store_id == event.store_id else "a device may only report purchases of its store"
    if screen_id != who.screen_id:
        return f"this device token is bound to screen {who.screen_id!r}"
    return None


def _record(event: Any, screens: Mapping[str, ScreenInfo]) -> dict[str, Any]:
    payload: dict[str, Any] = event.model_dump(mode="json")
    store_id = getattr(event, "store_id", None)
    if store_id is None and getattr(event, "screen_id", None):
        store_id = screens[event.screen_id].store_id
    payload["store_id"] = store_id
    return payload


def ingest(
    session: Session,
    stream: EventStream,
    raw_events: list[dict[str, Any]],
    screens: Mapping[str, ScreenInfo],
    who: Principal,
) -> IngestResult:
    errors: list[EventError] = []
    accepted_payloads: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for index, raw in enumerate(raw_events):
        try:
            event = EVENT_ADAPTER.validate_python(raw)
        except ValidationError as exc:
            first = exc.errors(include_url=False)
            errors.append(
                EventError(
                    index=index,
                    message="; ".join(
                        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in first[:5]
                    ),
                )
            )
            continue
        reason = _check(event, screens, who)
        if reason:
            errors.append(EventError(index=index, message=reason))
            continue
        key = str(event.event_id)
        if key in accepted_payloads:
            duplicates += 1
            continue
        accepted_payloads[key] = _record(event, screens)
    new_ids = _insert_new(session, accepted_payloads)
    duplicates += len(accepted_payloads) - len(new_ids)
    session.commit()
    fresh = [accepted_payloads[i] for i in accepted_payloads if i in new_ids]
    if fresh:
        stream.publish(fresh)
    return IngestResult(accepted=len(fresh), duplicates=duplicates, rejected=len(errors), errors=errors)


def _insert_new(session: Session, payloads: dict[str, dict[str, Any]]) -> set[str]:
    """Insert the events; the ids that were not in the log before come back."""
    if not payloads:
        return set()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": eid,
            "type": p["type"],
            "ts": datetime.fromisoformat(p["ts"]),
            "screen_id": p.get("screen_id"),
            "store_id": p.get("store_id"),
            "payload": p,
            "received_at": now,
        }
        for eid, p in payloads.items()
    ]
    # One statement compiled once and run as an executemany: SQLAlchemy batches it into multi-row
    # INSERT … RETURNING ("insertmanyvalues"); a .values(rows) statement would compile a bind
    # parameter per cell, which took most of an ingest of thousands of events.
    stmt = dialect.insert(table(EventRecord)).on_conflict_do_nothing(index_elements=["event_id"])
    return set(session.execute(stmt.returning(table(EventRecord).c.event_id), rows).scalars())
