"""Hit-rate@10 and NDCG@10 of a mirror policy on try-on sessions: the publish gate and the lab share them.

A *policy* answers ``(store, sku, session so far, profile) -> (similar, complementary)`` SKU lists.
Two questions are scored on each session:

* **next try-on** — after trying ``t_1..t_j`` the shopper tries ``t_{j+1}``; it is looked up in the
  list the mirror would show it in: *similar* when it shares ``t_j``'s category, *complementary*
  otherwise (the session so far re-ranks both);
* **purchased complement** — for every bought item whose category differs from the session's first
  try-on, is it in the complementary list shown for that first item?
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from recsys.mirror.artifacts import MirrorModels
from recsys.mirror.catalog import StoreItem, TryOnSession
from recsys.mirror.recommender import MirrorRecommender
from recsys.weights import default_weights

K: Final = 10
Lists = tuple[list[str], list[str]]
Policy = Callable[[str, str, Sequence[str], dict[str, float]], Lists]


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


def recommender_policy(rec: MirrorRecommender, weights: dict[str, float]) -> Policy:
    def lists(store: str, sku: str, session: Sequence[str], profile: dict[str, float]) -> Lists:
        result = rec.recommend(store, sku, session, profile, K, weights)
        return [r.sku for r in result.similar], [r.sku for r in result.complementary]

    return lists


def score_policy(
    policy: Policy, sessions: Sequence[TryOnSession], category: dict[tuple[str, str], str]
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


def _known_only(s: TryOnSession, category: dict[tuple[str, str], str]) -> TryOnSession:
    """A logged session without the items that have left the catalog since."""
    known = tuple(sku for sku in s.skus if (s.store_id, sku) in category)
    bought = tuple(sku for sku in s.purchased if (s.store_id, sku) in category)
    return TryOnSession(s.session_id, s.store_id, known, bought, s.profile)


def next_tryon_hit_rate(
    models: MirrorModels | None, items: Sequence[StoreItem], sessions: Sequence[TryOnSession]
) -> dict[str, float]:
    """``{"next_hit@10", "n_next"}`` of the blended policy (default weights) with ``models`` on ``sessions``.

    ``models=None`` is the content-only recommender a store gets before its first training.
    """
    rec = MirrorRecommender()
    if models is not None:
        rec.set_models(models.als, models.taste, models.compatibility)
    rec.load_catalog(items)
    next_try, _ = score_policy(
        recommender_policy(rec, default_weights()), sessions, {it.key: it.category for it in items}
    )
    hit_rate = float(np.mean(next_try.hits)) if next_try.hits else float("nan")
    return {"next_hit@10": hit_rate, "n_next": float(len(next_try.hits))}
