"""The three small interfaces every live-state backend implements.

They are deliberately narrow (a stream with consumer groups, hashes and sorted sets of floats, and
a fan-out channel) so the in-process and Redis implementations can pass one contract test suite.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]


class LiveStateUnavailable(RuntimeError):
    """A write to live state could not be made because the backend is away."""


class EventStream(ABC):
    """Append-only stream of events, read by consumer groups (each event goes to one consumer)."""

    @abstractmethod
    def publish(self, events: Sequence[Event]) -> None:
        """Append events; never raises because the backend is away (implementations buffer)."""

    @abstractmethod
    def read(self, group: str, consumer: str, count: int = 500, block_ms: int = 200) -> list[tuple[str, Event]]:
        """Up to ``count`` new events for ``group``, waiting at most ``block_ms`` for the first."""

    @abstractmethod
    def ack(self, group: str, ids: Sequence[str]) -> None:
        """Mark events as processed by ``group``."""

    @abstractmethod
    def retry_unacked(self, group: str, consumer: str) -> None:
        """Ask for this consumer's unacknowledged events again on its next read."""

    @abstractmethod
    def pending(self) -> int:
        """Events accepted while the backend was away and not yet delivered to it."""


class LiveCounters(ABC):
    """Hashes of float counters and sorted sets, keyed by strings."""

    @abstractmethod
    def incr(self, updates: Sequence[tuple[str, str, float]], ttl_s: Mapping[str, float] | None = None) -> None:
        """Apply ``(key, field, amount)`` increments as one batch; keys named in ``ttl_s`` expire that
        many seconds after their last write (per-day counters must not pile up)."""

    @abstractmethod
    def get(self, key: str) -> dict[str, float]:
        """All fields of a hash (empty when absent)."""

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> list[dict[str, float]]:
        """Several hashes in one round trip, in the order asked."""

    @abstractmethod
    def zadd(
        self, key: str, members: Mapping[str, float], ttl_s: float | None = None, min_score: float | None = None
    ) -> None:
        """Add scored members to a sorted set, in one write with its upkeep.

        ``min_score`` drops every member scored below it (a sliding window trims on write, so a
        busy set never holds more than its window); ``ttl_s`` expires the whole set once idle that
        long (a screen that went quiet leaves nothing behind).
        """

    @abstractmethod
    def zrange_by_score(self, key: str, low: float, high: float) -> list[tuple[str, float]]:
        """Members with ``low <= score <= high``, lowest score first (ties by member), in O(log n + m)."""

    @abstractmethod
    def zrange_by_score_many(self, keys: Sequence[str], low: float, high: float) -> list[list[tuple[str, float]]]:
        """:meth:`zrange_by_score` of several sets in one round trip, in the order asked."""

    @abstractmethod
    def ztrim_below(self, key: str, score: float) -> None:
        """Drop members scored below ``score`` (ageing out windows)."""


class ConfigChannel(ABC):
    """Fan-out of small config-change messages to every worker process."""

    @abstractmethod
    def publish(self, channel: str, message: Mapping[str, Any]) -> None: ...

    @abstractmethod
    def subscribe(self, channel: str, handler: Callable[[dict[str, Any]], None]) -> None:
        """Call ``handler`` for every later message on ``channel`` (from a background thread)."""


@dataclass
class Bus:
    """The live-state backend the app holds; ``kind`` is ``memory`` or ``redis``."""

    kind: str
    events: EventStream
    counters: LiveCounters
    config: ConfigChannel
    ping: Callable[[], bool]
    close: Callable[[], None] = field(default=lambda: None)
