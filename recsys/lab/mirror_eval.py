"""Offline evaluation of fitting-mirror policies on simulated sessions (``vitrine eval mirror``).

Two questions, each answered with hit-rate@10 and NDCG@10 on held-out sessions (the metrics of
:mod:`recsys.mirror.metrics`): the next try-on, and the purchased complement.

Policies: ``random`` (eligible items in random order), ``popular-in-category`` (most tried in the
training log), ``content-only``, ``cf-only`` (ALS co-try-on alone), ``blended`` (all signals with
the default weights of :mod:`recsys.weights`, crowd profile from :class:`CellTasteModel`), the same
with the LightFM profile model (:class:`LightFMProfileModel`) and without any profile.
Run ``python -m recsys.lab.mirror_eval --seed 1``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from recsys.lab.mirror_sim import SimConfig, simulate
from recsys.mirror.catalog import DEFAULT_COMPATIBILITY, StoreItem
from recsys.mirror.metrics import K, Lists, Policy, recommender_policy, score_policy
from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT
from recsys.mirror.models.lightfm_taste import LightFMProfileModel
from recsys.mirror.recommender import MirrorRecommender
from recsys.mirror.training import train_mirror_model
from recsys.weights import default_weights

logger = logging.getLogger(__name__)


def _baseline(items: Sequence[StoreItem], popularity: Counter[tuple[str, str]] | None, seed: int) -> Policy:
    """``random`` (``popularity=None``) or ``popular-in-category``, over the same eligible items."""
    by_key = {it.key: it for it in items}
    rng = np.random.default_rng(seed)

    def lists(store: str, sku: str, session: Sequence[str], profile: dict[str, float]) -> Lists:
        item = by_key[(store, sku)]
        seen = {sku, *session}
        pool = [it for it in items if it.store_id == store and it.stock > 0 and it.sku not in seen]
        compat = DEFAULT_COMPATIBILITY.get(item.category, {})

        def order(cands: list[StoreItem]) -> list[str]:
            if popularity is None:
                return [cands[i].sku for i in rng.permutation(len(cands))[:K]]
            ranked = sorted(cands, key=lambda it: -popularity[it.key] * compat.get(it.category, 1.0))
            return [it.sku for it in ranked[:K]]

        similar = order([it for it in pool if it.category == item.category])
        return similar, order([it for it in pool if it.category in compat])

    return lists


def evaluate_mirror(
    config: SimConfig | None = None,
    models_dir: str | Path | None = None,
    purchase_weight: float = DEFAULT_PURCHASE_WEIGHT,
) -> dict[str, dict[str, float]]:
    """Simulate, train, score the seven policies; ``{policy: {metric: value}}``."""
    config = config or SimConfig()
    logger.info("simulating %d train + %d test sessions", config.n_train_sessions, config.n_test_sessions)
    log = simulate(config)
    models = train_mirror_model(
        log.tryons(), log.purchases(), log.items, log.profiles(), models_dir, purchase_weight=purchase_weight
    )
    popularity = Counter((t.store_id, t.sku) for t in log.tryons())
    content_rec = MirrorRecommender()
    content_rec.load_catalog(log.items)
    full_rec = MirrorRecommender()
    full_rec.set_models(models.als, models.taste, models.compatibility)
    full_rec.load_catalog(log.items)
    lightfm = LightFMProfileModel().fit(log.tryons(), log.profiles(), log.items)
    lightfm_rec = MirrorRecommender()
    lightfm_rec.set_models(models.als, lightfm, models.compatibility)
    lightfm_rec.load_catalog(log.items)
    only = {name: 0.0 for name in default_weights() if name.startswith("mirror_")}
    policies: dict[str, Policy] = {
        "random": _baseline(log.items, None, config.seed),
        "popular-in-category": _baseline(log.items, popularity, config.seed),
        "content-only": recommender_policy(content_rec, {**only, "mirror_content": 1.0}),
        "cf-only": recommender_policy(full_rec, {**only, "mirror_collaborative": 1.0}),
        "blended": recommender_policy(full_rec, default_weights()),
        "blended + LightFM profile": recommender_policy(lightfm_rec, default_weights()),
        "blended, no crowd profile": recommender_policy(full_rec, {**default_weights(), "mirror_profile": 0.0}),
    }
    category = {it.key: it.category for it in log.items}
    table: dict[str, dict[str, float]] = {}
    for name, policy in policies.items():
        logger.info("scoring %s", name)
        next_try, bought = score_policy(policy, log.test, category)
        (h1, n1), (h2, n2) = next_try.row(), bought.row()
        table[name] = {
            "next_hit@10": h1,
            "next_ndcg@10": n1,
            "bought_hit@10": h2,
            "bought_ndcg@10": n2,
            "n_next": len(next_try.hits),
            "n_bought": len(bought.hits),
        }
    return table


def to_markdown(table: dict[str, dict[str, float]]) -> str:
    first = next(iter(table.values()))
    lines = [
        f"| policy | next try-on HR@10 | next try-on NDCG@10 | purchased complement HR@10 "
        f"| purchased complement NDCG@10 |  (n = {int(first['n_next'])} / {int(first['n_bought'])})",
        "|---|---|---|---|---|",
    ]
    for name, m in table.items():
        lines.append(
            f"| {name} | {m['next_hit@10']:.3f} | {m['next_ndcg@10']:.3f} "
            f"| {m['bought_hit@10']:.3f} | {m['bought_ndcg@10']:.3f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--items", type=int, default=SimConfig.n_items)
    parser.add_argument("--train-sessions", type=int, default=SimConfig.n_train_sessions)
    parser.add_argument("--test-sessions", type=int, default=SimConfig.n_test_sessions)
    parser.add_argument(
        "--purchase-weight", type=float, default=DEFAULT_PURCHASE_WEIGHT, help="a purchase counts this many try-ons"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    config = SimConfig(
        n_items=args.items, n_train_sessions=args.train_sessions, n_test_sessions=args.test_sessions, seed=args.seed
    )
    print(to_markdown(evaluate_mirror(config, purchase_weight=args.purchase_weight)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
