"""Issue 12, "serve it fast": the memoised ranker returns exactly what a from-scratch ranking returns.

The reference below is the ranking as it was before the stages were split and cached (one pass per
request: components, weights, a greedy slate rescoring every coupon per slot), kept verbatim so the
test can fail on any drift. Each request is ranked three ways from the same generator seed — the
reference, :func:`rank_coupons` and a long-lived :class:`CouponRanker` — across crowd changes,
clock seconds, weight changes, model swaps, counter refreshes and coupon uploads; slates, scores,
explanations, explored flags and propensities must be equal, not close.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recsys.audience import AudienceLift
from recsys.lab.leadin_bench import build_world
from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.components import COMPONENTS
from recsys.leadin.model import CouponImpression, coupon_features_of
from recsys.leadin.rank import RankedCoupon, component_matrix, rank_coupons
from recsys.leadin.ranker import BoundScorer, CouponRanker
from recsys.leadin.rerank import HEAD_ROWS, PacingConfig, Slate, day_fraction, pacing_probability, slate_propensities
from recsys.leadin.table import CouponTable, StoreTable
from recsys.profile import CrowdProfile
from recsys.weights import default_weights

# -- the reference: the pre-cache ranking of issue 12's first half ------------------------------


def reference_slate(
    base_score: np.ndarray,
    eligible: np.ndarray,
    store_idx: np.ndarray,
    category_idx: np.ndarray,
    k: int,
    max_per_store: int,
    diversity_weight: float,
    exploration_draws: np.ndarray | None,
    n_explore: int,
) -> tuple[list[int], list[float], list[bool]]:
    eligible = eligible.copy()
    score = np.where(eligible, base_score, -np.inf)
    store_slots = np.zeros(int(store_idx.max()) + 1, dtype=np.int64)
    category_slots = np.zeros(int(category_idx.max()) + 1)
    rows: list[int] = []
    penalties: list[float] = []
    explored: list[bool] = []
    if exploration_draws is None:
        exploration_draws, n_explore = base_score, 0
    for slot in range(k):
        explore = slot >= k - n_explore
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
    return rows, penalties, explored


def reference_rank(
    table: CouponTable,
    profile: CrowdProfile,
    lift: AudienceLift | None,
    stores: StoreTable,
    weights: Mapping[str, float],
    k: int,
    now: datetime,
    rng: np.random.Generator,
    learned_scores: np.ndarray | None,
    learned_reference: float | None,
    max_per_store: int = 1,
) -> list[RankedCoupon]:
    pacing = PacingConfig()
    w = {**default_weights(), **weights}
    now_ts = now.timestamp()
    valid = table.valid_mask(now_ts)
    paced = pacing_probability(table.claims_today, table.daily_cap, day_fraction(now, pacing), pacing.slack)
    eligible = valid & (rng.random(len(table)) < paced)
    weight_vec = np.array([w[name] for name in COMPONENTS])
    weighted = component_matrix(table, profile, lift, stores, now_ts, valid, learned_scores, learned_reference)
    weighted *= weight_vec[:, None]
    base = weighted.sum(axis=0)
    expected = min(max(w["exploration"], 0.0), 1.0) * k
    n_explore = int(expected) + int(rng.random() < expected - int(expected))
    draws = None
    if n_explore > 0:
        alpha = pacing.prior_claims + table.claims_total
        beta = pacing.prior_impressions - pacing.prior_claims + np.maximum(table.impressions - table.claims_total, 0)
        draws = rng.beta(alpha, np.maximum(beta, 1e-3))
    rows, penalties, explored = reference_slate(
        base, eligible, table.store_idx, table.category_idx, k, max_per_store, w["category_diversity"], draws, n_explore
    )
    left = int(eligible.sum()) - sum(not e for e in explored)
    propensities = slate_propensities(Slate(rows, penalties, explored), paced, left, w["exploration"], k)
    out = []
    for row, penalty, was_explored, propensity in zip(rows, penalties, explored, propensities, strict=True):
        explain = {name: float(weighted[i, row]) for i, name in enumerate(COMPONENTS)}
        explain["category_diversity"] = penalty
        out.append(
            RankedCoupon(
                table.coupon_ids[row],
                table.store_ids[table.store_idx[row]],
                table.titles[row],
                float(base[row] + penalty),
                explain,
                was_explored,
                propensity,
            )
        )
    return out


# -- the world -----------------------------------------------------------------------------------

START = datetime(2024, 6, 14, 15, 0, tzinfo=UTC)


def fit_model(table: CouponTable, seed: int) -> ClaimModel:
    rng = np.random.default_rng(seed)
    features = coupon_features_of(table)
    profiles = [
        CrowdProfile.from_shares({"female:18-24": 1.0}, START),
        CrowdProfile.from_shares({"male:45-54": 1.0}, START + timedelta(hours=3)),
    ]
    impressions = [
        CouponImpression(float(i), features[int(j)], profiles[i % 2], bool(rng.random() < 0.15))
        for i, j in enumerate(rng.integers(0, len(features), 1500))
    ]
    return ClaimModel(max_iter=15).fit(impressions)


@pytest.fixture(scope="module")
def world() -> dict[str, object]:
    coupons, audience, stats, _ = build_world(400, 60, seed=5)
    # Some coupons close to their daily cap, so pacing draws decide and propensities fall below 1.
    coupons = [replace(c, claims_today=c.daily_cap - 1) if i % 7 == 0 else c for i, c in enumerate(coupons)]
    table = CouponTable.from_candidates(coupons)
    return {
        "coupons": coupons,
        "table": table,
        "stores": StoreTable.from_stats(stats),
        "audience": audience,
        "models": (fit_model(table, 1), fit_model(table, 2)),
    }


def bind(model: ClaimModel, table: CouponTable) -> BoundScorer:
    reps = model.item_representations(table)
    return BoundScorer(lambda p: model.score(p, reps), model.reference_logit)


CROWDS = [
    {"faces": [{"gender": "female", "age": 23}, {"gender": "female", "age": 26}]},
    {"faces": [{"gender": "male", "age": 61}], "group": "solo"},
    {"faces": [{"gender": "female", "age": 35}, {"gender": "male", "age": 38}, {"age": 7}], "group": "family"},
    {"faces": []},
]


def same(a: list[RankedCoupon], b: list[RankedCoupon]) -> None:
    assert [r.coupon_id for r in a] == [r.coupon_id for r in b]
    assert a == b  # every field, floats compared for equality


def test_cached_ranking_equals_a_from_scratch_ranking_across_changes(world: dict[str, object]) -> None:
    table: CouponTable = world["table"]  # type: ignore[assignment]
    stores: StoreTable = world["stores"]  # type: ignore[assignment]
    models: tuple[ClaimModel, ClaimModel] = world["models"]  # type: ignore[assignment]
    audience = world["audience"]
    ranker = CouponRanker()
    weights: dict[str, float] = {"exploration": 0.3, "category_diversity": 0.3}
    model = models[0]
    bound = bind(model, table)
    lifts: dict[str, AudienceLift] = {}
    explored = paced_below_one = 0
    for step in range(160):
        second = START + timedelta(seconds=step // 4)  # four requests per second of the clock
        now = second + timedelta(microseconds=250_000 * (step % 4))
        if step == 42:  # mid-second, like every change below
            weights = {"exploration": 0.5, "category_diversity": 1.5, "learned": 2.0, "crowding": 3.0}
        if step == 62:  # a model swap: a new model, a new bound scorer
            model = models[1]
            bound = bind(model, table)
        if step % 10 == 5:  # live counters refresh: a new table object over the same coupons
            bump = np.arange(len(table)) % 3 == step % 3
            table = table.with_counters(table.claims_today + bump, table.claims_total + bump, table.impressions + 10)
        if step == 101:  # a coupon upload: one coupon more, rebuilt table, new coupon set
            coupons = [*world["coupons"], replace(world["coupons"][0], coupon_id="new", value=49.0)]  # type: ignore[index]
            table = CouponTable.from_candidates(coupons)
            bound = bind(model, table)
        if step == 130:  # the audiences reload: new lift objects
            lifts = {}
        profile = CrowdProfile.from_explicit(CROWDS[(step // 3) % len(CROWDS)], now)
        daypart = profile.context.daypart
        lift = lifts.setdefault(daypart, audience.lift(second.timestamp(), daypart))  # type: ignore[attr-defined]
        k, per_store = (5, 1) if step % 5 else (8, 2)
        seed = 1000 + step
        expected = reference_rank(
            table,
            profile,
            lift,
            stores,
            weights,
            k,
            second,
            np.random.default_rng(seed),
            bound.score(profile),
            bound.reference_logit,
            per_store,
        )
        cached = ranker.rank(
            table, profile, lift, stores, weights, k, now, np.random.default_rng(seed), bound, per_store
        )
        scratch = rank_coupons(
            table,
            profile,
            lift,
            stores,
            weights,
            k,
            now,
            np.random.default_rng(seed),
            bound.score(profile),
            per_store,
            learned_reference=bound.reference_logit,
        )
        same(cached, expected)
        same(scratch, expected)
        explored += sum(r.explored for r in cached)
        paced_below_one += sum(not r.explored and r.propensity < 1.0 for r in cached)
    assert explored > 10 and paced_below_one > 10, "the draws must be exercised, not only the greedy part"


def test_the_new_coupon_of_an_upload_can_win_at_once(world: dict[str, object]) -> None:
    table: CouponTable = world["table"]  # type: ignore[assignment]
    stores: StoreTable = world["stores"]  # type: ignore[assignment]
    ranker = CouponRanker()
    profile = CrowdProfile.from_explicit(CROWDS[0], START)
    only_strength = {name: 0.0 for name in COMPONENTS} | {"coupon_strength": 1.0, "exploration": 0.0}
    before = ranker.rank(table, profile, None, stores, only_strength, 5, START, np.random.default_rng(0))
    # Deepest discount, no stock limit, an hour left: the strongest coupon there can be.
    deep = replace(
        world["coupons"][0],  # type: ignore[index]
        coupon_id="deep",
        value=50.0,
        total_stock=None,
        claims_today=0,
        valid_to=START + timedelta(hours=1),
    )
    coupons = [*world["coupons"], deep]  # type: ignore[misc]
    after = ranker.rank(
        CouponTable.from_candidates(coupons), profile, None, stores, only_strength, 5, START, np.random.default_rng(0)
    )
    assert "deep" not in [r.coupon_id for r in before]
    assert after[0].coupon_id == "deep"


def test_an_uncalibrated_model_is_standardised_over_the_coupons_valid_that_second(world: dict[str, object]) -> None:
    table: CouponTable = world["table"]  # type: ignore[assignment]
    stores: StoreTable = world["stores"]  # type: ignore[assignment]
    raw = np.random.default_rng(3).normal(size=len(table))
    bound = BoundScorer(lambda _p: raw, None)
    ranker = CouponRanker()
    for step in range(12):
        now = START + timedelta(seconds=step)
        profile = CrowdProfile.from_explicit(CROWDS[step % 2], now)
        w = {"exploration": 0.2}
        expected = reference_rank(table, profile, None, stores, w, 5, now, np.random.default_rng(step), raw, None)
        same(ranker.rank(table, profile, None, stores, w, 5, now, np.random.default_rng(step), bound), expected)


def test_stages_are_reused_within_a_second_and_recomputed_when_an_input_changes(world: dict[str, object]) -> None:
    table: CouponTable = world["table"]  # type: ignore[assignment]
    stores: StoreTable = world["stores"]  # type: ignore[assignment]
    ranker = CouponRanker()
    profile = CrowdProfile.from_explicit(CROWDS[0], START)
    frame = ranker.frame(table, profile, None, stores, None, START)
    again = CrowdProfile.from_explicit(CROWDS[0], START + timedelta(milliseconds=900))
    assert ranker.frame(table, again, None, stores, None, START + timedelta(milliseconds=900)) is frame
    assert ranker.frame(table, profile, None, stores, None, START + timedelta(seconds=1)) is not frame
    assert ranker.frame(table, profile, None, stores, {"popularity": 2.0}, START) is not frame
    other = CrowdProfile.from_explicit(CROWDS[1], START)
    assert ranker.frame(table, other, None, stores, None, START).clock is frame.clock
    refreshed = table.with_counters(table.claims_today, table.claims_total, table.impressions)
    changed = ranker.frame(refreshed, profile, None, stores, None, START)
    assert changed.clock is not frame.clock and changed.crowd is frame.crowd  # counters are not the crowd's


def test_a_coupon_expiring_within_the_second_is_not_shown_in_it(world: dict[str, object]) -> None:
    coupons = list(world["coupons"])  # type: ignore[call-overload]
    coupons[0] = replace(coupons[0], valid_to=START + timedelta(milliseconds=400), value=99.0)
    table = CouponTable.from_candidates(coupons)
    profile = CrowdProfile.from_explicit(CROWDS[0], START)
    w = {"exploration": 0.0, "coupon_strength": 10.0}
    ranked = CouponRanker().rank(table, profile, None, None, w, 20, START, np.random.default_rng(0))
    assert coupons[0].coupon_id not in [r.coupon_id for r in ranked]


def test_a_long_slate_walks_past_the_sorted_heads_of_each_category(world: dict[str, object]) -> None:
    table: CouponTable = world["table"]  # type: ignore[assignment]
    stores: StoreTable = world["stores"]  # type: ignore[assignment]
    ranker = CouponRanker()
    for step, (k, per_store) in enumerate([(200, 4), (400, 7), (20, 1)]):
        now = START + timedelta(seconds=step)
        profile = CrowdProfile.from_explicit(CROWDS[step], now)
        w = {"exploration": 0.1, "category_diversity": 0.05}
        expected = reference_rank(
            table, profile, None, stores, w, k, now, np.random.default_rng(step), None, None, per_store
        )
        assert len(expected) > 8 * HEAD_ROWS or k == 20  # some category is walked past its sorted head
        same(
            ranker.rank(table, profile, None, stores, w, k, now, np.random.default_rng(step), None, per_store), expected
        )
