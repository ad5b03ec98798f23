"""The serving ranker: :func:`recsys.leadin.rank.rank_coupons` with its stages memoised.

A worker answers hundreds of requests a second for a few dozen crowds, and most of a from-scratch
ranking is the same from one request to the next (measured in ``docs/benchmarks.md``). The three
stages of :mod:`recsys.leadin.stages` are kept as long as their inputs are *the same objects*:

- clock scores per (coupon table, store table, weights, pacing, second of the ranking clock) — the
  service swaps in a new table when its live counters refresh, so this is "once per second or per
  snapshot, whichever comes first";
- crowd scores per (crowd profile's content, coupon set, audience lift, bound model);
- score frames per (clock scores, crowd scores).

Nothing here is a timed cache: every entry is a function of immutable inputs checked by identity
(or, for the profile, by value), so an entry can never be stale, only unused; each map is bounded
and drops its oldest entry first. Only :func:`recsys.leadin.rank.draw_slate` — the pacing and
exploration draws, the walk and the propensities — runs on every request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Generic, TypeVar

import numpy as np

from recsys.audience import AudienceLift
from recsys.leadin.rank import draw_slate
from recsys.leadin.rerank import PacingConfig
from recsys.leadin.stages import (
    ClockScores,
    CrowdScores,
    ScoreFrame,
    clock_scores,
    clock_second,
    crowd_scores,
    full_weights,
    score_frame,
)
from recsys.leadin.table import CouponTable, RankedCoupon, StoreTable
from recsys.profile import CrowdProfile

MAX_CLOCKS: Final = 8
"""(second, weights) pairs kept: the current second and the one before, for the weights in force and
a few previews."""
MAX_CROWDS: Final = 1024
MAX_FRAMES: Final = 1024

V = TypeVar("V")


@dataclass(frozen=True, eq=False)
class BoundScorer:
    """A learned model's item side bound to one coupon set: logits for any crowd, in table order.

    Build one per (model, coupon set) and keep it: the ranker reuses a crowd's scores only while it
    is handed the same object.
    """

    score: Callable[[CrowdProfile], np.ndarray]
    reference_logit: float | None


class _Bounded(Generic[V]):
    """``key → (dependencies, value)``, oldest dropped first; a hit needs the same dependency objects."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[tuple[object, ...], V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, deps: tuple[object, ...]) -> V | None:
        entry = self._entries.get(key)
        if entry is None or len(entry[0]) != len(deps) or any(a is not b for a, b in zip(entry[0], deps, strict=True)):
            return None
        return entry[1]

    def put(self, key: Hashable, deps: tuple[object, ...], value: V) -> V:
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self.max_entries:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (deps, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)


class CouponRanker:
    """Ranks exactly as :func:`recsys.leadin.rank.rank_coupons` does, reusing unchanged stages.

    Safe to share between threads (a race at worst computes a stage twice); give each thread its
    own random generator.
    """

    def __init__(self, pacing: PacingConfig | None = None) -> None:
        self.pacing = pacing or PacingConfig()
        self._clocks: _Bounded[ClockScores] = _Bounded(MAX_CLOCKS)
        self._crowds: _Bounded[CrowdScores] = _Bounded(MAX_CROWDS)
        self._frames: _Bounded[ScoreFrame] = _Bounded(MAX_FRAMES)

    def rank(
        self,
        table: CouponTable,
        profile: CrowdProfile,
        lift: AudienceLift | None,
        stores: StoreTable | None,
        weights: Mapping[str, float] | None,
        k: int,
        now: datetime,
        rng: np.random.Generator,
        learned: BoundScorer | None = None,
        max_per_store: int = 1,
    ) -> list[RankedCoupon]:
        """The slate :func:`~recsys.leadin.rank.rank_coupons` returns for the same inputs and ``rng`` state."""
        if k <= 0 or len(table) == 0:
            return []
        if max_per_store < 1:
            raise ValueError(f"max_per_store must be at least 1, got {max_per_store}")
        frame = self.frame(table, profile, lift, stores, weights, now, learned)
        return draw_slate(frame, k, rng, max_per_store)

    def frame(
        self,
        table: CouponTable,
        profile: CrowdProfile,
        lift: AudienceLift | None,
        stores: StoreTable | None,
        weights: Mapping[str, float] | None,
        now: datetime,
        learned: BoundScorer | None = None,
    ) -> ScoreFrame:
        """The scored frame of this crowd at this second, from the memoised stages."""
        clock = self._clock(table, stores, weights, now)
        crowd = self._crowd(table, profile, lift, learned)
        frame = self._frames.get((id(clock), id(crowd)), (clock, crowd))
        return frame or self._frames.put((id(clock), id(crowd)), (clock, crowd), score_frame(clock, crowd))

    def _clock(
        self, table: CouponTable, stores: StoreTable | None, weights: Mapping[str, float] | None, now: datetime
    ) -> ClockScores:
        key = (clock_second(now), *sorted(full_weights(weights).items()))
        clock = self._clocks.get(key, (table, stores))
        return clock or self._clocks.put(key, (table, stores), clock_scores(table, stores, weights, now, self.pacing))

    def _crowd(
        self, table: CouponTable, profile: CrowdProfile, lift: AudienceLift | None, learned: BoundScorer | None
    ) -> CrowdScores:
        deps = (table.coupon_set, lift, learned)
        key = (profile.key(), *map(id, deps))
        crowd = self._crowds.get(key, deps)
        if crowd is not None:
            return crowd
        scores = learned.score(profile) if learned is not None else None
        reference = learned.reference_logit if learned is not None else None
        return self._crowds.put(key, deps, crowd_scores(table, profile, lift, scores, reference))
