"""Off-policy evaluation of a coupon ranking on logged slates: IPS, SNIPS and doubly robust.

A logged slate is the coupons one screen showed one crowd, each with the propensity the serving
policy logged (:func:`recsys.leadin.rerank.slate_propensities`) and whether it was claimed. A
target policy gives, for the same crowd and time, the probability ``π(c | x)`` that it would show
each coupon (1 or 0 for a deterministic ranking). Under the item-position model (a claim on a coupon
depends on the crowd and the coupon, not on its neighbours: Li et al., 2018, "Offline Evaluation of
Ranking Policies with Click Models") the claims per slate of the target are estimated by

- **IPS**: ``Σ_shown π/p · claimed`` per slate (Horvitz & Thompson, 1952), unbiased, high variance;
- **SNIPS**: IPS divided by the mean importance weight per shown slot (Swaminathan & Joachims, 2015),
  slightly biased, far steadier;
- **DR**: the claim model's expected claims of the target's slate plus the IPS-weighted residuals of
  what was logged (Dudík, Langford & Li, 2011), unbiased when either the model or the propensities
  are right.

Figures are reported per shown coupon (claims per slate / ``k``) so they read like the logged claim
rate, each with a 95 % bootstrap interval over slates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

import numpy as np

from recsys.audience import AudienceLift
from recsys.leadin.model import CouponImpression
from recsys.leadin.rank import rank_coupons
from recsys.leadin.scorers import CouponScorer
from recsys.leadin.table import CouponTable, StoreTable
from recsys.profile import CrowdProfile

BOOTSTRAP: Final = 200
ESTIMATORS: Final = ("ips", "snips", "dr")


@dataclass(frozen=True)
class LoggedSlate:
    """One logged slate; ``rows`` index the candidate table (-1 for a coupon no longer in it)."""

    ts: float
    profile: CrowdProfile
    rows: np.ndarray
    propensities: np.ndarray
    claimed: np.ndarray


@dataclass(frozen=True)
class PolicyEstimate:
    """Estimated claims per shown coupon of one policy, with 95 % bootstrap intervals."""

    policy: str
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    slates: int
    logged_rate: float
    """Claims per impression actually observed on the same slates."""

    def as_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            **{name: {"value": v, "ci95": list(self.intervals[name])} for name, v in self.values.items()},
            "slates": self.slates,
            "logged_rate": self.logged_rate,
        }


SlatePolicy = Callable[[LoggedSlate], np.ndarray]
"""Inclusion probability of every candidate row for the slate's crowd and time."""
RewardModel = Callable[[LoggedSlate], np.ndarray]
"""Predicted claim probability of every candidate row for the slate's crowd and time."""


def estimate_policy(
    name: str, slates: Sequence[LoggedSlate], policy: SlatePolicy, reward: RewardModel, k: int, seed: int = 0
) -> PolicyEstimate:
    """IPS, SNIPS and DR of ``policy`` on ``slates`` (see the module docstring)."""
    if not slates:
        raise ValueError("no logged slates with propensities; screens must log `propensity` with each impression")
    n = len(slates)
    ips, weight_sum, dr = np.zeros(n), np.zeros(n), np.zeros(n)
    claims = impressions = 0.0
    for s, slate in enumerate(slates):
        pi, r_hat = policy(slate), reward(slate)
        known = slate.rows >= 0
        rows = np.where(known, slate.rows, 0)
        weights = np.where(known, pi[rows], 0.0) / slate.propensities
        claimed = slate.claimed.astype(np.float64)
        ips[s] = weights @ claimed
        weight_sum[s] = weights.sum()
        dr[s] = pi @ r_hat + weights @ (claimed - np.where(known, r_hat[rows], 0.0))
        claims += claimed.sum()
        impressions += len(claimed)
    values = _estimators(ips, weight_sum, dr, k, np.arange(n))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [list(_estimators(ips, weight_sum, dr, k, rng.integers(0, n, n)).values()) for _ in range(BOOTSTRAP)]
    )
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    intervals = {e: (float(low[i]), float(high[i])) for i, e in enumerate(ESTIMATORS)}
    return PolicyEstimate(name, values, intervals, n, claims / max(impressions, 1.0))


def _estimators(ips: np.ndarray, weight_sum: np.ndarray, dr: np.ndarray, k: int, idx: np.ndarray) -> dict[str, float]:
    total_weight = weight_sum[idx].sum()
    snips = ips[idx].sum() / total_weight if total_weight > 0 else 0.0
    return {"ips": float(ips[idx].mean()) / k, "snips": float(snips), "dr": float(dr[idx].mean()) / k}


def beats(candidate: PolicyEstimate, current: PolicyEstimate, estimator: str = "dr", min_gain: float = 0.0) -> bool:
    """The candidate's estimate is ahead of the current policy's by more than ``min_gain`` (absolute rate)."""
    return candidate.values[estimator] > current.values[estimator] + min_gain


def slates_from_impressions(impressions: Sequence[CouponImpression], table: CouponTable) -> list[LoggedSlate]:
    """Group impressions with a logged propensity into slates (one screen's coupons share one timestamp)."""
    row_of = {c: i for i, c in enumerate(table.coupon_ids)}
    groups: dict[float, list[CouponImpression]] = {}
    for impression in impressions:
        if impression.propensity is not None:
            groups.setdefault(impression.ts, []).append(impression)
    return [
        LoggedSlate(
            ts,
            group[0].profile,
            np.array([row_of.get(i.coupon.coupon_id, -1) for i in group]),
            np.array([float(i.propensity or 1.0) for i in group]),
            np.array([i.claimed for i in group]),
        )
        for ts, group in sorted(groups.items())
    ]


def ranking_policy(
    table: CouponTable,
    stores: StoreTable | None,
    lifts: Mapping[str, AudienceLift | None],
    weights: Mapping[str, float],
    model: CouponScorer | None,
    k: int,
) -> SlatePolicy:
    """The ranking with ``weights`` and ``model`` as a deterministic policy: 1 for the rows it would show.

    Exploration is off, today's caps are lifted (they belong to the day being replayed, not to now)
    and coupons count as started (today's catalog replayed over past crowds), so the estimate is of
    the ranking itself.
    """
    counters = table.with_counters(np.zeros(len(table)), table.claims_total, table.impressions)
    uncapped = replace(counters, valid_from=np.full(len(table), -np.inf), _joins={})
    reps = model.item_representations(table) if model is not None and len(table) else None
    reference = model.reference_logit if model is not None else None
    row_of = {c: i for i, c in enumerate(table.coupon_ids)}
    no_exploration = {**weights, "exploration": 0.0}
    rng = np.random.default_rng(0)

    def policy(slate: LoggedSlate) -> np.ndarray:
        learned = model.score(slate.profile, reps) if model is not None and reps is not None else None
        now = datetime.fromtimestamp(slate.ts, UTC)
        lift = lifts.get(slate.profile.context.daypart)
        ranked = rank_coupons(
            uncapped, slate.profile, lift, stores, no_exploration, k, now, rng, learned, learned_reference=reference
        )
        pi = np.zeros(len(table))
        pi[[row_of[r.coupon_id] for r in ranked]] = 1.0
        return pi

    return policy


def model_reward(model: CouponScorer, table: CouponTable) -> RewardModel:
    """Claim probabilities of every candidate from a (calibrated) claim model, for DR."""
    reps = model.item_representations(table)
    return lambda slate: 0.5 * (1.0 + np.tanh(0.5 * model.score(slate.profile, reps)))
