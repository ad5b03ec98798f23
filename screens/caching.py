"""The one cache mechanism of a worker: entries that expire, can be dropped early, and stay bounded.

Every cache in the service is a :class:`TtlCache`, and every use states its staleness rule beside it
(how long an entry may lag the truth, and what drops it sooner). Workers serve requests on a thread
pool; the cache needs no lock because each operation is one dict operation under the GIL. The one
race that matters, a slow load finishing after an invalidation and putting the old value back, is
closed by :meth:`TtlCache.get_or_load` and :meth:`TtlCache.load_many`: an invalidation of a key
during the load discards that key's loaded value (and a clear, every value of the load).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``key → value`` for ``ttl_s`` seconds after the put; cleared whole at ``max_entries``.

    ``now`` defaults to :func:`time.monotonic`; a caller may pass its own clock reading (e.g. the
    request's time) and then an entry is fresh only for ``0 <= now - put_at < ttl_s``, so a request
    for another moment never reads a value computed for a later one.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        if ttl_s <= 0 or max_entries <= 0:
            raise ValueError("ttl_s and max_entries must be positive")
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        # An invalidation discards loads that began before it, of its own key only: ``_dropped`` holds
        # each invalidated key's generation, ``_cleared`` the last clear's (which discards every load).
        self._generation = 0
        self._dropped: dict[K, int] = {}
        self._cleared = 0

    def __len__(self) -> int:
        return len(self._entries)

    def last(self, key: K) -> V | None:
        """The value held for ``key``, fresh or expired: what a refresh may compare its new read with."""
        entry = self._entries.get(key)
        return entry[1] if entry is not None else None

    def get(self, key: K, now: float | None = None) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = (time.monotonic() if now is None else now) - entry[0]
        return entry[1] if 0 <= age < self.ttl_s else None

    def put(self, key: K, value: V, now: float | None = None) -> None:
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self.clear()  # a hot key is back on its next request; no LRU bookkeeping per hit
        self._entries[key] = (time.monotonic() if now is None else now, value)

    def get_or_load(self, key: K, load: Callable[[], V], now: float | None = None) -> V:
        """The cached value, or ``load()``'s, kept unless the key was invalidated meanwhile."""
        value = self.get(key, now)
        if value is None:
            started = self._generation
            value = load()
            self._keep(key, value, started, now)
        return value

    def load_many(self, keys: Sequence[K], load: Callable[[], Sequence[V]], now: float | None = None) -> None:
        """Put ``load()``'s values of ``keys`` (one read for all), each kept unless invalidated meanwhile."""
        started = self._generation
        values = load()
        for key, value in zip(keys, values, strict=True):
            self._keep(key, value, started, now)

    def _keep(self, key: K, value: V, started: int, now: float | None) -> None:
        if self._cleared <= started and self._dropped.get(key, 0) <= started:
            self.put(key, value, now)

    def invalidate(self, key: K) -> None:
        self._generation += 1
        self._dropped[key] = self._generation
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._generation += 1
        self._cleared = self._generation
        self._dropped.clear()
        self._entries.clear()
