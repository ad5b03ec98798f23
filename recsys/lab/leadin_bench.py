"""Benchmark: rank 2,000 active coupons from 300 stores for one crowd, in process.

Target p99 ≤ 5 ms for the service path: :class:`recsys.leadin.ranker.CouponRanker` with the claim
model, timed in its three regimes — the same crowd within one second (only the per-request draws
and the slate walk), a new crowd on every request (the crowd's scores and the frame recomputed),
and a new crowd at a new second on every request (every stage recomputed: the worst case). The
from-scratch :func:`~recsys.leadin.rank.rank_coupons` (the service path until issue 12's last item)
and the per-request conversion of 2,000 row objects are timed beside it.

Usage: ``python -m recsys.lab.leadin_bench [--coupons 2000 --stores 300 --repeats 2000]``
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from recsys.attributes import DAYPARTS, KNOWN_CELLS
from recsys.audience import StoreAudience
from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.model import CouponFeatures, CouponImpression, CouponModel, coupon_features_of
from recsys.leadin.rank import rank_coupons
from recsys.leadin.ranker import BoundScorer, CouponRanker
from recsys.leadin.table import CouponCandidate, CouponTable, StoreStats, StoreTable
from recsys.profile import CrowdProfile


def build_world(
    n_coupons: int, n_stores: int, seed: int = 0
) -> tuple[list[CouponCandidate], StoreAudience, dict[str, StoreStats], datetime]:
    rng = np.random.default_rng(seed)
    now = datetime(2024, 6, 14, 15, 0, tzinfo=UTC)
    store_ids = [f"store-{i:03d}" for i in range(n_stores)]
    categories = ("fashion", "sports", "toys", "beauty", "electronics", "food", "home", "books")
    coupons = [
        CouponCandidate(
            coupon_id=f"c{i}",
            store_id=store_ids[i % n_stores],
            title=f"coupon {i}",
            store_category=categories[(i % n_stores) % len(categories)],
            kind="percent",
            value=float(rng.integers(5, 50)),
            valid_from=now - timedelta(days=3),
            valid_to=now + timedelta(days=float(rng.uniform(1, 30))),
            daily_cap=int(rng.integers(10, 100)),
            claims_today=int(rng.integers(0, 5)),
            total_stock=1000,
            claims_total=int(rng.integers(0, 50)),
            impressions=int(rng.integers(50, 2000)),
        )
        for i in range(n_coupons)
    ]
    audience = StoreAudience()
    n_visits = 200 * n_stores
    audience.add_visits(
        [store_ids[s] for s in rng.integers(0, n_stores, n_visits)],
        now.timestamp() - rng.uniform(0, 14 * 86_400, n_visits),
        rng.integers(0, len(DAYPARTS), n_visits),
        rng.integers(0, len(KNOWN_CELLS), n_visits),
    )
    stats = {
        s: StoreStats(float(rng.uniform(50, 5000)), float(rng.uniform(0, 100)), 1000.0, float(rng.uniform(0, 40)), 30.0)
        for s in store_ids
    }
    return coupons, audience, stats, now


def _small_models(
    coupons: list[CouponCandidate], now: datetime, rng: np.random.Generator
) -> tuple[ClaimModel, CouponModel]:
    """Both learned scorers on a small synthetic log: their serving cost does not depend on the fit."""
    features: list[CouponFeatures] = coupon_features_of(CouponTable.from_candidates(coupons))
    profile = CrowdProfile.from_shares({"female:18-24": 1.0}, now)
    shown = rng.integers(0, len(features), 5000)
    impressions = [
        CouponImpression(float(i), features[j], profile, bool(rng.random() < 0.1)) for i, j in enumerate(shown)
    ]
    return ClaimModel(max_iter=30).fit(impressions), CouponModel(epochs=2).fit(impressions)


def _distinct_crowds(n: int, now: datetime, rng: np.random.Generator) -> list[CrowdProfile]:
    """``n`` crowds that all differ (random shares over a few cells), so none hits a per-crowd cache."""
    cells = rng.choice(len(KNOWN_CELLS), size=(n, 3))
    return [CrowdProfile.from_shares({KNOWN_CELLS[c]: float(rng.uniform(0.1, 1.0)) for c in row}, now) for row in cells]


def timed(fn: Callable[[], object], repeats: int) -> np.ndarray:
    for _ in range(min(50, repeats)):
        fn()
    out = np.empty(repeats)
    for i in range(repeats):
        start = time.perf_counter()
        fn()
        out[i] = time.perf_counter() - start
    return out * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--coupons", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2000)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    coupons, audience, stats, now = build_world(args.coupons, args.stores)
    table, stores = CouponTable.from_candidates(coupons), StoreTable.from_stats(stats)
    lift = audience.lift(now.timestamp(), "afternoon")
    claim_model, lightfm = _small_models(coupons, now, rng)
    claim_reps, lightfm_reps = claim_model.item_representations(table), lightfm.item_representations(table)
    reference = claim_model.reference_logit
    profile = CrowdProfile.from_explicit(
        {
            "faces": [
                {"gender": "female", "age": 23},
                {"gender": "male", "age": 26},
                {"gender": None, "age": 30},
            ],
            "group": "pair",
        },
        now,
    )
    bound = BoundScorer(lambda p: claim_model.score(p, claim_reps), reference)
    ranker = CouponRanker()
    crowds = _distinct_crowds(args.repeats + 50, now, rng)
    clock = {"i": 0}

    def ranker_case(new_crowd: bool, new_second: bool) -> Callable[[], object]:
        def run() -> object:
            clock["i"] += 1
            crowd = crowds[clock["i"] % len(crowds)] if new_crowd else profile
            at = now + timedelta(seconds=clock["i"]) if new_second else now
            return ranker.rank(table, crowd, lift, stores, None, 5, at, rng, bound)

        return run

    cases: dict[str, Callable[[], object]] = {
        "ranker + claim model, same crowd and second": ranker_case(False, False),
        "ranker + claim model, new crowd each request": ranker_case(True, False),
        "ranker + claim model, new crowd and second": ranker_case(True, True),
        "rank_coupons + claim model (from scratch)": lambda: rank_coupons(
            table,
            profile,
            lift,
            stores,
            None,
            5,
            now,
            rng,
            learned_scores=claim_model.score(profile, claim_reps),
            learned_reference=reference,
        ),
        "rank_coupons (cached tables, no model)": lambda: rank_coupons(table, profile, lift, stores, None, 5, now, rng),
        "rank_coupons + LightFM score": lambda: rank_coupons(
            table, profile, lift, stores, None, 5, now, rng, learned_scores=lightfm.score(profile, lightfm_reps)
        ),
        "rank from 2,000 CouponCandidate rows": lambda: rank_coupons(coupons, profile, lift, stats, None, 5, now, rng),
    }
    print(f"{args.coupons} coupons, {args.stores} stores, k=5, {args.repeats} repeats (ms)")
    for name, fn in cases.items():
        ms = timed(fn, args.repeats if "rows" not in name else max(args.repeats // 10, 20))
        print(f"{name:46s} median {np.median(ms):6.3f}  p99 {np.percentile(ms, 99):6.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
