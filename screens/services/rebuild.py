"""Recompute the rollups from the raw event log (after a migration, a bug, or a settings change).

The bucketed rollups from the start of ``since``'s UTC day on (daily rows cannot be split) are
deleted and rolled up again from the log in time order, a page of events at a time: memory stays
flat, and each page is an index range. The log has no index on ``ts`` alone (intake would pay
for it), so one keyset cursor on ``(ts, event_id)`` per event type reads the ``(type, ts)``
index, and the cursors are merged into time order (a single cursor ordered by ``ts`` would scan
and sort the whole log for every page: quadratic, hours at 10M events). Events the service receives while a rebuild
runs are rolled up by intake and skipped here (by ``received_at``).

Store audiences are decayed sums over all time, not buckets, so they are rebuilt only when the
rebuild starts at or before the oldest raw event: rebuilt from a later day they would lose the
visits before it. Raw events are kept for the retention period, daily rollups for ever and
quarter-hour rollups for the analytics window (:func:`screens.services.retention.prune_rollups`),
so a rebuild can only repair what the log still holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text
from sqlmodel import Session

from screens.db.rollups import DAY_S, ROLLUPS, AudienceRollup
from screens.db.session import as_utc
from screens.db.tables import EventRecord, table
from screens.schemas.events import EVENT_TYPES
from screens.services.rollups import RollupConfig, bucket_of, roll_up

_LOG = table(EventRecord).c
PAGE = 5_000


@dataclass(frozen=True)
class RebuildResult:
    events: int
    since: datetime | None
    audiences_rebuilt: bool


def events_to_rebuild(session: Session, since: datetime | None, started: datetime) -> int:
    query = select(func.count()).select_from(table(EventRecord)).where(_LOG.received_at < started)
    if since is not None:
        query = query.where(_LOG.ts >= datetime.fromtimestamp(bucket_of(since, DAY_S), UTC))
    return int(session.execute(query).scalar_one())


def rebuild(
    session: Session,
    config: RollupConfig,
    since: datetime | None = None,
    progress: Callable[[int], None] = lambda _n: None,
    *,
    commit: bool = True,
    started: datetime | None = None,
) -> RebuildResult:
    """Roll the log up again from ``since`` (everything when None); ``progress`` gets each page's size."""
    started = started or datetime.now(UTC)
    start = datetime.fromtimestamp(bucket_of(since, DAY_S), UTC) if since is not None else None
    oldest = session.execute(select(func.min(_LOG.ts))).scalar_one_or_none()
    audiences = start is None or oldest is None or as_utc(oldest) >= start
    if session.get_bind().dialect.name == "postgresql":
        # Autovacuum analyses the day partitions, never their parent: without the parent's
        # statistics (a log just restored or bulk-loaded) the planner sorts the rest of the log for
        # every page instead of walking the (type, ts) index in order and stopping at the limit.
        session.execute(text(f"ANALYZE {table(EventRecord).name}"))
    for model in ROLLUPS:
        if model is AudienceRollup:
            if audiences:
                session.execute(delete(table(model)))
            continue
        rollup = table(model)
        session.execute(delete(rollup).where(rollup.c.bucket >= bucket_of(start)) if start else delete(rollup))
    done = 0
    for rows in _pages(session, start, started):
        roll_up(session, [payload for _, _, payload in rows], config, reattribute=False, audience=audiences)
        done += len(rows)
        if commit:
            session.commit()
        progress(len(rows))
    return RebuildResult(done, start, audiences)


def _pages(session: Session, start: datetime | None, started: datetime) -> Iterator[list[Any]]:
    """The log's ``(ts, event_id, payload)`` rows received before ``started``, in time order, in pages.

    Each type's cursor fetches :data:`PAGE` rows at a time; rows up to the smallest last key of
    the cursors that have more are complete in time order across all types, and make a page.
    """
    after: dict[str, tuple[Any, str] | None] = {kind: None for kind in EVENT_TYPES}
    buffers: dict[str, list[Any]] = {kind: [] for kind in EVENT_TYPES}
    more = set(EVENT_TYPES)
    while True:
        for kind in sorted(more):
            if not buffers[kind]:
                rows = _after(session, kind, after[kind], start, started)
                if len(rows) < PAGE:
                    more.discard(kind)
                if rows:
                    buffers[kind], after[kind] = rows, (rows[-1][0], rows[-1][1])
        if not any(buffers.values()):
            return
        keys = [key for kind, key in after.items() if kind in more and key is not None]
        bound = min(keys) if keys else None
        page = []
        for kind, rows in buffers.items():
            cut = len(rows) if bound is None else _count_upto(rows, bound)
            page.append(rows[:cut])
            buffers[kind] = rows[cut:]
        yield list(heapq.merge(*page, key=lambda row: (row[0], row[1])))


def _count_upto(rows: list[Any], bound: tuple[Any, str]) -> int:
    """How many of ``rows`` (sorted by ``(ts, event_id)``) are at or before ``bound``."""
    lo, hi = 0, len(rows)
    while lo < hi:
        mid = (lo + hi) // 2
        if (rows[mid][0], rows[mid][1]) <= bound:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _after(
    session: Session, kind: str, after: tuple[Any, str] | None, start: datetime | None, started: datetime
) -> list[Any]:
    """The next :data:`PAGE` events of one type after the key ``after``, by ``(ts, event_id)``."""
    query = select(_LOG.ts, _LOG.event_id, _LOG.payload).where(_LOG.type == kind, _LOG.received_at < started)
    if start is not None:
        query = query.where(_LOG.ts >= start)
    if after is not None:  # spelled as ranges on ts (not a row value) so both databases use the index
        query = query.where(_LOG.ts >= after[0], or_(_LOG.ts > after[0], _LOG.event_id > after[1]))
    return list(session.execute(query.order_by(_LOG.ts, _LOG.event_id).limit(PAGE)).all())
