"""Score components of a lead-in coupon, each vectorised over all candidates and normalised.

Every component lands in [0, 1] (or [-1, 1] for signed ones, [-1, 0] for the crowding penalty), so an
ops weight of 2 on one component really means "twice as important as a weight of 1 on another".
"""

from __future__ import annotations

from typing import Final

import numpy as np

from recsys.audience import AudienceLift
from recsys.leadin.table import CouponTable, StoreTable
from recsys.profile import CrowdProfile

COMPONENTS: Final = ("audience_match", "popularity", "efficiency", "crowding", "coupon_strength", "learned")
EFFICIENCY_PRIOR_VISITS: Final = 50.0
FULL_DEPTH: Final = 0.5
"""A discount of half the typical basket already counts as the strongest possible."""
URGENCY_HORIZON_S: Final = 7 * 86_400.0


def audience_match(table: CouponTable, profile: CrowdProfile, lift: AudienceLift | None) -> np.ndarray:
    """tanh of the crowd-weighted log over-representation of its cells among the store's visitors.

    Zero for an empty crowd or a store without audience data (new stores are neutral, not punished).
    """
    out = np.zeros(len(table))
    if lift is None or profile.is_empty or not lift.store_ids:
        return out
    per_store = np.tanh(lift.log_lift @ profile.shares)
    rows = table.store_join(lift.store_ids, cache_key=lift)
    known = rows >= 0
    out[known] = per_store[rows[known]]
    return out


def store_columns(table: CouponTable, stores: StoreTable | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(popularity, efficiency, crowding)`` per coupon from its store's stats.

    Efficiency is the store's claims per visit shrunk toward the mall rate, mapped by
    ``rate / (rate + mall_rate)`` so that 0.5 means "as efficient as the mall".
    """
    n = len(table)
    if stores is None or not stores.store_ids:
        return np.zeros(n), np.full(n, 0.5), np.zeros(n)
    visits = stores.visits
    popularity_store = np.log1p(visits) / max(np.log1p(visits.max()), 1e-9)
    total_claims, total_visits = stores.claims.sum(), visits.sum()
    if total_claims > 0 and total_visits > 0:
        mall_rate = total_claims / total_visits
        rate = (stores.claims + EFFICIENCY_PRIOR_VISITS * mall_rate) / (visits + EFFICIENCY_PRIOR_VISITS)
        efficiency_store = rate / (rate + mall_rate)
    else:
        efficiency_store = np.full(len(visits), 0.5)
    crowding_store = -np.clip(stores.crowd_now / np.maximum(stores.capacity, 1e-9), 0.0, 1.0)
    rows = table.store_join(stores.store_ids, cache_key=stores)
    known = rows >= 0
    popularity, efficiency, crowding = np.zeros(n), np.full(n, 0.5), np.zeros(n)
    popularity[known] = popularity_store[rows[known]]
    efficiency[known] = efficiency_store[rows[known]]
    crowding[known] = crowding_store[rows[known]]
    return popularity, efficiency, crowding


def coupon_strength(table: CouponTable, now_ts: float) -> np.ndarray:
    """0.6 × discount depth + 0.2 × share of stock left + 0.2 × urgency of expiry, in [0, 1].

    Urgency rises over the last week of validity so that stock which would otherwise be wasted gets
    shown; depth dominates because it is what makes the walk worth it.
    """
    depth = np.clip(table.depth / FULL_DEPTH, 0.0, 1.0)
    finite = np.isfinite(table.total_stock)
    stock_left = np.ones(len(table))
    stock_left[finite] = np.clip(
        1.0 - table.claims_total[finite] / np.maximum(table.total_stock[finite], 1.0), 0.0, 1.0
    )
    urgency = 1.0 - np.clip((table.valid_to - now_ts) / URGENCY_HORIZON_S, 0.0, 1.0)
    return 0.6 * depth + 0.2 * stock_left + 0.2 * urgency


def learned(scores: np.ndarray | None, valid: np.ndarray, reference_logit: float | None = None) -> np.ndarray:
    """The learned model's view of each coupon, in (0, 1) or (-1, 1); missing (NaN) scores count as average.

    A calibrated claim model (``reference_logit`` = the log-odds of its training claim rate) gives
    ``tanh((logit − reference) / 2)`` — the odds ratio to an average coupon mapped to (-1, 1), 0 for an
    average coupon — which means the same for every crowd and every request, so a weight on it trades
    expected claims against the other components.
    Uncalibrated scores (LightFM logits drift between versions) are standardised over the valid
    candidates of the request and squashed by tanh instead.
    """
    if scores is None:
        return np.zeros(len(valid))
    raw = np.asarray(scores, dtype=np.float64)
    if reference_logit is not None:
        out = np.tanh(0.5 * (raw - reference_logit))
        return np.where(np.isfinite(out), out, 0.0)
    usable = valid & np.isfinite(raw)
    out = np.zeros(len(raw))
    if usable.sum() < 2:
        return out
    mean, std = raw[usable].mean(), raw[usable].std()
    out[usable] = np.tanh((raw[usable] - mean) / max(std, 1e-9))
    return out
