"""Offline evaluation of lead-in coupon policies in the mall simulator (``vitrine eval coupons``).

Every policy faces the same groups, the same background crowds and the same random numbers for the
shoppers' decisions (common random numbers), so differences between rows come from the policies.
Each policy keeps its own live state — claim counters, daily caps, people it has sent to stores —
because sending everyone to the same store is exactly what the crowding term should prevent.

Metrics: claim rate (claims per group served), NDCG@5 with the true claim probabilities as gains
(ideal: the best coupon of each of the best stores), and the spread of sends (claims) over stores as
entropy in bits and Gini coefficient (0 = perfectly even).

Usage: ``python -m recsys.lab.leadin_eval --seed 1 --groups 2000``
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from recsys.attributes import DAYPARTS
from recsys.audience import AudienceLift
from recsys.lab.leadin_sim import EVAL_DAY, Group, Mall, SimConfig, cascade_claim
from recsys.leadin.rank import rank_coupons
from recsys.leadin.rerank import build_slate
from recsys.leadin.scorers import CouponScorer
from recsys.leadin.table import CouponTable, StoreTable
from recsys.leadin.training import train_coupon_model

logger = logging.getLogger(__name__)
POLICIES = ("random", "popularity", "match-only", "heuristic", "heuristic+lightfm", "heuristic+claim-model")
MATCH_ONLY_WEIGHTS = {
    "audience_match": 1.0,
    "popularity": 0.0,
    "efficiency": 0.0,
    "crowding": 0.0,
    "coupon_strength": 0.0,
    "learned": 0.0,
    "category_diversity": 0.0,
    "exploration": 0.0,
}
HEURISTIC_WEIGHTS = {"learned": 0.0}
LIGHTFM_WEIGHTS = {"audience_match": 1.0, "popularity": 0.3, "efficiency": 0.3, "learned": 0.5}
"""The defaults before issue 12, when the learned component was LightFM standardised per request."""


@dataclass
class Step:
    """What a policy sees for one group: the coupons with live counters, stats, crowd profile."""

    group: Group
    table: CouponTable
    stores: StoreTable
    lift: AudienceLift
    rng: np.random.Generator
    k: int


Policy = Callable[[Step], list[int]]


@dataclass(frozen=True)
class PolicyResult:
    policy: str
    claim_rate: float
    ndcg_at_5: float
    send_entropy_bits: float
    send_gini: float
    groups: int


def _random(step: Step) -> list[int]:
    eligible = step.table.valid_mask(step.group.when.timestamp())
    noise = step.rng.random(len(step.table))
    return build_slate(noise, eligible, step.table.store_idx, step.table.category_idx, step.k, 1, 0.0).rows


def _popularity(step: Step) -> list[int]:
    """Most-claimed coupons first (live counters), ignoring who is in front of the screen."""
    eligible = step.table.valid_mask(step.group.when.timestamp())
    score = step.table.claims_total + 1e-6 * step.rng.random(len(step.table))
    return build_slate(score, eligible, step.table.store_idx, step.table.category_idx, step.k, 1, 0.0).rows


def _ranker(
    weights: dict[str, float], scorer: tuple[Callable[[Group], np.ndarray], float | None] | None = None
) -> Policy:
    def policy(step: Step) -> list[int]:
        learned = scorer[0](step.group) if scorer is not None else None
        ranked = rank_coupons(
            step.table,
            step.group.profile,
            step.lift,
            step.stores,
            weights,
            step.k,
            step.group.when,
            step.rng,
            learned_scores=learned,
            learned_reference=scorer[1] if scorer is not None else None,
        )
        index = {cid: i for i, cid in enumerate(step.table.coupon_ids)}
        return [index[r.coupon_id] for r in ranked]

    return policy


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values; 0 when all equal (or all zero)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    if v.sum() <= 0:
        return 0.0
    n = len(v)
    return float((2 * np.arange(1, n + 1) - n - 1) @ v / (n * v.sum()))


def entropy_bits(values: np.ndarray) -> float:
    p = np.asarray(values, dtype=np.float64)
    p = p[p > 0] / p.sum() if p.sum() > 0 else p[:0]
    return float(-(p * np.log2(p)).sum())


def ndcg_at_k(p_true: np.ndarray, shown: Sequence[int], eligible: np.ndarray, store_idx: np.ndarray, k: int) -> float:
    best_per_store = np.zeros(int(store_idx.max()) + 1)
    np.maximum.at(best_per_store, store_idx[eligible], p_true[eligible])
    discounts = 1.0 / np.log2(np.arange(k) + 2.0)
    ideal = np.sort(best_per_store)[::-1][:k] @ discounts[: min(k, len(best_per_store))]
    dcg = p_true[list(shown)] @ discounts[: len(shown)] if shown else 0.0
    return float(dcg / ideal) if ideal > 0 else 0.0


def run_policy(
    name: str,
    policy: Policy,
    mall: Mall,
    groups: Sequence[Group],
    background: np.ndarray,
    uniforms: np.ndarray,
    seed: int,
) -> PolicyResult:
    """Serve every group with one policy, with live counters and crowds, and score the outcome."""
    base = CouponTable.from_candidates(mall.coupons)
    table = base.with_counters(np.zeros(len(base)), base.claims_total.copy(), base.impressions.copy())
    stores = StoreTable.from_stats(mall.stats)
    store_rows = np.asarray([mall.store_ids.index(s) for s in stores.store_ids])
    lifts = {dp: mall.audience.lift(EVAL_DAY.timestamp(), dp) for dp in DAYPARTS}
    rng = np.random.default_rng(seed)
    sends_people = np.zeros(len(mall.store_ids))
    claims_per_store = np.zeros(len(mall.store_ids))
    claims, ndcg_sum = 0, 0.0
    mall_rows = mall._store_rows(table)
    for i, group in enumerate(groups):
        crowd = background[i] + sends_people
        stores.crowd_now[:] = crowd[store_rows]
        step = Step(group, table, stores, lifts[group.profile.context.daypart], rng, mall.config.k)
        shown = policy(step)
        p_true = mall.claim_probability(group, table, crowd)
        eligible = table.valid_mask(group.when.timestamp())
        ndcg_sum += ndcg_at_k(p_true, shown, eligible, table.store_idx, mall.config.k)
        table.impressions[shown] += 1
        pos = cascade_claim(p_true[shown], uniforms[i]) if shown else -1
        sends_people *= 0.983
        if pos >= 0:
            row = shown[pos]
            claims += 1
            table.claims_today[row] += 1
            table.claims_total[row] += 1
            claims_per_store[mall_rows[row]] += 1
            sends_people[mall_rows[row]] += len(group.cells)
    n = max(len(groups), 1)
    return PolicyResult(name, claims / n, ndcg_sum / n, entropy_bits(claims_per_store), gini(claims_per_store), n)


def evaluate(config: SimConfig, policies: Sequence[str] = POLICIES) -> tuple[list[PolicyResult], dict[str, object]]:
    """Build the mall, log history, train both learned models on it, then run each policy over the same day."""
    mall = Mall.generate(config).simulate_history()
    logger.info("history: %d impressions, %d claims", len(mall.impressions), sum(i.claimed for i in mall.impressions))
    claim_model, metrics = train_coupon_model(mall.impressions)
    lightfm, lightfm_metrics = train_coupon_model(mall.impressions, kind="lightfm")
    rng = np.random.default_rng(config.seed + 2)
    span = timedelta(hours=11) / max(config.eval_groups, 1)
    groups = [mall.sample_group(rng, EVAL_DAY + timedelta(hours=10) + i * span) for i in range(config.eval_groups)]
    background = np.stack([mall.background_crowd(rng) for _ in groups])
    uniforms = rng.random((len(groups), config.k))
    table: dict[str, Policy] = {
        "random": _random,
        "popularity": _popularity,
        "match-only": _ranker(MATCH_ONLY_WEIGHTS),
        "heuristic": _ranker(HEURISTIC_WEIGHTS),
        "heuristic+lightfm": _ranker(LIGHTFM_WEIGHTS, (_model_scorer(lightfm, mall), None)),
        "heuristic+claim-model": _ranker({}, (_model_scorer(claim_model, mall), claim_model.reference_logit)),
    }
    results = []
    for name in policies:
        logger.info("running policy %s over %d groups", name, len(groups))
        results.append(run_policy(name, table[name], mall, groups, background, uniforms, config.seed + 3))
    extra: dict[str, object] = {"claim_model": metrics, "lightfm": lightfm_metrics}
    extra["model_version"] = claim_model.version
    return results, extra


def _model_scorer(model: CouponScorer, mall: Mall) -> Callable[[Group], np.ndarray]:
    reps = model.item_representations(CouponTable.from_candidates(mall.coupons))
    return lambda group: model.score(group.profile, reps)


def markdown_table(results: Sequence[PolicyResult]) -> str:
    lines = [
        "| policy | claim rate | NDCG@5 | send entropy (bits) | send Gini |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        cells = (
            r.policy,
            f"{r.claim_rate:.3f}",
            f"{r.ndcg_at_5:.3f}",
            f"{r.send_entropy_bits:.2f}",
            f"{r.send_gini:.3f}",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """The simulator table; with ``--dataset PATH`` the real-offer one (:mod:`recsys.lab.leadin_offers_eval`)."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    if any(a == "--dataset" or a.startswith("--dataset=") for a in args_in):
        from recsys.lab.leadin_offers_eval import main as evaluate_offers

        return evaluate_offers(args_in)
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n", 1)[0],
        epilog="With --dataset PATH: the real-offer evaluation (python -m recsys.lab.leadin_offers_eval -h).",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--groups", type=int, default=SimConfig.eval_groups, help="groups served on the eval day")
    parser.add_argument("--stores", type=int, default=SimConfig.n_stores)
    parser.add_argument("--history-days", type=int, default=SimConfig.history_days)
    args = parser.parse_args(args_in)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    config = SimConfig(n_stores=args.stores, eval_groups=args.groups, history_days=args.history_days, seed=args.seed)
    results, extra = evaluate(config)
    sys.stdout.write(markdown_table(results) + "\n")
    claim, lightfm = extra["claim_model"]["new"], extra["lightfm"]["new"]  # type: ignore[index]
    sys.stdout.write(
        f"\nheld-out AUC on {int(claim['n'])} impressions: "
        f"claim model {claim['auc']:.3f}, LightFM {lightfm['auc']:.3f}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
