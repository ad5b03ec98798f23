"""Event intake: validate each event on its own, dedupe by ``event_id``, log and roll up, then stream.

The event log doubles as the idempotency ledger: an insert that conflicts on ``event_id`` is a
duplicate, which holds across restarts and across workers. The events the log did not hold are
added to the analytics rollups in the same transaction (:mod:`screens.services.rollups`), so each
is counted exactly once. Events are committed *before* they are put on the stream, so a stream
outage never loses an accepted event (the bus buffers it) and a crash in between can be replayed
from the log.

An event is accepted only if its time lies within the raw-event retention (``retention_days``) and
at most :data:`MAX_AHEAD` ahead: older ones would land in a day the log no longer keeps (and could
no longer be recognised as re-sends), later ones mean a device clock is wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from screens.auth import Principal
from screens.bus import EventStream
from screens.db.partitions import EVENT_LEDGER
from screens.db.tables import EventRecord, table
from screens.schemas.events import EVENT_ADAPTER, EventError, IngestResult
from screens.services.rollups import RollupConfig, roll_up
from screens.services.session_window import SessionExpired, SessionPolicy
from screens.settings import Settings

log = logging.getLogger(__name__)
MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True)
class IntakeConfig:
    """What intake needs from the settings: the rollups' settings and the accepted time range."""

    rollups: RollupConfig
    retention_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> IntakeConfig:
        rollups = RollupConfig(settings.crowd_window_s, settings.audience_half_life_days * 86_400.0)
        return cls(rollups, settings.event_retention_days)


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


def _check(
    event: Any, screens: Mapping[str, ScreenInfo], who: Principal, now: datetime, retention_days: int
) -> str | None:
    """Why ``event`` may not be accepted from ``who``, or None when it may."""
    if event.ts < now - timedelta(days=retention_days):
        return f"ts: older than the {retention_days}-day retention of raw events"
    if event.ts > now + MAX_AHEAD:
        return "ts: more than a day ahead of the service's clock; check the device clock"
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


def _session_check(event: Any, sessions: SessionPolicy) -> str | None:
    """Why the event's mirror session may not be used any more (see :mod:`screens.services.session_window`)."""
    session_id = getattr(event, "session_id", None)
    if session_id is None:
        return None
    try:
        sessions.check(session_id, event.ts)
    except SessionExpired as exc:
        return str(exc)
    return None


def _record(event: Any, screens: Mapping[str, ScreenInfo], sessions: SessionPolicy) -> dict[str, Any]:
    payload: dict[str, Any] = event.model_dump(mode="json")
    if payload.get("session_id") is not None:  # never the raw id: logged, streamed and trained on as a hash
        payload["session_id"] = sessions.stored_id(payload["session_id"])
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
    config: IntakeConfig,
    *,
    sessions: SessionPolicy,
) -> IngestResult:
    errors: list[EventError] = []
    now = datetime.now(UTC)
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
        reason = _check(event, screens, who, now, config.retention_days) or _session_check(event, sessions)
        if reason:
            errors.append(EventError(index=index, message=reason))
            continue
        key = str(event.event_id)
        if key in accepted_payloads:
            duplicates += 1
            continue
        accepted_payloads[key] = _record(event, screens, sessions)
    new_ids = _insert_new(session, accepted_payloads)
    duplicates += len(accepted_payloads) - len(new_ids)
    fresh = [accepted_payloads[i] for i in accepted_payloads if i in new_ids]
    roll_up(session, fresh, config.rollups)
    session.commit()
    if fresh:
        stream.publish(fresh)
    return IngestResult(accepted=len(fresh), duplicates=duplicates, rejected=len(errors), errors=errors)


def _insert_new(session: Session, payloads: dict[str, dict[str, Any]]) -> set[str]:
    """Insert the events; the ids that were not in the log before come back.

    On SQLite the log's key is ``event_id``. A partitioned PostgreSQL log's key must hold the
    partition key (``(event_id, ts)``), which would take a re-send with another ``ts`` (a try-on
    replayed without one) for a new event; there the ids go through :data:`EVENT_LEDGER` first.
    """
    if not payloads:
        return set()
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
    log_table = table(EventRecord)
    if session.get_bind().dialect.name != "postgresql":
        stmt = sqlite.insert(log_table).on_conflict_do_nothing(index_elements=["event_id"])
        return set(session.execute(stmt.returning(log_table.c.event_id), rows).scalars())
    ledger = postgresql.insert(EVENT_LEDGER).on_conflict_do_nothing(index_elements=["event_id"])
    ids = [{"event_id": r["event_id"], "ts": r["ts"]} for r in rows]
    new = set(session.execute(ledger.returning(EVENT_LEDGER.c.event_id), ids).scalars())
    if new:
        insert = postgresql.insert(log_table).on_conflict_do_nothing(index_elements=["event_id", "ts"])
        session.execute(insert, [r for r in rows if r["event_id"] in new])
    return new
