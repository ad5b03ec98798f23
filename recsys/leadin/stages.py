"""The three stages of a lead-in ranking, split by what each depends on so that each can be reused.

``score = Σ weight[c] × component[c]`` (:mod:`recsys.leadin.rank`) mixes parts that change at very
different rates. Per request only the pacing and exploration draws must be fresh; the rest is a
function of inputs that a worker sees many times over:

- :class:`ClockScores` — everything that does not depend on the crowd (validity, pacing
  probabilities, store columns, coupon strength, Thompson parameters), a function of the coupon
  table with its live counters, the store table, the weights and the *second* of the ranking clock;
- :class:`CrowdScores` — the crowd's parts (audience match, the learned model's score), a function
  of the crowd profile, the coupon set, the audience lift and the bound model;
- :class:`ScoreFrame` — both combined for one (clock, crowd) pair: the weighted components, their
  sum, and the valid coupons sorted per category for the greedy slate walk.

:func:`recsys.leadin.rank.rank_coupons` computes the three from scratch on every call;
:class:`recsys.leadin.ranker.CouponRanker` memoises them. Both then draw the slate with the same
code, so a memoised ranking is the from-scratch ranking, bit for bit (the test of issue 12 checks).

The ranking clock ticks in whole seconds: validity, pacing and urgency are read at the start of the
second (a coupon counts as valid only if it is valid for the whole second), which is what makes the
crowd-independent part shareable by every request of that second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from recsys.audience import AudienceLift
from recsys.leadin import components as comp
from recsys.leadin.components import COMPONENTS
from recsys.leadin.rerank import (
    CategoryOrder,
    PacingConfig,
    category_rows,
    day_fraction,
    pacing_probability,
    thompson_parameters,
)
from recsys.leadin.table import CouponTable, StoreTable
from recsys.profile import CrowdProfile
from recsys.weights import default_weights

CLOCK_COMPONENTS = ("popularity", "efficiency", "crowding", "coupon_strength")
"""The components of :data:`COMPONENTS` that do not depend on the crowd, in that order."""
assert ("audience_match", *CLOCK_COMPONENTS, "learned") == COMPONENTS


def clock_second(now: datetime) -> datetime:
    """The tick of the ranking clock that ``now`` falls in (whole seconds)."""
    return now.replace(microsecond=0)


def full_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    """Every weight by name: ``weights`` over the :mod:`recsys.weights` defaults."""
    return {**default_weights(), **(weights or {})}


@dataclass(frozen=True, eq=False)
class ClockScores:
    """The crowd-independent part of a ranking at one second (see the module docstring)."""

    table: CouponTable
    stores: StoreTable | None
    weights: dict[str, float]
    pacing: PacingConfig
    second: datetime
    valid: np.ndarray
    """Valid for the whole second: active, within validity, under today's cap, stock left."""
    paced: np.ndarray
    """Probability that pacing lets each coupon be shown now."""
    weighted: np.ndarray
    """``(len(CLOCK_COMPONENTS), n)``: each component × its weight."""
    thompson: tuple[np.ndarray, np.ndarray]
    """Beta parameters of each coupon's claim rate, for the exploration slots."""
    store_of: list[int]
    """Each coupon's store index, as the slate walk reads it."""
    valid_by_category: tuple[np.ndarray, ...]
    """The valid rows of each category, for the frames' walking orders."""


def clock_scores(
    table: CouponTable,
    stores: StoreTable | None,
    weights: Mapping[str, float] | None,
    now: datetime,
    pacing: PacingConfig | None = None,
) -> ClockScores:
    """Stage one: what every crowd shares during the second ``now`` falls in."""
    pacing = pacing or PacingConfig()
    w = full_weights(weights)
    second = clock_second(now)
    start = second.timestamp()
    valid = table.valid_mask(start, until_ts=start + 1.0)
    paced = pacing_probability(table.claims_today, table.daily_cap, day_fraction(second, pacing), pacing.slack)
    popularity, efficiency, crowding = comp.store_columns(table, stores)
    rows = (popularity, efficiency, crowding, comp.coupon_strength(table, start))
    weighted = np.stack(rows) * np.array([w[name] for name in CLOCK_COMPONENTS])[:, None]
    thompson = thompson_parameters(table.claims_total, table.impressions, pacing)
    by_category = category_rows(valid, table.category_idx)
    return ClockScores(
        table, stores, w, pacing, second, valid, paced, weighted, thompson, table.store_idx.tolist(), by_category
    )


@dataclass(frozen=True, eq=False)
class CrowdScores:
    """The crowd's part of a ranking, unweighted (weights are applied in :func:`score_frame`)."""

    audience_match: np.ndarray
    learned: np.ndarray | None
    """The learned component when the model is calibrated, else its raw scores (or None: no model)."""
    calibrated: bool


def crowd_scores(
    table: CouponTable,
    profile: CrowdProfile,
    audience: AudienceLift | None,
    learned_scores: np.ndarray | None = None,
    learned_reference: float | None = None,
) -> CrowdScores:
    """Stage two: the crowd's fit to each coupon; the same whatever the second or the weights.

    A calibrated model's component is final here; an uncalibrated one is standardised over the
    coupons valid in the second (:func:`recsys.leadin.components.learned`), so its raw scores wait
    for :func:`score_frame`.
    """
    match = comp.audience_match(table, profile, audience)
    calibrated = learned_reference is not None
    learned = learned_scores
    if learned_scores is not None and calibrated:
        learned = comp.learned(learned_scores, np.ones(len(table), dtype=bool), learned_reference)
    return CrowdScores(match, learned, calibrated)


@dataclass(frozen=True, eq=False)
class ScoreFrame:
    """One crowd's scores at one second: what the per-request slate draw reads."""

    clock: ClockScores
    crowd: CrowdScores
    audience_weighted: np.ndarray
    learned_weighted: np.ndarray
    base: np.ndarray
    """``Σ weight × component`` per coupon, summed in :data:`COMPONENTS` order."""
    order: CategoryOrder
    """Valid coupons per category, best base score first, for the greedy walk."""

    def explain(self, row: int) -> dict[str, float]:
        """Component × weight of one coupon, by name, in :data:`COMPONENTS` order."""
        out = {"audience_match": float(self.audience_weighted[row])}
        for i, name in enumerate(CLOCK_COMPONENTS):
            out[name] = float(self.clock.weighted[i, row])
        out["learned"] = float(self.learned_weighted[row])
        return out


def score_frame(clock: ClockScores, crowd: CrowdScores) -> ScoreFrame:
    """Stage three: weight the crowd's components, add everything up and sort for the walk."""
    w, n = clock.weights, len(clock.table)
    learned = crowd.learned
    if learned is None:
        learned = np.zeros(n)
    elif not crowd.calibrated:
        learned = comp.learned(learned, clock.valid, None)
    audience_weighted = crowd.audience_match * w["audience_match"]
    learned_weighted = learned * w["learned"]
    base = audience_weighted.copy()
    for row in clock.weighted:  # the order of the sum in COMPONENTS: explain adds up the same way
        base += row
    base += learned_weighted
    order = CategoryOrder(base, clock.valid_by_category)
    return ScoreFrame(clock, crowd, audience_weighted, learned_weighted, base, order)


def exploration_slots(share: float, k: int, draw: float) -> int:
    """``share × k`` slots on average, rounded stochastically (``draw`` uniform in [0, 1)) so small shares explore."""
    expected = min(max(share, 0.0), 1.0) * k
    return int(expected) + int(draw < expected - int(expected))
