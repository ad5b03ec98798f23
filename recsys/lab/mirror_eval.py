"""Offline evaluation of fitting-mirror policies on simulated sessions (``vitrine eval mirror``).

Two questions, each answered with hit-rate@10 and NDCG@10 on held-out sessions:

* **next try-on** — after trying ``t_1..t_j`` the shopper tries ``t_{j+1}``; it is looked up in the
  list the mirror would show it in: *similar* when it shares ``t_j``'s category, *complementary*
  otherwise (the session so far re-ranks both);
* **purchased complement** — for every bought item whose category differs from the session's first
  try-on, is it in the complementary list shown for that first item?

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recsys.lab.mirror_sim import SimConfig, SimSession, simulate
from recsys.mirror.catalog import DEFAULT_COMPATIBILITY, CatalogItem, Purchase, TryOn
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel, ProfileModel
from recsys.mirror.models.lightfm_taste import KIND as LIGHTFM
from recsys.mirror.models.lightfm_taste import LightFMProfileModel
from recsys.mirror.recommender import MirrorRecommender
from recsys.weights import default_weights

logger = logging.getLogger(__name__)
K = 10
Lists = tuple[list[str], list[str]]
Policy = Callable[[str, str, Sequence[str], dict[str, float]], Lists]
PROFILE_MODELS: dict[str, Callable[[], CellTasteModel | LightFMProfileModel]] = {
    "taste": CellTasteModel,
    LIGHTFM: LightFMProfileModel,
}
"""``train_mirror_model(profile=...)``: ``taste`` (the default, it wins the evaluation) or ``lightfm``."""


@dataclass(frozen=True)
class MirrorModels:
    als: CoTryOnALS
    taste: ProfileModel


def train_mirror_model(
    tryons: Sequence[TryOn],
    purchases: Sequence[Purchase],
    items: Sequence[CatalogItem],
    session_profiles: dict[str, dict[str, float]],
    out_dir: str | Path | None = None,
    factors: int = 32,
    iterations: int = 12,
    profile: str = "taste",
) -> MirrorModels:
    """Fit the co-try-on ALS and the crowd-profile model; saves ``mirror_als.npz``/``mirror_taste.npz``."""
    if profile not in PROFILE_MODELS:
        raise ValueError(f"unknown profile model {profile!r}; expected one of {', '.join(PROFILE_MODELS)}")
    als = CoTryOnALS(factors=factors, iterations=iterations).fit(tryons, purchases)
    taste = PROFILE_MODELS[profile]().fit(tryons, session_profiles, items)
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        als.save(Path(out_dir) / "mirror_als.npz")
        taste.save(Path(out_dir) / "mirror_taste.npz")
    return MirrorModels(als, taste)


def load_mirror_models(models_dir: str | Path) -> MirrorModels | None:
    """The models ``train_mirror_model`` saved, or ``None`` before the first training (content-only)."""
    als_path, taste_path = Path(models_dir) / "mirror_als.npz", Path(models_dir) / "mirror_taste.npz"
    if not als_path.exists() or not taste_path.exists():
        return None
    with np.load(taste_path, allow_pickle=False) as data:
        kind = str(data["kind"]) if "kind" in data.files else "taste"
    taste = LightFMProfileModel.load(taste_path) if kind == LIGHTFM else CellTasteModel.load(taste_path)
    return MirrorModels(CoTryOnALS.load(als_path), taste)


@dataclass
class Scores:
    hits: list[float] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)

    def add(self, ranked: Sequence[str], target: str) -> None:
        rank = list(ranked[:K]).index(target) if target in ranked[:K] else None
        self.hits.append(0.0 if rank is None else 1.0)
        self.gains.append(0.0 if rank is None else 1.0 / np.log2(rank + 2))

    def row(self) -> tuple[float, float]:
        return float(np.mean(self.hits or [0.0])), float(np.mean(self.gains or [0.0]))


def _baseline(items: Sequence[CatalogItem], popularity: Counter[tuple[str, str]] | None, seed: int) -> Policy:
    """``random`` (``popularity=None``) or ``popular-in-category``, over the same eligible items."""
    by_key = {it.key: it for it in items}
    rng = np.random.default_rng(seed)

    def lists(store: str, sku: str, session: Sequence[str], profile: dict[str, float]) -> Lists:
        item = by_key[(store, sku)]
        seen = {sku, *session}
        pool = [it for it in items if it.store_id == store and it.stock > 0 and it.sku not in seen]
        compat = DEFAULT_COMPATIBILITY.get(item.category, {})

        def order(cands: list[CatalogItem]) -> list[str]:
            if popularity is None:
                return [cands[i].sku for i in rng.permutation(len(cands))[:K]]
            ranked = sorted(cands, key=lambda it: -popularity[it.key] * compat.get(it.category, 1.0))
            return [it.sku for it in ranked[:K]]

        similar = order([it for it in pool if it.category == item.category])
        return similar, order([it for it in pool if it.category in compat])

    return lists


def _model_policy(rec: MirrorRecommender, weights: dict[str, float]) -> Policy:
    def lists(store: str, sku: str, session: Sequence[str], profile: dict[str, float]) -> Lists:
        result = rec.recommend(store, sku, session, profile, K, weights)
        return [r.sku for r in result.similar], [r.sku for r in result.complementary]

    return lists


def _score(
    policy: Policy, sessions: Sequence[SimSession], category: dict[tuple[str, str], str]
) -> tuple[Scores, Scores]:
    """Next-try-on and purchased-complement scores; try-ons of items not in ``category`` are skipped."""
    next_try, bought = Scores(), Scores()
    for s in sessions:
        if any((s.store_id, sku) not in category for sku in (*s.skus, *s.purchased)):
            s = _known_only(s, category)
        if not s.skus:
            continue
        for j in range(1, len(s.skus)):
            similar, complementary = policy(s.store_id, s.skus[j - 1], s.skus[: j - 1], s.profile)
            same = category[(s.store_id, s.skus[j])] == category[(s.store_id, s.skus[j - 1])]
            next_try.add(similar if same else complementary, s.skus[j])
        first_cat = category[(s.store_id, s.skus[0])]
        targets = [p for p in s.purchased if category[(s.store_id, p)] != first_cat]
        if targets:
            _, complementary = policy(s.store_id, s.skus[0], (), s.profile)
            for target in targets:
                bought.add(complementary, target)
    return next_try, bought


def _known_only(s: SimSession, category: dict[tuple[str, str], str]) -> SimSession:
    """A logged session without the items that have left the catalog since."""
    known = tuple(sku for sku in s.skus if (s.store_id, sku) in category)
    bought = tuple(sku for sku in s.purchased if (s.store_id, sku) in category)
    return SimSession(s.session_id, s.store_id, known, bought, s.profile)


def next_tryon_hit_rate(
    models: MirrorModels | None, items: Sequence[CatalogItem], sessions: Sequence[SimSession]
) -> dict[str, float]:
    """``{"next_hit@10", "n_next"}`` of the blended policy (default weights) with ``models`` on ``sessions``.

    ``models=None`` is the content-only recommender a store gets before its first training.
    """
    rec = MirrorRecommender(als=models.als, taste=models.taste) if models is not None else MirrorRecommender()
    rec.load_catalog(items)
    next_try, _ = _score(_model_policy(rec, default_weights()), sessions, {it.key: it.category for it in items})
    hit_rate = float(np.mean(next_try.hits)) if next_try.hits else float("nan")
    return {"next_hit@10": hit_rate, "n_next": float(len(next_try.hits))}


def evaluate_mirror(
    config: SimConfig | None = None, models_dir: str | Path | None = None
) -> dict[str, dict[str, float]]:
    """Simulate, train, score the seven policies; ``{policy: {metric: value}}``."""
    config = config or SimConfig()
    logger.info("simulating %d train + %d test sessions", config.n_train_sessions, config.n_test_sessions)
    log = simulate(config)
    models = train_mirror_model(log.tryons(), log.purchases(), log.items, log.profiles(), models_dir)
    popularity = Counter((t.store_id, t.sku) for t in log.tryons())
    content_rec = MirrorRecommender()
    content_rec.load_catalog(log.items)
    full_rec = MirrorRecommender(als=models.als, taste=models.taste)
    full_rec.load_catalog(log.items)
    lightfm = LightFMProfileModel().fit(log.tryons(), log.profiles(), log.items)
    lightfm_rec = MirrorRecommender(als=models.als, taste=lightfm)
    lightfm_rec.load_catalog(log.items)
    only = {name: 0.0 for name in default_weights() if name.startswith("mirror_")}
    policies: dict[str, Policy] = {
        "random": _baseline(log.items, None, config.seed),
        "popular-in-category": _baseline(log.items, popularity, config.seed),
        "content-only": _model_policy(content_rec, {**only, "mirror_content": 1.0}),
        "cf-only": _model_policy(full_rec, {**only, "mirror_collaborative": 1.0}),
        "blended": _model_policy(full_rec, default_weights()),
        "blended + LightFM profile": _model_policy(lightfm_rec, default_weights()),
        "blended, no crowd profile": _model_policy(full_rec, {**default_weights(), "mirror_profile": 0.0}),
    }
    category = {it.key: it.category for it in log.items}
    table: dict[str, dict[str, float]] = {}
    for name, policy in policies.items():
        logger.info("scoring %s", name)
        next_try, bought = _score(policy, log.test, category)
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
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    config = SimConfig(
        n_items=args.items, n_train_sessions=args.train_sessions, n_test_sessions=args.test_sessions, seed=args.seed
    )
    print(to_markdown(evaluate_mirror(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
