"""Recompute the rollups from the raw event log (after a migration, a bug, or a settings change).

The bucketed rollups from the start of ``since``'s UTC day on (daily rows cannot be split) are
deleted and rolled up again from the log in time order, a page of events at a time (keyset
pagination on ``(ts, event_id)``: memory stays flat). Events the service receives while a rebuild
runs are rolled up by intake and skipped here (by ``received_at``).

Store audiences are decayed sums over all time, not buckets, so they are rebuilt only when the
rebuild starts at or before the oldest raw event: rebuilt from a later day they would lose the
visits before it. Raw events are kept for the retention period, rollups for ever, so a rebuild
can only repair what the log still holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, tuple_
from sqlmodel import Session

from screens.db.rollups import DAY_S, ROLLUPS, AudienceRollup
from screens.db.session import as_utc
from screens.db.tables import EventRecord, table
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
    for model in ROLLUPS:
        if model is AudienceRollup:
            if audiences:
                session.execute(delete(table(model)))
            continue
        rollup = table(model)
        session.execute(delete(rollup).where(rollup.c.bucket >= bucket_of(start)) if start else delete(rollup))
    done, after = 0, None
    while True:
        query = select(_LOG.ts, _LOG.event_id, _LOG.payload).where(_LOG.received_at < started)
        if start is not None:
            query = query.where(_LOG.ts >= start)
        if after is not None:
            query = query.where(tuple_(_LOG.ts, _LOG.event_id) > after)
        rows = session.execute(query.order_by(_LOG.ts, _LOG.event_id).limit(PAGE)).all()
        if not rows:
            break
        roll_up(session, [payload for _, _, payload in rows], config, reattribute=False, audience=audiences)
        after = (rows[-1][0], rows[-1][1])
        done += len(rows)
        if commit:
            session.commit()
        progress(len(rows))
    return RebuildResult(done, start, audiences)
