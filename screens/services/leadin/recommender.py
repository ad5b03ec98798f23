"""Lead-in recommendations: load the crowd and the cached state, then rank with the worker's :class:`CouponRanker`.

The only per-request I/O is one read of the screen's recent faces (it changes every second and
decides the answer); everything else comes from :class:`~screens.services.leadin.state.CouponState`.
The ranker (:mod:`recsys.leadin.ranker`) reuses what did not change since the last request — the
crowd-independent scores of this second and snapshot, this crowd's scores — and draws only the
pacing and exploration randomness per request; it returns what ``rank_coupons`` would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from recsys.audience import PublishedAudience
from recsys.leadin.rank import RankedCoupon
from recsys.leadin.ranker import BoundScorer, CouponRanker
from recsys.leadin.scorers import CouponScorer
from recsys.profile import CrowdProfile
from screens.bus import LiveCounters
from screens.caching import TtlCache
from screens.services.leadin.state import CouponCatalog, CouponState, LiveSnapshot
from screens.services.live_state import screen_crowd
from screens.services.model_store import ModelSlot
from screens.services.weights import WeightsCache

PROFILE_TTL_S = 0.5


@dataclass(frozen=True)
class LeadInSlate:
    """The whole answer to one lead-in request: the ranked coupons and what they were ranked for."""

    coupons: list[RankedCoupon]
    profile: CrowdProfile
    model_version: str | None
    weights_version: int | None
    """None when the request previewed weights of its own."""


class CouponRecommender:
    """Everything a worker needs to answer ``/coupons`` requests, built once in the lifespan."""

    def __init__(
        self,
        state: CouponState,
        models: ModelSlot[CouponScorer],
        weights: WeightsCache,
        counters: LiveCounters,
        crowd_window_s: float,
    ) -> None:
        self.state, self.models, self.weights = state, models, weights
        self._counters, self.crowd_window_s = counters, crowd_window_s
        self._local = threading.local()
        # Staleness rule: a screen's crowd is reused for PROFILE_TTL_S of request time, and dropped
        # when this worker applies the screen's next audience event (forget_profiles).
        self._profiles: TtlCache[str, CrowdProfile] = TtlCache(PROFILE_TTL_S)
        self.ranker = CouponRanker()
        self._bound_lock = threading.Lock()
        # Not a timed cache: the model's item side bound to (model, catalog build), recomputed when
        # either object changes (a new model version or a rebuilt catalog), so it can never be stale.
        self._bound: tuple[CouponScorer, CouponCatalog, BoundScorer] | None = None

    def _rng(self) -> np.random.Generator:
        """One generator per thread: numpy generators are not safe to share between threads."""
        rng: np.random.Generator | None = getattr(self._local, "rng", None)
        if rng is None:
            rng = self._local.rng = np.random.default_rng()
        return rng

    def crowd_profile(self, screen_id: str, now: datetime) -> CrowdProfile:
        """Confidence-weighted cells of the faces the screen saw in the last ``crowd_window_s``.

        Reused for ``PROFILE_TTL_S`` per screen: cameras report about once a second and the window
        is seconds long, so a kiosk polling faster than that would only re-read the same faces.
        """
        return self._profiles.get_or_load(
            screen_id, lambda: screen_crowd(self._counters, screen_id, now, self.crowd_window_s)[1], now.timestamp()
        )

    def forget_profiles(self, screen_ids: Iterable[str]) -> None:
        """Drop cached profiles of screens whose cameras just reported (read-your-writes in this worker)."""
        for screen_id in screen_ids:
            self._profiles.invalidate(screen_id)

    def recommend(
        self,
        screen_id: str,
        k: int,
        *,
        explicit_profile: Mapping[str, Any] | None = None,
        at: datetime | None = None,
        weights: Mapping[str, float] | None = None,
    ) -> LeadInSlate:
        """Top-``k`` coupons for the screen's crowd (or ``explicit_profile``), at most one per store."""
        now = at or datetime.now(UTC)
        profile = (
            CrowdProfile.from_explicit(explicit_profile, now)
            if explicit_profile is not None
            else self.crowd_profile(screen_id, now)
        )
        return self._rank(profile, self.state.snapshot(), k, now, weights)

    def recommend_cached(self, screen_id: str, k: int) -> LeadInSlate | None:
        """:meth:`recommend` for the live crowd when that needs no I/O, else None.

        No I/O means the screen's crowd is in the profile cache and the coupon snapshot is fresh; an
        async route can then answer without a thread-pool hop and falls back to :meth:`recommend` in
        the pool otherwise.
        """
        now = datetime.now(UTC)
        profile = self._profiles.get(screen_id, now.timestamp())
        snap = self.state.fresh_snapshot() if profile is not None else None
        if profile is None or snap is None:
            return None
        return self._rank(profile, snap, k, now, None)

    def _rank(
        self, profile: CrowdProfile, snap: LiveSnapshot, k: int, now: datetime, weights: Mapping[str, float] | None
    ) -> LeadInSlate:
        weights_version, in_force = self.weights.snapshot()
        model = self.models.current()
        ranked = self.ranker.rank(
            snap.table,
            profile,
            snap.lift(profile.context.daypart),
            snap.stores,
            in_force | dict(weights or {}),
            k,
            now,
            self._rng(),
            learned=self._bound_scorer(model, snap) if model is not None and len(snap.table) else None,
        )
        return LeadInSlate(ranked, profile, model.version if model else None, None if weights else weights_version)

    def _bound_scorer(self, model: CouponScorer, snap: LiveSnapshot) -> BoundScorer:
        """The model's item side of the catalog, bound once per (model, catalog build)."""
        cached = self._bound
        if cached is not None and cached[0] is model and cached[1] is snap.catalog:
            return cached[2]
        with self._bound_lock:
            reps = model.item_representations(snap.catalog.table)
            bound = BoundScorer(lambda profile: model.score(profile, reps), model.reference_logit)
            self._bound = (model, snap.catalog, bound)
        return bound

    def published_audience(self, store_id: str, daypart: str | None) -> PublishedAudience | None:
        """The store's audience if it passes k-anonymity (noised when ``dp_epsilon`` is set)."""
        snap = self.state.snapshot()
        if store_id not in snap.catalog.store_ids:  # a store added since the catalog was built
            self.state.coupons_changed(store_id)
            snap = self.state.snapshot()
        return snap.published.get(store_id, daypart)
