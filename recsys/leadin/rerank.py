"""Re-ranking of scored coupons: pacing, one coupon per store, category diversity, exploration.

The heuristic score says how good a coupon is for this crowd in isolation; a screen shows a *slate*.
The slate is built greedily (the maximal-marginal-relevance pattern of Carbonell & Goldstein, 1998):
each slot takes the best remaining coupon after a penalty for every coupon of the same store category
already on the slate, and a store's coupons leave the pool once it has ``max_per_store`` slots, so
the crowd is spread over stores. A share of slots goes to Thompson sampling on each coupon's claim
rate (Chapelle & Li, 2011) so new coupons earn the impressions they need to be judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class PacingConfig:
    """Opening hours (mall-local) over which a daily cap should be spread, and the tolerance ahead."""

    open_hour: float = 10.0
    close_hour: float = 21.0
    slack: float = 0.15
    prior_claims: float = 1.0
    prior_impressions: float = 20.0


def day_fraction(now: datetime, pacing: PacingConfig) -> float:
    hour = now.hour + now.minute / 60.0 + now.second / 3600.0
    span = max(pacing.close_hour - pacing.open_hour, 1e-9)
    return float(np.clip((hour - pacing.open_hour) / span, 0.0, 1.0))


def pacing_probability(
    claims_today: np.ndarray, daily_cap: np.ndarray, fraction_of_day: float, slack: float
) -> np.ndarray:
    """Probability of showing each coupon now: 1 while its claims are on schedule for the cap.

    A coupon that has used ``fraction_of_day`` of its cap is on schedule; the probability falls
    linearly to 0 at ``fraction_of_day + slack`` of the cap, so a morning rush cannot exhaust it
    before the afternoon crowd arrives. Uncapped coupons are never throttled.
    """
    used = np.where(np.isfinite(daily_cap), claims_today / np.maximum(daily_cap, 1.0), 0.0)
    allowed = min(fraction_of_day + slack, 1.0)
    return np.clip((allowed - used) / max(slack, 1e-9), 0.0, 1.0)


def thompson_draws(
    claims: np.ndarray, impressions: np.ndarray, rng: np.random.Generator, pacing: PacingConfig
) -> np.ndarray:
    """One draw per coupon from Beta(prior + claims, prior + non-claims)."""
    alpha = pacing.prior_claims + claims
    beta = pacing.prior_impressions - pacing.prior_claims + np.maximum(impressions - claims, 0.0)
    return rng.beta(alpha, np.maximum(beta, 1e-3))


@dataclass(frozen=True)
class Slate:
    """Chosen rows in display order, the diversity penalty each paid, and which were explored."""

    rows: list[int]
    diversity_penalty: list[float]
    explored: list[bool]


def build_slate(
    base_score: np.ndarray,
    eligible: np.ndarray,
    store_idx: np.ndarray,
    category_idx: np.ndarray,
    k: int,
    max_per_store: int,
    diversity_weight: float,
    exploration_draws: np.ndarray | None = None,
    n_explore: int = 0,
) -> Slate:
    """Greedy slate: ``k - n_explore`` slots by penalised score, then ``n_explore`` by Thompson draw."""
    eligible = eligible.copy()
    score = np.where(eligible, base_score, -np.inf)
    store_slots = np.zeros(int(store_idx.max()) + 1 if len(store_idx) else 0, dtype=np.int64)
    category_slots = np.zeros(int(category_idx.max()) + 1 if len(category_idx) else 0)
    rows: list[int] = []
    penalties: list[float] = []
    explored: list[bool] = []
    if exploration_draws is None:
        exploration_draws, n_explore = base_score, 0
    n_exploit = k - n_explore
    for slot in range(k):
        explore = slot >= n_exploit
        penalty = diversity_weight * category_slots[category_idx]
        adjusted = np.where(eligible, exploration_draws, -np.inf) if explore else score - penalty
        best = int(np.argmax(adjusted))
        if not np.isfinite(adjusted[best]):
            if explore:
                continue
            break
        rows.append(best)
        penalties.append(-float(penalty[best]))
        explored.append(explore)
        eligible[best] = False
        score[best] = -np.inf
        category_slots[category_idx[best]] += 1
        store_slots[store_idx[best]] += 1
        if store_slots[store_idx[best]] >= max_per_store:
            same_store = store_idx == store_idx[best]
            eligible[same_store] = False
            score[same_store] = -np.inf
    return Slate(rows, penalties, explored)


def slate_propensities(
    slate: Slate, paced: np.ndarray, eligible_after: int, exploration_share: float, k: int
) -> list[float]:
    """Probability with which the policy put each slate coupon there, for off-policy evaluation.

    The slate's randomness is the pacing draw (coupon ``c`` stays eligible with ``paced[c]``), the
    stochastic rounding of ``exploration_share × k`` exploration slots, and the Thompson draws. A
    coupon ranked at exploit position ``j`` is shown when it survives pacing and slot ``j`` is not
    turned into an exploration slot, or else when an exploration slot draws it; an explored coupon
    when an exploration slot draws it. Thompson draws are approximated as uniform over the
    ``eligible_after`` coupons left once the exploit slots are filled (Li et al., 2011, log the
    probability of the action actually taken; an approximation is recorded as one, in
    ``docs/evaluation.md``). Values are clipped to [0.01, 1] so importance weights stay bounded.
    """
    expected = min(max(exploration_share, 0.0), 1.0) * k
    floor, frac = int(expected), expected - int(expected)
    draw = min(max(expected, 1.0) / max(eligible_after, 1), 1.0) if expected > 0 else 0.0
    out = []
    for position, (row, explored) in enumerate(zip(slate.rows, slate.explored, strict=True)):
        if explored:
            p = draw
        else:
            slots_after = k - position  # exploit iff n_explore < slots_after
            exploit = 1.0 if slots_after > floor + 1 else (1.0 - frac if slots_after == floor + 1 else 0.0)
            p = float(paced[row]) * exploit + (1.0 - exploit) * draw
        out.append(float(np.clip(p, 0.01, 1.0)))
    return out
