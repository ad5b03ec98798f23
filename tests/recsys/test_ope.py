"""Issue 12: off-policy estimates recover a target policy's claim rate from logged random slates."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recsys.leadin.ope import LoggedSlate, beats, estimate_policy
from recsys.profile import CrowdProfile

NOW = datetime(2026, 1, 5, 15, tzinfo=UTC)
YOUNG = CrowdProfile.from_shares({"female:18-24": 1.0}, NOW)
OLDER = CrowdProfile.from_shares({"male:55-64": 1.0}, NOW)
N_COUPONS, K = 10, 2
TRUE = {id(YOUNG): np.linspace(0.02, 0.4, N_COUPONS), id(OLDER): np.linspace(0.4, 0.02, N_COUPONS)}


def logged(n: int, seed: int) -> list[LoggedSlate]:
    """A uniformly random logging policy: each coupon is on the slate with probability K / N."""
    rng = np.random.default_rng(seed)
    slates = []
    for s in range(n):
        profile = YOUNG if rng.random() < 0.5 else OLDER
        rows = rng.choice(N_COUPONS, K, replace=False)
        claimed = rng.random(K) < TRUE[id(profile)][rows]
        slates.append(LoggedSlate(float(s), profile, rows, np.full(K, K / N_COUPONS), claimed))
    return slates


def top_k(slate: LoggedSlate) -> np.ndarray:
    pi = np.zeros(N_COUPONS)
    pi[np.argsort(TRUE[id(slate.profile)])[-K:]] = 1.0
    return pi


def worst_k(slate: LoggedSlate) -> np.ndarray:
    pi = np.zeros(N_COUPONS)
    pi[np.argsort(TRUE[id(slate.profile)])[:K]] = 1.0
    return pi


def noisy_model(slate: LoggedSlate) -> np.ndarray:
    return np.clip(TRUE[id(slate.profile)] * 1.15, 0, 1)


def truth(policy: object) -> float:
    values = [
        TRUE[id(p)][policy(LoggedSlate(0.0, p, np.zeros(0), np.zeros(0), np.zeros(0))) > 0].mean()  # type: ignore[operator]
        for p in (YOUNG, OLDER)
    ]
    return float(np.mean(values))


@pytest.mark.parametrize("estimator", ["ips", "snips", "dr"])
def test_each_estimator_brackets_the_target_policys_true_claim_rate(estimator: str) -> None:
    result = estimate_policy("top", logged(6000, seed=1), top_k, noisy_model, K)
    low, high = result.intervals[estimator]
    assert low <= truth(top_k) <= high
    assert abs(result.values[estimator] - truth(top_k)) < 0.03


def test_doubly_robust_is_tighter_than_ips_with_a_decent_model() -> None:
    result = estimate_policy("top", logged(3000, seed=2), top_k, noisy_model, K)
    width = {e: hi - lo for e, (lo, hi) in result.intervals.items()}
    assert width["dr"] < width["ips"]


def test_a_better_policy_beats_a_worse_one_and_not_the_reverse() -> None:
    slates = logged(3000, seed=3)
    good, bad = (estimate_policy(n, slates, p, noisy_model, K) for n, p in (("good", top_k), ("bad", worst_k)))
    assert beats(good, bad) and not beats(bad, good)
    assert good.logged_rate == pytest.approx(bad.logged_rate)


def test_no_logged_propensities_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="propensity"):
        estimate_policy("top", [], top_k, noisy_model, K)
