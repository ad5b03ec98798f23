"""In-process live state for a single worker: the default when no Redis is configured."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sortedcontainers import SortedList

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


class _SortedSet:
    """Members kept sorted by ``(score, member)`` beside a member → score map.

    Range reads and trims are bisections on the sorted list (O(log n + m)); the previous version
    sorted the whole set on every read, which made the coupon route slow down with every face a
    screen had ever seen (issue 17).
    """

    def __init__(self) -> None:
        self.scores: dict[str, float] = {}
        self.order: SortedList = SortedList()

    def add(self, members: Mapping[str, float]) -> None:
        for member, score in members.items():
            old = self.scores.get(member)
            if old is not None:
                self.order.remove((old, member))
            self.scores[member] = score
            self.order.add((score, member))

    def range(self, low: float, high: float) -> list[tuple[str, float]]:
        start = self.order.bisect_left((low,))
        stop = self.order.bisect_left((math.nextafter(high, math.inf),))
        return [(member, score) for score, member in self.order.islice(start, stop)]

    def trim_below(self, score: float) -> None:
        stop = self.order.bisect_left((score,))
        for _, member in self.order.islice(0, stop):
            del self.scores[member]
        del self.order[:stop]


class MemoryCounters(LiveCounters):
    """Hashes and sorted sets in dicts; keys with a time to live are swept on later writes."""

    SWEEP_EVERY_S = 1.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._hashes: dict[str, dict[str, float]] = defaultdict(dict)
        self._zsets: dict[str, _SortedSet] = {}
        self._expires: dict[str, float] = {}
        self._clock = clock
        self._swept = clock()
        self._lock = threading.Lock()

    def _touch(self, key: str, ttl_s: float | None) -> None:
        """Called under the lock on every write: set the key's deadline, drop keys past theirs."""
        now = self._clock()
        if ttl_s:
            self._expires[key] = now + ttl_s
        if now - self._swept >= self.SWEEP_EVERY_S:
            self._swept = now
            for gone in [k for k, deadline in self._expires.items() if deadline <= now]:
                self._drop(gone)

    def _drop(self, key: str) -> None:
        self._expires.pop(key, None)
        self._hashes.pop(key, None)
        self._zsets.pop(key, None)

    def _live(self, key: str) -> bool:
        deadline = self._expires.get(key)
        if deadline is not None and deadline <= self._clock():
            self._drop(key)
            return False
        return True

    def incr(self, updates: Sequence[tuple[str, str, float]], ttl_s: Mapping[str, float] | None = None) -> None:
        with self._lock:
            for key, field, amount in updates:
                self._live(key)
                h = self._hashes[key]
                h[field] = h.get(field, 0.0) + amount
            for key, seconds in (ttl_s or {}).items():
                self._touch(key, seconds)
            self._touch("", None)

    def get(self, key: str) -> dict[str, float]:
        with self._lock:
            return dict(self._hashes.get(key, {})) if self._live(key) else {}

    def get_many(self, keys: Sequence[str]) -> list[dict[str, float]]:
        with self._lock:
            return [dict(self._hashes.get(k, {})) if self._live(k) else {} for k in keys]

    def zadd(
        self, key: str, members: Mapping[str, float], ttl_s: float | None = None, min_score: float | None = None
    ) -> None:
        with self._lock:
            self._live(key)
            zset = self._zsets.setdefault(key, _SortedSet())
            zset.add(members)
            if min_score is not None:
                zset.trim_below(min_score)
            self._touch(key, ttl_s)

    def zrange_by_score(self, key: str, low: float, high: float) -> list[tuple[str, float]]:
        with self._lock:
            zset = self._zsets.get(key) if self._live(key) else None
            return zset.range(low, high) if zset else []

    def zrange_by_score_many(self, keys: Sequence[str], low: float, high: float) -> list[list[tuple[str, float]]]:
        return [self.zrange_by_score(key, low, high) for key in keys]

    def ztrim_below(self, key: str, score: float) -> None:
        with self._lock:
            zset = self._zsets.get(key)
            if zset:
                zset.trim_below(score)

    def size(self) -> int:
        """Members and fields held in all (what the memory-bound tests watch)."""
        with self._lock:
            return sum(len(h) for h in self._hashes.values()) + sum(len(z.scores) for z in self._zsets.values())


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
