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
from typing import Final

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


def thompson_parameters(
    claims: np.ndarray, impressions: np.ndarray, pacing: PacingConfig
) -> tuple[np.ndarray, np.ndarray]:
    """``(alpha, beta)`` of each coupon's Beta(prior + claims, prior + non-claims) claim rate."""
    alpha = pacing.prior_claims + claims
    beta = pacing.prior_impressions - pacing.prior_claims + np.maximum(impressions - claims, 0.0)
    return alpha, np.maximum(beta, 1e-3)


@dataclass(frozen=True)
class Slate:
    """Chosen rows in display order, the diversity penalty each paid, and which were explored."""

    rows: list[int]
    diversity_penalty: list[float]
    explored: list[bool]


HEAD_ROWS: Final = 16
"""Rows per category put in walking order up front; a walk that needs more sorts that category whole."""


def category_rows(candidates: np.ndarray, category_idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per category index, the candidate rows of that category (ascending)."""
    rows = np.flatnonzero(candidates)
    cats = category_idx[rows]
    n_categories = int(category_idx.max()) + 1 if len(category_idx) else 0
    return tuple(rows[cats == c] for c in range(n_categories))


def _walking_order(rows: np.ndarray, score: np.ndarray, head: int | None) -> list[int]:
    """``rows`` best score first, ties by lower row; only the first ``head`` (and rows tied with the
    last of them) when ``head`` is given."""
    values = score[rows]
    if head is not None and len(rows) > head:
        threshold = np.partition(values, len(rows) - head)[len(rows) - head]
        keep = values >= threshold  # every row tied with the head's last one: the prefix stays exact
        rows, values = rows[keep], values[keep]
    order: list[int] = rows[np.argsort(-values, kind="stable")].tolist()  # stable over ascending rows: ties by row
    return order


class CategoryOrder:
    """Candidate rows grouped by category, each group best score first (ties: lower row first).

    The diversity penalty is the same for every coupon of one category, so the best coupon after
    penalties is always the first usable one of some category: the greedy slate only has to look at
    one head per category instead of rescoring every coupon for every slot. A slate of k coupons
    skips few rows, so only the first :data:`HEAD_ROWS` of each category are sorted at first
    (a partition, not a sort of all 2,000); :meth:`whole` sorts the rest when a walk gets there.
    Shared between threads: two completing one group at once compute the same list.
    """

    def __init__(self, score: np.ndarray, by_category: tuple[np.ndarray, ...]) -> None:
        self.score, self.by_category = score, by_category
        self.rows = [_walking_order(rows, score, HEAD_ROWS) for rows in by_category]
        """Per category index, its candidate rows in walking order (a prefix until :meth:`whole`)."""

    @classmethod
    def of(cls, score: np.ndarray, candidates: np.ndarray, category_idx: np.ndarray) -> CategoryOrder:
        return cls(score, category_rows(candidates, category_idx))

    def complete(self, category: int) -> bool:
        return len(self.rows[category]) == len(self.by_category[category])

    def whole(self, category: int) -> list[int]:
        """The category's full walking order (its prefix unchanged)."""
        if not self.complete(category):
            self.rows[category] = _walking_order(self.by_category[category], self.score, None)
        return self.rows[category]


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
    order: CategoryOrder | None = None,
    store_of: list[int] | None = None,
) -> Slate:
    """Greedy slate: ``k - n_explore`` slots by penalised score, then ``n_explore`` by Thompson draw.

    Each exploit slot takes the eligible coupon with the highest ``base_score − diversity_weight ×
    (slots its category already has)``, the lowest row on a tie; a store leaves the pool once it has
    ``max_per_store`` slots. ``order`` (of ``base_score`` over a superset of ``eligible``) may be
    passed when it is cached, and ``store_of`` (``store_idx`` as a list); the walk skips rows that are
    not eligible, taken, or of a full store.
    """
    if order is None:
        order = CategoryOrder.of(base_score, eligible, category_idx)
    stores = store_idx.tolist() if store_of is None else store_of
    if exploration_draws is None:
        n_explore = 0
    taken: set[int] = set()
    full: set[int] = set()
    store_slots: dict[int, int] = {}
    category_slots = [0] * len(order.rows)
    heads = [0] * len(order.rows)
    rows: list[int] = []
    penalties: list[float] = []
    explored: list[bool] = []
    for slot in range(k):
        explore = slot >= k - n_explore
        if explore:
            assert exploration_draws is not None
            usable = eligible.copy()
            usable[list(taken)] = False
            for store in full:  # a handful at most; np.isin sorts, and costs more than these passes
                usable &= store_idx != store
            adjusted = np.where(usable, exploration_draws, -np.inf)
            best = int(np.argmax(adjusted))
            if not np.isfinite(adjusted[best]):
                continue
            penalty = diversity_weight * category_slots[int(category_idx[best])]
        else:
            best, best_value, penalty = -1, -np.inf, 0.0
            for c in range(len(order.rows)):
                group, i = order.rows[c], heads[c]
                while True:
                    while i < len(group) and (not eligible[group[i]] or group[i] in taken or stores[group[i]] in full):
                        i += 1
                    if i < len(group) or order.complete(c):
                        break
                    group = order.whole(c)
                heads[c] = i
                if i == len(group):
                    continue
                row, cost = group[i], diversity_weight * category_slots[c]
                value = base_score[row] - cost
                if value > best_value or (value == best_value and row < best):
                    best, best_value, penalty = row, value, cost
            if best < 0:
                break
        rows.append(best)
        penalties.append(-float(penalty))
        explored.append(explore)
        taken.add(best)
        category_slots[int(category_idx[best])] += 1
        store = int(store_idx[best])
        store_slots[store] = store_slots.get(store, 0) + 1
        if store_slots[store] >= max_per_store:
            full.add(store)
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
        out.append(min(max(float(p), 0.01), 1.0))
    return out
