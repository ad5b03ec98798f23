"""``vitrine eval coupons --dataset PATH``: the lead-in ranker scored on real coupon offers.

End to end through the service's code: the offers become events (:mod:`recsys.lab.leadin_offers`),
the events become impressions through the trainer's join, :func:`recsys.leadin.training.train_coupon_model`
trains on the oldest 70 % (a seeded random split: the offers are shuffled before they get times),
store audiences and stats are rebuilt from the training period's visits and claims the way the
service keeps them, and every held-out offer is ranked by :func:`recsys.leadin.rank.rank_coupons`
for its crowd at its hour. The score of the offered coupon (its ``score`` minus the slate's category
diversity penalty, which depends on the slate and not on the offer) is the default ranking's score.

Printed: AUC of accept/decline on the held-out offers for the default ranking, the learned model
alone, every component alone, and the venue's training acceptance rate.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from recsys.attributes import DAYPARTS
from recsys.audience import StoreAudience
from recsys.lab import leadin_offers as offers_mod
from recsys.leadin.claim_model import sigmoid
from recsys.leadin.components import COMPONENTS
from recsys.leadin.impressions import impressions_from_events
from recsys.leadin.model import CouponImpression, roc_auc
from recsys.leadin.ope import LoggedSlate, estimate_policy
from recsys.leadin.rank import component_matrix, rank_coupons
from recsys.leadin.scorers import CouponScorer
from recsys.leadin.table import CouponTable, StoreStats, StoreTable
from recsys.leadin.training import time_split, train_coupon_model
from recsys.weights import default_weights

logger = logging.getLogger(__name__)
WINDOW_S = 10.0
TEST_FRACTION = 0.3


@dataclass(frozen=True)
class OfferWorld:
    """What the service would hold after the training period: model, coupons with counters, stats, audiences."""

    model: CouponScorer
    table: CouponTable
    stores: StoreTable
    audience: StoreAudience
    train: list[CouponImpression]
    test: list[CouponImpression]
    model_metrics: dict[str, Any]


def build_world(
    path: str | Path, seed: int = 1, test_fraction: float = TEST_FRACTION, kind: str = "logistic", **params: Any
) -> OfferWorld:
    log = offers_mod.offer_log(offers_mod.load_offers(path), seed)
    impressions = impressions_from_events(log.events, offers_mod.coupon_features(), WINDOW_S)
    train, test = time_split(impressions, test_fraction)
    model, metrics = train_coupon_model(
        impressions, test_fraction=test_fraction, refit_on_all=False, kind=kind, **params
    )
    cut = test[0].ts if test else float("inf")
    audience = StoreAudience()
    for kind_, when, payload in log.events:
        if kind_ == "store_visit" and when.timestamp() < cut:
            audience.add_visit(payload["store_id"], when.timestamp(), when.hour, payload["gender"], payload["age"])
    candidates = offers_mod.coupon_candidates(log.end + timedelta(days=365))  # no expiry urgency
    base = CouponTable.from_candidates(candidates)
    claims = np.array([sum(i.claimed for i in train if i.coupon.coupon_id == c) for c in base.coupon_ids], float)
    shown = np.array([sum(i.coupon.coupon_id == c for i in train) for c in base.coupon_ids], float)
    table = base.with_counters(np.zeros(len(base)), claims, shown)
    visits = audience.visits(cut)
    by_store = dict(zip(audience.store_ids, visits, strict=True))
    stats = {
        s: StoreStats(visits=float(by_store.get(s, 0.0)), claims=float(claims[i]), impressions=float(shown[i]))
        for i, s in enumerate(table.store_ids[j] for j in table.store_idx)
    }
    return OfferWorld(model, table, StoreTable.from_stats(stats), audience, train, test, metrics)


def held_out_scores(world: OfferWorld, weights: Mapping[str, float] | None = None, seed: int = 0) -> dict[str, Any]:
    """Per held-out offer: the default ranking's score, each component, and the label."""
    table, test = world.table, world.test
    row_of = {c: i for i, c in enumerate(table.coupon_ids)}
    reps = world.model.item_representations(table)
    reference = getattr(world.model, "reference_logit", None)
    cut = test[0].ts if test else 0.0
    lifts = {dp: world.audience.lift(cut, dp) for dp in DAYPARTS}
    rng = np.random.default_rng(seed)
    w = {**default_weights(), **(weights or {}), "exploration": 0.0}
    n = len(test)
    default, parts = np.zeros(n), np.zeros((len(COMPONENTS), n))
    top, probabilities = np.zeros(n, dtype=np.int64), np.zeros((n, len(table)))
    for j, imp in enumerate(test):
        now = datetime.fromtimestamp(imp.ts, UTC)
        learned = world.model.score(imp.profile, reps)
        lift = lifts[imp.profile.context.daypart]
        ranked = rank_coupons(
            table, imp.profile, lift, world.stores, w, len(table), now, rng, learned, learned_reference=reference
        )
        pick = next(r for r in ranked if r.coupon_id == imp.coupon.coupon_id)
        default[j] = pick.score - pick.explain["category_diversity"]
        best = max(ranked, key=lambda r: r.score - r.explain["category_diversity"])
        top[j], probabilities[j] = row_of[best.coupon_id], sigmoid(learned)
        valid = table.valid_mask(imp.ts)
        matrix = component_matrix(table, imp.profile, lift, world.stores, imp.ts, valid, learned, reference)
        parts[:, j] = matrix[:, row_of[imp.coupon.coupon_id]]
    labels = np.array([i.claimed for i in test], dtype=bool)
    return {"labels": labels, "default": default, "components": parts, "top": top, "probabilities": probabilities}


