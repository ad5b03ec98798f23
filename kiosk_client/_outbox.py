"""The durable outbox: events wait in a SQLite file until the service has acknowledged them.

Delivery is *at least once* from the device and *exactly once* from the service's point of view:
an event leaves the outbox only after the service answered ``accepted`` or ``duplicate`` for its
``event_id`` (or rejected it for good), and the service ignores an ``event_id`` it already holds.
A crash between the service's commit and our delete therefore costs one harmless resend, never a
lost or double-counted event.

Why these SQLite settings:

* ``journal_mode=WAL`` lets a flush read while the UI thread enqueues, and survives power loss.
* ``synchronous=FULL`` fsyncs the WAL on every commit, so :meth:`Outbox.enqueue` is durable when it
  returns (``NORMAL`` would be faster but may lose the last commits when a cleaner pulls the plug).
* ``seq INTEGER PRIMARY KEY AUTOINCREMENT`` keeps send order = enqueue order across restarts.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk_client._events import validate_event

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""
_CHUNK = 500  # stay far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class PendingEvent:
    """One event waiting in the outbox; ``attempts`` counts the flushes that tried to send it."""

    event_id: str
    event: dict[str, Any]
    attempts: int


class Outbox:
    """A FIFO of events in a SQLite file, safe to share between threads of one process.

    ``max_pending`` bounds the file on a kiosk that stays offline for weeks: past it, the oldest
    events are dropped (and logged), because recent crowd data is worth more than old.
    """

    def __init__(self, path: str | Path, *, max_pending: int = 200_000) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_pending = max_pending
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(_SCHEMA)

    def enqueue(self, event: Mapping[str, Any]) -> str:
        """Store one event durably and return its ``event_id``; re-enqueueing an id is a no-op."""
        return self.enqueue_many([event])[0]

    def enqueue_many(self, events: Iterable[Mapping[str, Any]]) -> list[str]:
        """Store several events in one transaction (one fsync) and return their ids."""
        rows = []
        for event in events:
            validate_event(event)
            rows.append((event["event_id"], json.dumps(event, ensure_ascii=False, separators=(",", ":"))))
        now = time.time()
        with self._lock, self._transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO outbox (event_id, body, enqueued_at) VALUES (?, ?, ?)",
                [(event_id, body, now) for event_id, body in rows],
            )
            self._trim()
        return [event_id for event_id, _ in rows]

    def peek(self, limit: int) -> list[PendingEvent]:
        """The oldest ``limit`` pending events, left in place until :meth:`ack`."""
        with self._lock:
            cursor = self._conn.execute("SELECT event_id, body, attempts FROM outbox ORDER BY seq LIMIT ?", (limit,))
            return [PendingEvent(eid, json.loads(body), attempts) for eid, body, attempts in cursor]

    def ack(self, event_ids: Sequence[str]) -> int:
        """Delete events the service has settled (accepted, duplicate or rejected for good)."""
        deleted = 0
        with self._lock, self._transaction():
            for start in range(0, len(event_ids), _CHUNK):
                chunk = event_ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                deleted += self._conn.execute(f"DELETE FROM outbox WHERE event_id IN ({marks})", chunk).rowcount
        return deleted

    def mark_attempt(self, event_ids: Sequence[str]) -> None:
        """Count one more send attempt for these events (diagnostics: what keeps failing?)."""
        with self._lock, self._transaction():
            for start in range(0, len(event_ids), _CHUNK):
                chunk = event_ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                self._conn.execute(f"UPDATE outbox SET attempts = attempts + 1 WHERE event_id IN ({marks})", chunk)

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _trim(self) -> None:
        excess = self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] - self.max_pending
        if excess > 0:
            self._conn.execute(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?)", (excess,)
            )
            logger.warning("outbox over %d events: dropped the %d oldest", self.max_pending, excess)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``/``ROLLBACK``: takes the write lock up front so two writers
    (UI thread and flusher, or two processes) wait on ``busy_timeout`` instead of deadlocking."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("ROLLBACK" if exc_type else "COMMIT")
