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

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final

from pydantic import ValidationError
from sqlmodel import Session

from screens.auth import Principal
from screens.bus import EventStream
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


def _field(event: Any, name: str) -> Any:
    """``event.name``, or None when its type has no such field (a pydantic ``getattr`` miss raises, slowly)."""
    return event.__dict__.get(name)


def _check(
    event: Any, screens: Mapping[str, ScreenInfo], who: Principal, now: datetime, retention_days: int
) -> str | None:
    """Why ``event`` may not be accepted from ``who``, or None when it may."""
    if event.ts < now - timedelta(days=retention_days):
        return f"ts: older than the {retention_days}-day retention of raw events"
    if event.ts > now + MAX_AHEAD:
        return "ts: more than a day ahead of the service's clock; check the device clock"
    screen_id = _field(event, "screen_id")
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
    session_id = _field(event, "session_id")
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
    store_id = payload.get("store_id")
    if store_id is None and payload.get("screen_id"):
        store_id = screens[payload["screen_id"]].store_id
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
    replayed without one) for a new event; there the ids go through :data:`screens.db.partitions.EVENT_LEDGER` first.

    Both are plain SQL run on the DBAPI (:func:`_log_insert_sql`): binding a parameter dict per row
    through SQLAlchemy (its JSON and datetime processors called cell by cell) took most of the
    insert's time.
    """
    if not payloads:
        return set()
    connection = session.connection()
    dialect = connection.dialect
    now = datetime.now(UTC)
    when = {eid: datetime.fromisoformat(p["ts"]) for eid, p in payloads.items()}
    if dialect.name == "postgresql":
        ids = list(payloads)
        columns = {
            "ids": ids,
            "types": [p["type"] for p in payloads.values()],
            "ts": list(when.values()),
            "screens": [p.get("screen_id") for p in payloads.values()],
            "stores": [p.get("store_id") for p in payloads.values()],
            "payloads": [json.dumps(p) for p in payloads.values()],
            "now": now,
        }
        return set(connection.exec_driver_sql(_log_insert_sql("postgresql", 0), columns).scalars())
    ts_bind = _LOG_TS.dialect_impl(dialect).bind_processor(dialect)
    assert ts_bind is not None  # SQLite stores datetimes as text
    stamp = ts_bind(now)
    rows = [
        (eid, p["type"], ts_bind(when[eid]), p.get("screen_id"), p.get("store_id"), json.dumps(p), stamp)
        for eid, p in payloads.items()
    ]
    new: set[str] = set()
    for start in range(0, len(rows), _SQLITE_ROWS):
        chunk = rows[start : start + _SQLITE_ROWS]
        flat = tuple(value for row in chunk for value in row)
        new.update(connection.exec_driver_sql(_log_insert_sql("sqlite", len(chunk)), flat).scalars())
    return new


_COLUMNS: Final = ("event_id", "type", "ts", "screen_id", "store_id", "payload", "received_at")
_SQLITE_ROWS: Final = 1_000
"""Rows per SQLite statement (7 parameters each, well under SQLite's 32,766)."""
_LOG_TS: Final = table(EventRecord).c.ts.type


@cache
def _log_insert_sql(dialect: str, rows: int) -> str:
    """The event-log insert for ``dialect`` returning the ids it logged (``rows`` per SQLite statement).

    SQLite: one multi-row ``INSERT … ON CONFLICT (event_id) DO NOTHING RETURNING event_id``.
    PostgreSQL: one statement of column arrays; the ledger insert is a data-modifying CTE, and only
    the ids it took are logged, so a batch costs one round trip (psycopg's ``executemany`` sends a
    statement per row). The arrays go in binary (``%b``): psycopg escapes text arrays element by
    element with a regular expression, which cost more than the statement itself.
    """
    names = ", ".join(_COLUMNS)
    if dialect == "sqlite":
        values = ", ".join(["(" + ", ".join(["?"] * len(_COLUMNS)) + ")"] * rows)
        return f"INSERT INTO event_log ({names}) VALUES {values} ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
    return (
        "WITH fresh AS (INSERT INTO event_ledger (event_id, ts) "
        "SELECT * FROM unnest(CAST(%(ids)b AS varchar[]), CAST(%(ts)b AS timestamptz[])) "
        "ON CONFLICT (event_id) DO NOTHING RETURNING event_id), "
        f"logged AS (INSERT INTO event_log ({names}) "
        "SELECT r.*, CAST(%(now)b AS timestamptz) FROM unnest("
        "CAST(%(ids)b AS varchar[]), CAST(%(types)b AS varchar[]), CAST(%(ts)b AS timestamptz[]), "
        "CAST(%(screens)b AS varchar[]), CAST(%(stores)b AS varchar[]), CAST(%(payloads)b AS json[])) "
        "AS r(event_id, type, ts, screen_id, store_id, payload) WHERE r.event_id IN (SELECT event_id FROM fresh) "
        "ON CONFLICT (event_id, ts) DO NOTHING) "
        "SELECT event_id FROM fresh"
    )
