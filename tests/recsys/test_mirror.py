"""Behaviour of fitting-mirror recommendations, named after the issue's "done when" sentences."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from recsys.mirror.catalog import Purchase, StoreItem, TryOn, item_from_dict
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.recommender import MirrorRecommender, UnknownItemError

STYLES = ("casual", "formal", "boho", "sporty")
COLOURS = ("black", "white", "red", "navy", "green")
CATEGORIES = ("tops", "bottoms", "shoes", "accessories", "dresses")


def make_store(store_id: str, per_category: int = 12, prefix: str | None = None) -> list[StoreItem]:
    """A store with every category × a spread of styles, colours and prices; all in stock."""
    prefix = prefix or store_id.upper()
    items = []
    for c, category in enumerate(CATEGORIES):
        for i in range(per_category):
            items.append(
                StoreItem(
                    store_id=store_id,
                    sku=f"{prefix}-{category[:3]}-{i}",
                    name=f"{STYLES[i % 4].title()} {COLOURS[i % 5]} {category}",
                    category=category,
                    gender_target=("women", "men", "unisex")[(i + c) % 3],
                    colors=(COLOURS[i % 5],),
                    style_tags=(STYLES[i % 4],),
                    price=20.0 + 15 * i,
                    stock=5,
                )
            )
    return items


@pytest.fixture
def catalog() -> list[StoreItem]:
    return make_store("s1") + make_store("s2")


@pytest.fixture
def rec(catalog: list[StoreItem]) -> MirrorRecommender:
    recommender = MirrorRecommender()
    recommender.load_catalog(catalog)
    return recommender


def skus(recs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.sku for r in recs]


def test_complementary_never_shares_tried_category(catalog: list[StoreItem]) -> None:
    # A merchandiser mistake (a same-category "complement") and co-try-on across the same category
    # must not leak into the complementary list either.
    first = replace(catalog[0], complements=(catalog[1].sku, "tops"))
    tryons = [TryOn(f"x{n}", "s1", sku, 0.0) for n in range(30) for sku in (catalog[0].sku, catalog[1].sku)]
    als = CoTryOnALS(factors=8, iterations=5).fit(tryons)
    rec = MirrorRecommender(als=als)
    rec.load_catalog([first, *catalog[1:]])
    by_sku = {it.sku: it for it in catalog if it.store_id == "s1"}
    for item in by_sku.values():
        result = rec.recommend("s1", item.sku, k=20)
        assert result.complementary, item.sku
        assert all(by_sku[r.sku].category != item.category for r in result.complementary)
        assert all(by_sku[r.sku].category == item.category for r in result.similar)


def test_out_of_stock_and_other_stores_never_appear(catalog: list[StoreItem]) -> None:
    sold_out = {it.sku for it in catalog[::3] if it.store_id == "s1"}
    s1 = [replace(it, stock=0) if it.sku in sold_out else it for it in catalog if it.store_id == "s1"]
    # The other store sells clones under the same SKUs, all in stock.
    s2 = [replace(it, store_id="s2") for it in catalog if it.store_id == "s1"]
    rec = MirrorRecommender()
    rec.load_catalog(s1 + s2)
    allowed = {it.sku for it in s1 if it.stock > 0}
    for item in s1:
        result = rec.recommend("s1", item.sku, k=30)
        shown = set(skus(result.similar)) | set(skus(result.complementary))
        assert shown <= allowed - {item.sku}


def test_declared_complement_appears(catalog: list[StoreItem]) -> None:
    tried = next(it for it in catalog if it.store_id == "s1" and it.category == "tops")
    # The worst content match among shoes: different style, colour, gender, far price.
    pick = next(
        it
        for it in reversed(catalog)
        if it.store_id == "s1"
        and it.category == "shoes"
        and it.style_tags != tried.style_tags
        and it.colors != tried.colors
    )
    items = [replace(it, complements=(pick.sku,)) if it is tried else it for it in catalog]
    rec = MirrorRecommender()
    rec.load_catalog(items)
    result = rec.recommend("s1", tried.sku, k=5)
    assert pick.sku in skus(result.complementary)
    assert {r.reason for r in result.complementary if r.sku == pick.sku} == {"merchandiser_pick"}


def test_declared_category_opens_a_category_the_table_lacks(rec: MirrorRecommender) -> None:
    rec.set_compatibility({"tops": {"bottoms": 1.0}})
    assert {r.sku.split("-")[1] for r in rec.recommend("s1", "S1-top-0", k=40).complementary} == {"bot"}
    item = rec.registry.get("s1").items[rec.registry.get("s1").row("S1-top-0")]  # type: ignore[union-attr]
    rec.update_store(
        "s1", [replace(it, complements=("shoes",)) if it is item else it for it in rec.registry.get("s1").items]
    )  # type: ignore[union-attr]
    assert {r.sku.split("-")[1] for r in rec.recommend("s1", "S1-top-0", k=40).complementary} == {"bot", "sho"}


def test_earlier_try_ons_shift_ranking(rec: MirrorRecommender) -> None:
    tried = "S1-top-0"  # casual black
    alone = rec.recommend("s1", tried, k=5)
    boho_session = ["S1-bot-2", "S1-sho-6", "S1-acc-10"]  # boho, red/green/red
    with_session = rec.recommend("s1", tried, session_skus=boho_session, k=5)
    assert skus(with_session.similar) != skus(alone.similar)
    part = rec.registry.get("s1")
    assert part is not None
    style = {it.sku: it.style_tags for it in part.items}
    boho = sum("boho" in style[s] for s in skus(with_session.similar))
    assert boho > sum("boho" in style[s] for s in skus(alone.similar))
    assert not set(boho_session) & set(skus(with_session.complementary))  # already tried, not re-offered
    assert "matches_your_session" in {r.reason for r in with_session.similar + with_session.complementary}


def test_store_update_reflected_without_restart(rec: MirrorRecommender) -> None:
    before = rec.recommend("s1", "S1-top-0", k=5)
    part = rec.registry.get("s1")
    assert part is not None
    twin = replace(part.items[part.row("S1-top-0")], sku="S1-NEW-TWIN")  # type: ignore[index]
    gone = before.similar[0].sku
    updated = [replace(it, stock=0) if it.sku == gone else it for it in part.items] + [twin]
    future = rec.update_store_async("s1", updated)
    assert future.result(timeout=30) is True
    after = rec.recommend("s1", "S1-top-0", k=5)
    assert after.similar[0].sku == "S1-NEW-TWIN"
    assert gone not in skus(after.similar)
    assert after.model_version != before.model_version
    assert rec.registry.get("s2") is not None and rec.recommend("s2", "S2-top-0").similar


def test_readers_never_see_a_half_built_index(rec: MirrorRecommender) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()
    part = rec.registry.get("s1")
    assert part is not None
    old, new = set(part.row_of_sku), set(part.row_of_sku) | {"S1-EXTRA"}
    extra = replace(part.items[0], sku="S1-EXTRA")

    def reader() -> None:
        while not stop.is_set():
            try:
                res = rec.recommend("s1", "S1-top-1", k=60)
                shown = set(skus(res.similar)) | set(skus(res.complementary))
                assert shown <= old or shown <= new
            except BaseException as exc:  # noqa: BLE001 - surfaced by the assert below
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for n in range(6):
        rec.update_store_async("s1", list(part.items) + ([extra] if n % 2 == 0 else [])).result(timeout=30)
    stop.set()
    for t in threads:
        t.join()
    assert not errors


def test_every_item_carries_a_reason(rec: MirrorRecommender) -> None:
    result = rec.recommend("s1", "S1-dre-3", k=4)
    assert result.item.sku == "S1-dre-3" and result.model_version
    assert result.similar and result.complementary
    assert all(entry.reason for entry in result.similar + result.complementary)


def test_item_details_show_the_discount() -> None:
    item = item_from_dict(
        {
            "store_id": "s",
            "sku": "A",
            "name": "Coat",
            "category": "Outerwear",
            "price": 200.0,
            "sale_price": 150.0,
            "stock": 2,
            "colors": "black, navy",
        }
    )
    rec = MirrorRecommender()
    rec.update_store("s", [item])
    details = rec.recommend("s", "A").item
    assert (details.discount_pct, details.sale_price, details.category) == (25, 150.0, "outerwear")
    assert item.colors == ("black", "navy")


def test_unknown_store_or_sku_is_a_lookup_error(rec: MirrorRecommender) -> None:
    with pytest.raises(UnknownItemError):
        rec.recommend("nowhere", "S1-top-0")
    with pytest.raises(UnknownItemError):
        rec.recommend("s1", "S2-top-0")


def test_compatibility_table_is_validated(rec: MirrorRecommender) -> None:
    with pytest.raises(ValueError, match="own category"):
        rec.set_compatibility({"tops": {"tops": 1.0}})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rec.set_compatibility({"tops": {"shoes": 3}})


def test_co_tried_pairs_rank_as_often_tried_with(catalog: list[StoreItem]) -> None:
    pair = ("S1-top-0", "S1-bot-7")  # casual black top with sporty red bottoms: no content match
    tryons = [TryOn(f"p{n}", "s1", sku, 0.0) for n in range(40) for sku in pair]
    tryons += [TryOn(f"r{n}", "s1", f"S1-{c}-{1 + n % 11}", 0.0) for n in range(60) for c in ("top", "bot", "sho")]
    als = CoTryOnALS(factors=16, iterations=10).fit(tryons, [Purchase(None, "s1", pair, 0.0)])
    rec = MirrorRecommender(als=als)
    rec.load_catalog(catalog)
    result = rec.recommend("s1", "S1-top-0", k=5)
    assert result.complementary[0].sku == "S1-bot-7"
    assert result.complementary[0].reason == "often_tried_with"
