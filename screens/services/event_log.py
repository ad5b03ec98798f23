"""Reading the raw event log by time window (what the trainers need, nothing older).

Every read names its window: on PostgreSQL that prunes the day partitions outside it, on both
databases it keeps a training run's cost to the days it learns from, not to the whole log.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlmodel import Session, col, select

from screens.db.tables import EventRecord

TRAINING_DAYS: Final = 28
"""Days of events a training run reads by default (the console's longest usual window)."""


def events_since(
    session: Session, types: Sequence[str], days: int, now: datetime | None = None
) -> Iterator[EventRecord]:
    """Logged events of ``types`` from the last ``days`` days, oldest first, streamed in pages."""
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    query = (
        select(EventRecord)
        .where(col(EventRecord.type).in_(list(types)), col(EventRecord.ts) >= since)
        .order_by(col(EventRecord.ts))
    )
    yield from session.exec(query.execution_options(yield_per=5000))
