"""Raw events are kept for ``retention_days``; the rollups, which analytics reads, outlive them.

Quarter-hour rows of the two-grain rollups (coupons, coupon cells, flow) older than the analytics
window (:data:`screens.services.analytics.ANALYTICS_DAYS`, the longest window any endpoint reads) are pruned by
:func:`prune_rollups`: windows read whole days from the daily rows, which are kept for ever, and
only their ragged ends from quarter hours. Traffic and store visits have no daily grain and are
kept whole.

On PostgreSQL the log is partitioned by day (:mod:`screens.db.partitions`): retiring a day is a
``DROP TABLE``, and the partitions intake will need (the retention period back, a week ahead) are
created here too. On SQLite old rows are deleted in small batches (each its own short write, so
ingest is never blocked for long), and the write-ahead log is checkpointed with ``TRUNCATE``: under
sustained ingest SQLite's automatic checkpoints can be starved by overlapping readers and the WAL
grew past a gigabyte (issue 17).

:class:`RetentionWorker` runs both on a timer in every worker; the steps are idempotent and
PostgreSQL partition changes take an advisory lock, so workers doing it together is harmless.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import ColumnElement, Table, and_, delete, func, select, text
from sqlalchemy.engine import Engine

from screens.db.partitions import (
    DAYS_AHEAD,
    EVENT_LEDGER,
    drop_partitions_before,
    ensure_partitions,
    is_partitioned,
)
from screens.db.rollups import BUCKET_S, DAY_S, CouponCellRollup, CouponRollup, FlowRollup, PlayRollup
from screens.db.tables import EventRecord, table
from screens.services.analytics import ANALYTICS_DAYS

log = logging.getLogger(__name__)
DELETE_BATCH: Final = 5_000
PRUNED: Final = (CouponRollup, FlowRollup, CouponCellRollup, PlayRollup)
_LOG = table(EventRecord)


@dataclass(frozen=True)
class RetentionResult:
    cutoff: datetime
    dropped_partitions: list[str]
    created_partitions: list[str]
    deleted_rows: int


def retire_raw_events(engine: Engine, retention_days: int, now: datetime | None = None) -> RetentionResult:
    """Drop (PostgreSQL) or delete (SQLite) raw events older than ``retention_days``."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=retention_days)
    with engine.begin() as conn:
        partitioned = is_partitioned(conn)
    if partitioned:
        with engine.begin() as conn:
            created = ensure_partitions(conn, cutoff.date(), now.date() + timedelta(days=DAYS_AHEAD))
            dropped = drop_partitions_before(conn, cutoff.date())
        first_kept = datetime.combine(cutoff.date(), datetime.min.time(), UTC)
        _delete_in_batches(engine, EVENT_LEDGER, EVENT_LEDGER.c.ts < first_kept)
        if dropped:
            log.info("dropped %d day partitions of raw events before %s", len(dropped), cutoff.date())
        return RetentionResult(cutoff, dropped, created, 0)
    deleted = _delete_in_batches(engine, _LOG, _LOG.c.ts < cutoff)
    if deleted:
        log.info("deleted %d raw events before %s", deleted, cutoff.isoformat())
    return RetentionResult(cutoff, [], [], deleted)


def prune_rollups(engine: Engine, now: datetime | None = None) -> int:
    """Delete quarter-hour rows of :data:`PRUNED` before the analytics window; how many come back.

    The cut is the start of the UTC day :data:`ANALYTICS_DAYS` back, less a day (a window's ragged
    start is read by quarter hour up to its first whole UTC day; the spare day covers clocks that
    disagree). One day per transaction, oldest first, so each write is short.
    """
    now = now or datetime.now(UTC)
    cut = (int(now.timestamp()) // DAY_S - ANALYTICS_DAYS - 1) * DAY_S
    deleted = 0
    for model in PRUNED:
        rollup = table(model).c
        with engine.connect() as conn:
            oldest = conn.execute(select(func.min(rollup.bucket)).where(rollup.grain == BUCKET_S)).scalar()
        day = None if oldest is None else int(oldest) // DAY_S * DAY_S
        while day is not None and day < cut:
            end = min(day + DAY_S, cut)
            with engine.begin() as conn:
                quarter_hours = and_(rollup.grain == BUCKET_S, rollup.bucket >= day, rollup.bucket < end)
                deleted += conn.execute(delete(table(model)).where(quarter_hours)).rowcount
            day = end
    if deleted:
        log.info("pruned %d quarter-hour rollup rows before %s", deleted, datetime.fromtimestamp(cut, UTC).date())
    return deleted


def _delete_in_batches(engine: Engine, target: Table, older: ColumnElement[bool]) -> int:
    """Delete the matching rows a batch per transaction (each a short write); how many come back."""
    deleted = 0
    while True:
        with engine.begin() as conn:
            batch = select(target.c.event_id).where(older).limit(DELETE_BATCH).scalar_subquery()
            n = conn.execute(delete(target).where(target.c.event_id.in_(batch))).rowcount
        deleted += n
        if n < DELETE_BATCH:
            return deleted


def checkpoint_wal(engine: Engine) -> tuple[int, int, int] | None:
    """Checkpoint and truncate SQLite's WAL: ``(busy, wal_frames, checkpointed)``; None elsewhere."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        busy, frames, done = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    return int(busy), int(frames), int(done)


class RetentionWorker:
    """Retires raw events and prunes old quarter-hour rollups every ``retention_every_s``, and
    checkpoints SQLite every ``checkpoint_every_s``."""

    def __init__(
        self, engine: Engine, retention_days: int, retention_every_s: float = 3_600.0, checkpoint_every_s: float = 30.0
    ) -> None:
        self._engine, self._days = engine, retention_days
        self._retention_every_s, self._checkpoint_every_s = retention_every_s, checkpoint_every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vitrine-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        since_retention = self._retention_every_s  # retire once at start
        while not self._stop.is_set():
            try:
                if since_retention >= self._retention_every_s:
                    since_retention = 0.0
                    retire_raw_events(self._engine, self._days)
                    prune_rollups(self._engine)
                checkpoint_wal(self._engine)
            except Exception:
                log.exception("retention step failed; retrying on the next tick")
            self._stop.wait(self._checkpoint_every_s)
            since_retention += self._checkpoint_every_s
