"""In-process live state for a single worker: the default when no Redis is configured."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from screens.bus.base import Bus, ConfigChannel, Event, EventStream, LiveCounters


class MemoryEventStream(EventStream):
    """A list with one cursor per group; events every group has acknowledged are dropped."""

    TRIM_AT = 1_000

    def __init__(self) -> None:
        self._log: list[Event] = []
        self._offset = 0  # absolute position of _log[0]
        self._cursor: dict[str, int] = {}
        self._inflight: dict[tuple[str, str], int] = {}  # first position of a read not yet acknowledged
        self._cond = threading.Condition()

    def publish(self, events: Sequence[Event]) -> None:
        with self._cond:
            self._log.extend(dict(e) for e in events)
            self._cond.notify_all()

    def read(self, group: str, consumer: str, count: int = 500, block_ms: int = 200) -> list[tuple[str, Event]]:
        with self._cond:
            start = self._cursor.setdefault(group, self._offset)
            if start >= self._offset + len(self._log) and block_ms > 0:
                self._cond.wait(block_ms / 1000)
            end = min(self._offset + len(self._log), start + count)
            self._cursor[group] = end
            if end > start:
                self._inflight.setdefault((group, consumer), start)
            return [(str(i), self._log[i - self._offset]) for i in range(start, end)]

    def ack(self, group: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        last = max(int(i) for i in ids)
        with self._cond:
            for key in [k for k, first in self._inflight.items() if k[0] == group and first <= last]:
                del self._inflight[key]
            self._trim()

    def retry_unacked(self, group: str, consumer: str) -> None:
        with self._cond:
            start = self._inflight.pop((group, consumer), None)
            if start is not None:
                self._cursor[group] = min(self._cursor[group], start)

    def _trim(self) -> None:
        low = min([*self._cursor.values(), *self._inflight.values()], default=self._offset)
        if low - self._offset >= self.TRIM_AT:
            del self._log[: low - self._offset]
            self._offset = low

    def pending(self) -> int:
        return 0


class MemoryCounters(LiveCounters):
    def __init__(self) -> None:
        self._hashes: dict[str, dict[str, float]] = defaultdict(dict)
        self._zsets: dict[str, dict[str, float]] = defaultdict(dict)
        self._lock = threading.Lock()

    def incr(self, updates: Sequence[tuple[str, str, float]]) -> None:
        with self._lock:
            for key, field, amount in updates:
                h = self._hashes[key]
                h[field] = h.get(field, 0.0) + amount

    def get(self, key: str) -> dict[str, float]:
        with self._lock:
            return dict(self._hashes.get(key, {}))

    def get_many(self, keys: Sequence[str]) -> list[dict[str, float]]:
        with self._lock:
            return [dict(self._hashes.get(k, {})) for k in keys]

    def zadd(self, key: str, members: Mapping[str, float], ttl_s: float | None = None) -> None:
        with self._lock:
            self._zsets[key].update(members)

    def zrange_by_score(self, key: str, low: float, high: float) -> list[tuple[str, float]]:
        with self._lock:
            items = sorted(self._zsets.get(key, {}).items(), key=lambda kv: (kv[1], kv[0]))
        scores = [s for _, s in items]
        return items[bisect.bisect_left(scores, low) : bisect.bisect_right(scores, high)]

    def ztrim_below(self, key: str, score: float) -> None:
        with self._lock:
            zset = self._zsets.get(key)
            if zset:
                for member in [m for m, s in zset.items() if s < score]:
                    del zset[member]


class MemoryConfigChannel(ConfigChannel):
    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[[dict[str, Any]], None]]] = defaultdict(list)

    def publish(self, channel: str, message: Mapping[str, Any]) -> None:
        for handler in list(self._handlers[channel]):
            handler(dict(message))

    def subscribe(self, channel: str, handler: Callable[[dict[str, Any]], None]) -> None:
        self._handlers[channel].append(handler)


def make_memory_bus() -> Bus:
    return Bus(
        kind="memory",
        events=MemoryEventStream(),
        counters=MemoryCounters(),
        config=MemoryConfigChannel(),
        ping=lambda: True,
    )
