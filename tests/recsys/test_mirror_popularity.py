"""The popularity prior (issue 15): it ranks complements, never similar items, and needs a trained model."""

from __future__ import annotations

from recsys.mirror.catalog import StoreItem, TryOn
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.recommender import MirrorRecommender


def _item(sku: str, category: str) -> StoreItem:
    return StoreItem(
        "s", sku, f"plain {category}", category, colors=("black",), style_tags=("basic",), price=30, stock=5
    )


CATALOG = [_item("T0", "tops"), _item("T1", "tops"), _item("T2", "tops")] + [
    _item(f"B{i}", "bottoms") for i in range(4)
]


def _fit(bought_often: str) -> CoTryOnALS:
    """B-items look identical; ``bought_often`` is tried in 30 sessions, every other B once; no pair repeats."""
    tryons = [TryOn(f"p{n}", "s", bought_often, float(n)) for n in range(30)]
    tryons += [TryOn(f"o{i}", "s", f"B{i}", 0.0) for i in range(4)]
    tryons += [TryOn(f"t{n}", "s", f"T{n % 3}", 0.0) for n in range(6)]  # twice each: no ALS vector
    return CoTryOnALS(factors=4, iterations=3).fit(tryons)


def test_the_often_tried_piece_completes_the_look_first() -> None:
    for favourite in ("B2", "B3"):
        rec = MirrorRecommender(als=_fit(favourite))
        rec.load_catalog(CATALOG)
        result = rec.recommend("s", "T0", k=4)
        assert result.complementary[0].sku == favourite
        assert result.complementary[0].reason == "popular_here"


def test_without_the_prior_weight_the_favourite_has_no_edge() -> None:
    rec = MirrorRecommender(als=_fit("B2"))
    rec.load_catalog(CATALOG)
    scores = {r.sku: r.score for r in rec.recommend("s", "T0", k=4, weights={"mirror_popularity": 0.0}).complementary}
    assert max(scores.values()) - min(scores.values()) < 1e-4


def test_similar_lists_ignore_the_prior() -> None:
    with_prior = MirrorRecommender(als=_fit("B2"))
    with_prior.load_catalog(CATALOG)
    a = with_prior.recommend("s", "B0", k=3, weights={"mirror_popularity": 5.0}).similar
    b = with_prior.recommend("s", "B0", k=3, weights={"mirror_popularity": 0.0}).similar
    assert [(r.sku, round(r.score, 5)) for r in a] == [(r.sku, round(r.score, 5)) for r in b]
