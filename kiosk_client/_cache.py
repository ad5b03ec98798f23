"""Last good responses, kept on disk so a rebooted kiosk with no network still has content.

A separate SQLite file from the outbox with ``synchronous=NORMAL``: losing the newest cache write
in a power cut only means showing a slightly older coupon list, so it is not worth an fsync.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at REAL NOT NULL)"


@dataclass(frozen=True)
class CachedValue:
    value: dict[str, Any]
    fetched_at: datetime


class ResponseCache:
    """Key → last good JSON body and when it was fetched."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def put(self, key: str, value: dict[str, Any], fetched_at: float | None = None) -> None:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO cache (key, body, fetched_at) VALUES (?, ?, ?)",
                (key, body, fetched_at if fetched_at is not None else time.time()),
            )

    def get(self, key: str) -> CachedValue | None:
        with self._lock:
            row = self._conn.execute("SELECT body, fetched_at FROM cache WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return CachedValue(json.loads(row[0]), datetime.fromtimestamp(row[1], UTC))

    def close(self) -> None:
        with self._lock:
            self._conn.close()
