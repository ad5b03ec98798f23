"""Lead-in recommendations: load the crowd and the cached state, then rank with the worker's :class:`CouponRanker`.

The screen's crowd (its recent faces: it changes every second and decides the answer) is the only
live input read from the bus, and a polled screen's is read ahead of its requests: every
:data:`PROFILE_REFRESH_S` the crowds of the screens whose cached crowd was reused are re-read
together (one round trip per :data:`REFRESH_CHUNK` screens), so a screen polled a few times a second
is answered with no I/O and no thread-pool hop.
Everything else comes from :class:`~screens.services.leadin.state.CouponState`.
The ranker (:mod:`recsys.leadin.ranker`) reuses what did not change since the last request — the
crowd-independent scores of this second and snapshot, this crowd's scores — and draws only the
pacing and exploration randomness per request; it returns what ``rank_coupons`` would.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
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
from screens.services.live_state import CrowdRead, screen_crowds
from screens.services.model_store import ModelSlot
from screens.services.weights import WeightsCache

log = logging.getLogger(__name__)
PROFILE_TTL_S = 0.5
PROFILE_REFRESH_S = 0.25
REFRESH_CHUNK = 25


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
        # Staleness rule: a screen's crowd is used for at most PROFILE_TTL_S of request time. The
        # crowds reused since the last tick are re-read together every PROFILE_REFRESH_S, and a
        # screen whose audience events this worker applies is re-read at once (audience_applied), so
        # a polled screen's crowd lags its camera by about PROFILE_REFRESH_S, never over PROFILE_TTL_S.
        self._crowds: TtlCache[str, CrowdRead] = TtlCache(PROFILE_TTL_S)
        self._reused: set[str] = set()
        self._stop = threading.Event()
        self._refresher = threading.Thread(target=self._refresh_reused, name="vitrine-crowds", daemon=True)
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

    def start(self) -> None:
        self._refresher.start()

    def stop(self) -> None:
        self._stop.set()
        if self._refresher.is_alive():
            self._refresher.join(timeout=5)

    def crowd_profile(self, screen_id: str, now: datetime) -> CrowdProfile:
        """Confidence-weighted cells of the faces the screen saw in the last ``crowd_window_s``.

        Cached per screen (see the staleness rule in ``__init__``): cameras report about once a
        second and the window is seconds long, so a kiosk polling faster than that would only re-read
        the same faces.
        """
        read = self._crowds.get(screen_id, now.timestamp())
        if read is not None:
            self._reused.add(screen_id)
            return read.profile
        return self._crowds.get_or_load(screen_id, lambda: self._read([screen_id], now)[0], now.timestamp()).profile

    def audience_applied(self, screen_ids: Iterable[str]) -> None:
        """This worker applied audience events of these screens: re-read the cached crowds among
        them (read-your-writes without a miss), drop nothing else."""
        changed = set(screen_ids)
        cached = [screen_id for screen_id in changed if self._crowds.last(screen_id) is not None]
        for screen_id in changed:
            self._crowds.invalidate(screen_id)  # a read in flight must not put the old crowd back
        self._reload(cached)

    def _read(self, screen_ids: list[str], now: datetime) -> list[CrowdRead]:
        previous = [self._crowds.last(screen_id) for screen_id in screen_ids]
        return screen_crowds(self._counters, screen_ids, now, self.crowd_window_s, previous)

    def _reload(self, screen_ids: list[str]) -> None:
        """Re-read crowds :data:`REFRESH_CHUNK` screens per round trip: the event loop takes the GIL
        back while each chunk is on the wire, so no request waits behind all 200 crowds of a mall
        (in one read, the coupon route's p99 doubled under changing crowds)."""
        for start in range(0, len(screen_ids), REFRESH_CHUNK):
            chunk, now = screen_ids[start : start + REFRESH_CHUNK], datetime.now(UTC)
            self._crowds.load_many(chunk, partial(self._read, chunk, now), now.timestamp())

    def _refresh_reused(self) -> None:
        """The refresher thread: every tick, the crowds reused since the last one, read together."""
        while not self._stop.wait(PROFILE_REFRESH_S):
            reused, self._reused = self._reused, set()
            try:
                self._reload(sorted(reused))
            except Exception:  # the bus degrades by itself; a bug here must not stop the refreshes
                log.exception("refreshing %d crowds failed", len(reused))

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
        read = self._crowds.get(screen_id, now.timestamp())
        snap = self.state.fresh_snapshot() if read is not None else None
        if read is None or snap is None:
            return None
        self._reused.add(screen_id)
        return self._rank(read.profile, snap, k, now, None)

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
