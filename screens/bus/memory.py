"""In-process live state for a single worker: the default when no Redis is configured."""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from screens.bus.base import Bus, ConfigChannel, Event, EventStream, LiveCounters


class MemoryEventStream(EventStream):
    def __init__(self) -> None:
        self._log: list[Event] = []
        self._cursor: dict[str, int] = defaultdict(int)
        self._cond = threading.Condition()

    def publish(self, events: Sequence[Event]) -> None:
        with self._cond:
            self._log.extend(dict(e) for e in events)
            self._cond.notify_all()

    def read(self, group: str, consumer: str, count: int = 500, block_ms: int = 200) -> list[tuple[str, Event]]:
        with self._cond:
            start = self._cursor[group]
            if start >= len(self._log) and block_ms > 0:
                self._cond.wait(block_ms / 1000)
            end = min(len(self._log), start + count)
            self._cursor[group] = end
            return [(str(i), self._log[i]) for i in range(start, end)]

    def ack(self, group: str, ids: Sequence[str]) -> None:
        """Delivery already moved the group's cursor; one process cannot lose an in-flight read."""

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
