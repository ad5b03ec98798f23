"""Day partitions of the PostgreSQL event log (declarative range partitioning on ``ts``).

One partition per UTC day, ``event_log_pYYYYMMDD``, so retiring a day of raw events is a
``DROP TABLE`` (instant, no vacuum debt) instead of a ``DELETE`` of millions of rows, and reads of a
time window touch only its days. Partitions are created ahead of time for every day intake accepts
(the retention period back, :data:`DAYS_AHEAD` forward); there is no default partition, because a
row in it would block creating its day's partition later.

PostgreSQL requires the partition key in every unique constraint, so the log's key is
``(event_id, ts)``: a re-sent event carries its id and its time, and is still recognised.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Final

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, text
from sqlalchemy.engine import Connection

DAYS_AHEAD: Final = 7
PARENT: Final = "event_log"
_NAME = re.compile(r"^event_log_p(\d{8})$")
_LOCK_KEY: Final = 17_017
"""Advisory lock taken while partitions are changed, so workers starting together do not race."""


EVENT_LEDGER: Final = Table(
    "event_ledger",
    MetaData(),  # PostgreSQL only: not on SQLModel's metadata, which SQLite shares
    Column("event_id", String(36), primary_key=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Index("ix_event_ledger_ts", "ts"),
)
"""Every logged event id on PostgreSQL (the unpartitioned unique key of the partitioned log)."""


def partition_name(day: date) -> str:
    return f"{PARENT}_p{day:%Y%m%d}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'event_log'::regclass"))
    return found.first() is not None


def partition_days(conn: Connection) -> list[date]:
    """The days that have a partition, oldest first."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'event_log'::regclass"
        )
    ).scalars()
    days = []
    for name in rows:
        match = _NAME.match(name)
        if match:
            days.append(date(int(match[1][:4]), int(match[1][4:6]), int(match[1][6:])))
    return sorted(days)


def ensure_partitions(conn: Connection, first: date, last: date) -> list[str]:
    """Create the missing partitions for ``first`` … ``last`` (inclusive); their names come back."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    have = set(partition_days(conn))
    created = []
    day = first
    while day <= last:
        if day not in have:
            bounds = f"FROM ('{day} 00:00:00+00') TO ('{day + timedelta(days=1)} 00:00:00+00')"
            conn.execute(text(f"CREATE TABLE {partition_name(day)} PARTITION OF {PARENT} FOR VALUES {bounds}"))
            created.append(partition_name(day))
        day += timedelta(days=1)
    return created


def drop_partitions_before(conn: Connection, day: date) -> list[str]:
    """Drop every partition of a day before ``day``; their names come back."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    dropped = []
    for old in partition_days(conn):
        if old < day:
            conn.execute(text(f"DROP TABLE {partition_name(old)}"))
            dropped.append(partition_name(old))
    return dropped
