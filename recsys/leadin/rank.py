"""Lead-in screen coupon ranking: send each crowd to stores that fit it, and spread the crowd.

``score = Σ weight[c] × component[c]`` over :data:`COMPONENTS` (see :mod:`recsys.leadin.components`
for what each one measures and how it is normalised), then a slate is built by
:mod:`recsys.leadin.rerank`: at most ``max_per_store`` coupons per store, a penalty for repeating a
store category, an ``exploration`` share of slots drawn by Thompson sampling, and pacing against
daily caps. Invalid coupons (inactive, outside validity, capped today, out of stock) are removed
before anything else and can never appear.

Every returned coupon carries ``explain``: component → component × weight, plus the
``category_diversity`` penalty it paid; ``score`` is exactly the sum of ``explain``, so raising a
weight moves coupons the way their breakdowns say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from recsys.audience import AudienceLift
from recsys.leadin import components as comp
from recsys.leadin.components import COMPONENTS
from recsys.leadin.rerank import PacingConfig, build_slate, slate_propensities
from recsys.leadin.stages import ScoreFrame, clock_scores, crowd_scores, exploration_slots, score_frame
from recsys.leadin.table import CouponCandidate, CouponTable, RankedCoupon, StoreStats, StoreTable
from recsys.profile import CrowdProfile

__all__ = [
    "COMPONENTS",
    "CouponCandidate",
    "CouponTable",
    "PacingConfig",
    "RankedCoupon",
    "StoreStats",
    "StoreTable",
    "component_matrix",
    "draw_slate",
    "rank_coupons",
]


def component_matrix(
    table: CouponTable,
    profile: CrowdProfile,
    audience: AudienceLift | None,
    stores: StoreTable | None,
    now_ts: float,
    valid: np.ndarray,
    learned_scores: np.ndarray | None = None,
    learned_reference: float | None = None,
) -> np.ndarray:
    """Unweighted components, shape ``(len(COMPONENTS), n_coupons)``, rows in :data:`COMPONENTS` order."""
    popularity, efficiency, crowding = comp.store_columns(table, stores)
    return np.stack(
        [
            comp.audience_match(table, profile, audience),
            popularity,
            efficiency,
            crowding,
            comp.coupon_strength(table, now_ts),
            comp.learned(learned_scores, valid, learned_reference),
        ]
    )


def _as_table(candidates: Sequence[CouponCandidate] | CouponTable) -> CouponTable:
    return candidates if isinstance(candidates, CouponTable) else CouponTable.from_candidates(candidates)


def _as_stores(stats: Mapping[str, StoreStats] | StoreTable | None) -> StoreTable | None:
    if stats is None or isinstance(stats, StoreTable):
        return stats
    return StoreTable.from_stats(stats)


def rank_coupons(
    candidates: Sequence[CouponCandidate] | CouponTable,
    profile: CrowdProfile,
    store_audiences: AudienceLift | None,
    stats: Mapping[str, StoreStats] | StoreTable | None,
    weights: Mapping[str, float] | None,
    k: int,
    now: datetime,
    rng: np.random.Generator,
    learned_scores: np.ndarray | None = None,
    max_per_store: int = 1,
    pacing: PacingConfig | None = None,
    learned_reference: float | None = None,
) -> list[RankedCoupon]:
    """Top-``k`` slate for one crowd, every stage computed from scratch.

    ``now`` must be timezone-aware mall-local time (pacing reads the hour); the ranking clock reads
    it in whole seconds (:mod:`recsys.leadin.stages`). ``weights`` may be a partial mapping; missing
    names take their :mod:`recsys.weights` default. ``learned_scores`` are raw model scores aligned
    with the candidates (NaN where the model has none); ``learned_reference`` is the calibrated
    model's average log-odds (see :func:`recsys.leadin.components.learned`). A service ranking many
    requests uses :class:`recsys.leadin.ranker.CouponRanker`, which returns the same slates.
    """
    if k <= 0:
        return []
    if max_per_store < 1:
        raise ValueError(f"max_per_store must be at least 1, got {max_per_store}")
    table = _as_table(candidates)
    if len(table) == 0:
        return []
    clock = clock_scores(table, _as_stores(stats), weights, now, pacing)
    crowd = crowd_scores(table, profile, store_audiences, learned_scores, learned_reference)
    return draw_slate(score_frame(clock, crowd), k, rng, max_per_store)


def draw_slate(frame: ScoreFrame, k: int, rng: np.random.Generator, max_per_store: int = 1) -> list[RankedCoupon]:
    """The per-request part of a ranking: pacing and exploration draws, the greedy walk, propensities.

    The draws are taken from ``rng`` in a fixed order (pacing, the exploration slot count, then the
    Thompson draws when a slot explores), so the same generator state gives the same slate.
    """
    clock, table = frame.clock, frame.clock.table
    w = clock.weights
    eligible = clock.valid & (rng.random(len(table)) < clock.paced)
    n_explore = exploration_slots(w["exploration"], k, float(rng.random()))
    draws = rng.beta(*clock.thompson) if n_explore > 0 else None
    slate = build_slate(
        frame.base,
        eligible,
        table.store_idx,
        table.category_idx,
        k,
        max_per_store,
        w["category_diversity"],
        draws,
        n_explore,
        order=frame.order,
        store_of=clock.store_of,
    )
    left = int(eligible.sum()) - sum(not e for e in slate.explored)
    propensities = slate_propensities(slate, clock.paced, left, w["exploration"], k)
    out: list[RankedCoupon] = []
    for row, penalty, explored, propensity in zip(
        slate.rows, slate.diversity_penalty, slate.explored, propensities, strict=True
    ):
        explain = frame.explain(row)
        explain["category_diversity"] = penalty
        out.append(
            RankedCoupon(
                coupon_id=table.coupon_ids[row],
                store_id=table.store_ids[table.store_idx[row]],
                title=table.titles[row],
                score=float(frame.base[row] + penalty),
                explain=explain,
                explored=explored,
                propensity=propensity,
            )
        )
    return out
