"""Lead-in coupon ranking: audience match, weights and breakdowns, filters, one coupon per store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from recsys.audience import AudienceLift, StoreAudience
from recsys.leadin.rank import CouponCandidate, PacingConfig, RankedCoupon, StoreStats, rank_coupons
from recsys.profile import CrowdProfile

NOW = datetime(2024, 6, 14, 15, 0, tzinfo=UTC)
NO_EXPLORATION = {"exploration": 0.0}


def coupon(coupon_id: str, store_id: str, **kw: object) -> CouponCandidate:
    fields: dict[str, object] = dict(
        title=f"10% at {store_id}",
        store_category="fashion",
        kind="percent",
        value=10.0,
        valid_from=NOW - timedelta(days=1),
        valid_to=NOW + timedelta(days=30),
    )
    fields.update(kw)
    return CouponCandidate(coupon_id, store_id, **fields)  # type: ignore[arg-type]


def audience_of(visitors: dict[str, list[tuple[str, int]]], n: int = 50) -> StoreAudience:
    audience = StoreAudience()
    for store, people in visitors.items():
        for i in range(n):
            gender, age = people[i % len(people)]
            audience.add_visit(store, NOW.timestamp() - 3600, 15, gender, age)
    return audience


@pytest.fixture
def young_women() -> CrowdProfile:
    return CrowdProfile.from_explicit(
        {"faces": [{"gender": "female", "age": 21}, {"gender": "female", "age": 24}]}, NOW
    )


@pytest.fixture
def lift() -> AudienceLift:
    audience = audience_of(
        {
            "young-womens": [("female", 20), ("female", 23), ("female", 19)],
            "older-mens": [("male", 58), ("male", 66), ("male", 50)],
            "everyone": [("female", 30), ("male", 40), ("female", 60), ("male", 16)],
        }
    )
    return audience.lift(NOW.timestamp())


def rank(
    candidates: list[CouponCandidate],
    profile: CrowdProfile,
    lift: AudienceLift | None,
    weights: dict[str, float] | None = None,
    k: int = 5,
    stats: dict[str, StoreStats] | None = None,
    **kw: Any,
) -> list[RankedCoupon]:
    stats = stats or {s: StoreStats(visits=50) for s in {c.store_id for c in candidates}}
    return rank_coupons(
        candidates,
        profile,
        lift,
        stats,
        {**NO_EXPLORATION, **(weights or {})},
        k,
        NOW,
        np.random.default_rng(0),
        **kw,
    )


def test_young_women_crowd_ranks_young_womens_store_first(young_women: CrowdProfile, lift: AudienceLift) -> None:
    ranked = rank([coupon("a", "older-mens"), coupon("b", "young-womens")], young_women, lift)
    assert [r.store_id for r in ranked] == ["young-womens", "older-mens"]
    assert ranked[0].explain["audience_match"] > 0 > ranked[1].explain["audience_match"]


def test_older_men_crowd_ranks_the_other_way(lift: AudienceLift) -> None:
    men = CrowdProfile.from_explicit({"faces": [{"gender": "male", "age": 61}]}, NOW)
    ranked = rank([coupon("a", "older-mens"), coupon("b", "young-womens")], men, lift)
    assert ranked[0].store_id == "older-mens"


def test_score_is_the_sum_of_its_breakdown(young_women: CrowdProfile, lift: AudienceLift) -> None:
    ranked = rank(
        [coupon(f"c{i}", s) for i, s in enumerate(["older-mens", "young-womens", "everyone"])],
        young_women,
        lift,
        learned_scores=np.array([0.1, 0.5, -0.2]),
    )
    for r in ranked:
        assert r.score == pytest.approx(sum(r.explain.values()))
        assert {
            "audience_match",
            "popularity",
            "efficiency",
            "crowding",
            "coupon_strength",
            "learned",
        } <= set(r.explain)


def test_weight_change_moves_ranking_as_breakdown_says(young_women: CrowdProfile, lift: AudienceLift) -> None:
    matched = coupon("matched", "young-womens", value=5.0)
    deep = coupon("deep", "older-mens", value=50.0, store_category="sports")
    before = rank([matched, deep], young_women, lift)
    assert before[0].coupon_id == "matched"
    by_id = {r.coupon_id: r for r in before}
    strength_gap = by_id["deep"].explain["coupon_strength"] - by_id["matched"].explain["coupon_strength"]
    score_gap = by_id["matched"].score - by_id["deep"].score
    assert strength_gap > 0
    default_strength = 0.5
    # The breakdown says how much more coupon_strength weight overturns the order: gap / per-unit gap.
    needed = default_strength * (1 + score_gap / strength_gap) * 1.05
    after = rank([matched, deep], young_women, lift, weights={"coupon_strength": needed})
    assert after[0].coupon_id == "deep"
    slightly = rank([matched, deep], young_women, lift, weights={"coupon_strength": needed / 1.05 * 0.95})
    assert slightly[0].coupon_id == "matched"


def test_zero_weight_removes_a_component_from_the_score(young_women: CrowdProfile, lift: AudienceLift) -> None:
    ranked = rank(
        [coupon("a", "older-mens"), coupon("b", "young-womens")],
        young_women,
        lift,
        weights={"audience_match": 0.0},
    )
    assert all(r.explain["audience_match"] == 0.0 for r in ranked)


def test_invalid_coupons_never_appear(young_women: CrowdProfile, lift: AudienceLift) -> None:
    invalid = [
        coupon("expired", "young-womens", valid_to=NOW - timedelta(seconds=1)),
        coupon("not-yet", "young-womens", valid_from=NOW + timedelta(hours=1)),
        coupon("inactive", "young-womens", active=False),
        coupon("capped", "young-womens", daily_cap=10, claims_today=10),
        coupon("out-of-stock", "young-womens", total_stock=100, claims_total=100),
    ]
    valid = coupon("valid", "older-mens")
    for explore in (0.0, 1.0):
        ranked = rank(invalid + [valid], young_women, lift, weights={"exploration": explore}, k=10)
        assert [r.coupon_id for r in ranked] == ["valid"]


def test_at_most_one_coupon_per_store(young_women: CrowdProfile, lift: AudienceLift) -> None:
    candidates = [
        coupon(f"{s}-{j}", s, value=5.0 + j) for s in ("young-womens", "older-mens", "everyone") for j in range(4)
    ]
    for explore in (0.0, 0.5, 1.0):
        ranked = rank(candidates, young_women, lift, weights={"exploration": explore}, k=5)
        stores = [r.store_id for r in ranked]
        assert len(stores) == len(set(stores)) == 3
    ranked = rank(candidates, young_women, lift, k=5, max_per_store=2)
    assert max(sum(r.store_id == s for r in ranked) for s in {r.store_id for r in ranked}) == 2
    assert ranked[0].coupon_id == "young-womens-3"  # deepest coupon of the best-matched store


def test_category_diversity_penalises_repeated_categories(young_women: CrowdProfile, lift: AudienceLift) -> None:
    candidates = [
        coupon("a", "young-womens"),
        coupon("b", "everyone"),
        coupon("c", "older-mens", store_category="food"),
    ]
    ranked = rank(candidates, young_women, lift, weights={"category_diversity": 10.0, "audience_match": 0.1})
    assert ranked[1].coupon_id == "c" and ranked[1].explain["category_diversity"] == 0.0
    assert ranked[2].explain["category_diversity"] == pytest.approx(-10.0)


def test_crowded_store_is_penalised(young_women: CrowdProfile, lift: AudienceLift) -> None:
    stats = {
        "young-womens": StoreStats(visits=50, crowd_now=40, capacity=20),
        "everyone": StoreStats(visits=50),
    }
    ranked = rank(
        [coupon("a", "young-womens"), coupon("b", "everyone")],
        young_women,
        lift,
        weights={"crowding": 10.0},
        stats=stats,
    )
    assert ranked[0].store_id == "everyone"
    assert ranked[1].explain["crowding"] == pytest.approx(-10.0)


def test_pacing_holds_back_a_coupon_ahead_of_its_daily_schedule(young_women: CrowdProfile, lift: AudienceLift) -> None:
    morning = NOW.replace(hour=11)  # 1/11 of the opening hours gone, 9 of 10 claims used
    ahead = coupon("ahead", "young-womens", daily_cap=10, claims_today=9)
    on_schedule = coupon("fine", "older-mens", daily_cap=10, claims_today=0)
    ranked = rank_coupons(
        [ahead, on_schedule],
        young_women,
        lift,
        None,
        NO_EXPLORATION,
        5,
        morning,
        np.random.default_rng(0),
        pacing=PacingConfig(open_hour=10, close_hour=21),
    )
    assert [r.coupon_id for r in ranked] == ["fine"]
    evening = NOW.replace(hour=20, minute=30)
    ranked = rank_coupons(
        [ahead, on_schedule], young_women, lift, None, NO_EXPLORATION, 5, evening, np.random.default_rng(0)
    )
    assert {r.coupon_id for r in ranked} == {"ahead", "fine"}


def test_exploration_gives_slots_to_coupons_the_greedy_ranking_skips(
    young_women: CrowdProfile, lift: AudienceLift
) -> None:
    stores = [f"s{i}" for i in range(20)]
    candidates = [coupon(f"c{i}", s, value=40.0 - i, impressions=1000, claims_total=10) for i, s in enumerate(stores)]
    candidates[-1] = replace(candidates[-1], impressions=0, claims_total=0)  # new, weakest coupon
    stats = {s: StoreStats(visits=50) for s in stores}
    rng = np.random.default_rng(0)
    shown = [
        r
        for _ in range(50)
        for r in rank_coupons(candidates, young_women, None, stats, {"exploration": 0.4}, 5, NOW, rng)
        if r.explored
    ]
    assert shown and sum(r.coupon_id == "c19" for r in shown) > len(shown) / 4
    greedy = rank(candidates, young_women, None, stats=stats)
    assert "c19" not in {r.coupon_id for r in greedy} and not any(r.explored for r in greedy)


def test_empty_crowd_and_unknown_store_are_neutral(lift: AudienceLift) -> None:
    empty = CrowdProfile.empty(NOW)
    ranked = rank([coupon("a", "young-womens"), coupon("b", "brand-new-store")], empty, lift)
    assert len(ranked) == 2 and all(r.explain["audience_match"] == 0.0 for r in ranked)


def test_propensities_are_one_without_randomness_and_lower_for_explored_or_paced_slots() -> None:
    """Issue 12: each returned coupon carries the probability the policy showed it."""
    now = datetime(2026, 1, 5, 15, tzinfo=UTC)
    coupons = [
        CouponCandidate(
            f"c{i}", f"s{i}", f"c{i}", f"cat{i}", "percent", 10.0 + i, now - timedelta(days=1), now + timedelta(days=30)
        )
        for i in range(12)
    ]
    profile = CrowdProfile.from_shares({"female:25-34": 1.0}, now)
    rng = np.random.default_rng(0)
    fixed = rank_coupons(coupons, profile, None, None, {"exploration": 0.0}, 5, now, rng)
    assert [c.propensity for c in fixed] == [1.0] * 5
    exploring = rank_coupons(coupons, profile, None, None, {"exploration": 0.3}, 5, now, rng)
    assert all(0.01 <= c.propensity <= 1.0 for c in exploring)
    assert exploring[-1].propensity < 1.0  # the last slot is an exploration slot some of the time
    assert all(c.propensity < 0.5 for c in exploring if c.explored)