def off_policy(world: OfferWorld, scores: Mapping[str, Any]) -> dict[str, Any]:
    """IPS/SNIPS/DR of "show each crowd the coupon the default ranking puts first" on the held-out offers.

    The survey assigned coupons to people independently of who they were, so its logging policy is
    known: each venue with its share of the training offers. Slates have one coupon (``k = 1``).
    """
    row_of = {c: i for i, c in enumerate(world.table.coupon_ids)}
    share = np.bincount([row_of[i.coupon.coupon_id] for i in world.train], minlength=len(row_of)) / len(world.train)
    slates = [
        LoggedSlate(
            i.ts,
            i.profile,
            np.array([row_of[i.coupon.coupon_id]]),
            share[[row_of[i.coupon.coupon_id]]],
            np.array([i.claimed]),
        )
        for i in world.test
    ]
    index = {s.ts: j for j, s in enumerate(slates)}

    def ranked_first(slate: LoggedSlate) -> np.ndarray:
        pi = np.zeros(len(row_of))
        pi[int(scores["top"][index[slate.ts]])] = 1.0
        return pi

    def logging_policy(slate: LoggedSlate) -> np.ndarray:
        return np.asarray(share, dtype=np.float64)

    reward = lambda slate: scores["probabilities"][index[slate.ts]]  # noqa: E731
    return {
        "logged": estimate_policy("logged (survey's random offers)", slates, logging_policy, reward, 1),
        "ranked": estimate_policy("default ranking, top coupon", slates, ranked_first, reward, 1),
    }


def venue_rate(world: OfferWorld) -> np.ndarray:
    """Held-out offers scored by their coupon's acceptance rate in the training period."""
    rates = {}
    for c in world.table.coupon_ids:
        claimed = [i.claimed for i in world.train if i.coupon.coupon_id == c]
        rates[c] = float(np.mean(claimed)) if claimed else 0.0
    return np.array([rates[i.coupon.coupon_id] for i in world.test])


def evaluate_offers(
    path: str | Path,
    seed: int = 1,
    test_fraction: float = TEST_FRACTION,
    weights: Mapping[str, float] | None = None,
    kind: str = "logistic",
) -> dict[str, Any]:
    """AUC on the held-out offers for the default ranking, learned alone, each component, venue rate."""
    world = build_world(path, seed, test_fraction, kind)
    scores = held_out_scores(world, weights)
    labels = scores["labels"]
    rows = [("default ranking", roc_auc(labels, scores["default"]))]
    rows += [(f"{name} alone", roc_auc(labels, scores["components"][i])) for i, name in enumerate(COMPONENTS)]
    rows.append(("venue acceptance rate (baseline)", roc_auc(labels, venue_rate(world))))
    return {
        "ope": off_policy(world, scores),
        "rows": rows,
        "n_train": len(world.train),
        "n_test": len(world.test),
        "accepted_test": int(labels.sum()),
        "model": world.model_metrics["new"],
        "model_version": world.model.version,
    }


def markdown_table(rows: Sequence[tuple[str, float]]) -> str:
    lines = ["| score | held-out AUC |", "|---|---:|"]
    lines += [f"| {name} | {auc:.3f} |" if np.isfinite(auc) else f"| {name} | n/a |" for name, auc in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dataset", required=True, type=Path, help="offers CSV (UCI in-vehicle coupon columns)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the offer shuffle (the split)")
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    try:
        result = evaluate_offers(args.dataset, args.seed, args.test_fraction)
    except (offers_mod.OfferDatasetError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    sys.stdout.write(markdown_table(result["rows"]) + "\n\n")
    sys.stdout.write("| policy on the held-out offers | IPS | SNIPS | DR (95 % CI) |\n|---|---:|---:|---:|\n")
    for estimate in result["ope"].values():
        v, (low, high) = estimate.values, estimate.intervals["dr"]
        sys.stdout.write(
            f"| {estimate.policy} | {v['ips']:.3f} | {v['snips']:.3f} | {v['dr']:.3f} ({low:.3f}–{high:.3f}) |\n"
        )
    model = result["model"]
    sys.stdout.write(
        f"\n{result['n_train']} training offers, {result['n_test']} held out ({result['accepted_test']} accepted); "
        f"claim model log loss {model.get('log_loss', float('nan')):.3f}, "
        f"calibration error {model.get('calibration_error', float('nan')):.3f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
