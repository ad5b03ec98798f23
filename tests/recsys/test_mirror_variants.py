"""Variants of the tried piece as a candidate source for "similar" (issue 15): same name, same category."""

from __future__ import annotations

from recsys.mirror.catalog import StoreItem, variant_key
from recsys.mirror.index import MAX_VARIANTS
from recsys.mirror.recommender import MirrorRecommender


def _item(sku: str, name: str, color: str, tags: tuple[str, ...], stock: int = 5) -> StoreItem:
    return StoreItem("s", sku, name, "tops", colors=(color,), style_tags=tags, price=20, stock=stock)


# The tried top is black; its other colours share its name and tags but not its colour, while eight
# look-alikes share colour and tags: content alone ranks the variants below all of them.
LOOKALIKES = [_item(f"L{i}", f"Jersey tee {i}", "black", ("basic", "jersey")) for i in range(8)]
CATALOG = [
    _item("T0", "Strap top", "black", ("basic", "jersey")),
    _item("T1", "Strap top (1)", "pink", ("basic", "jersey")),
    _item("T2", "STRAP TOP", "green", ("floral",), stock=0),
    _item("T3", "Strap top", "white", ("basic", "jersey")),
    *LOOKALIKES,
]


def _rec() -> MirrorRecommender:
    rec = MirrorRecommender()
    rec.load_catalog(CATALOG)
    return rec


def test_variant_key_ignores_case_punctuation_and_qualifiers() -> None:
    assert variant_key(CATALOG[0]) == variant_key(CATALOG[1]) == variant_key(CATALOG[2]) == ("tops", "strap top")
    assert variant_key(LOOKALIKES[0]) != variant_key(CATALOG[0])
    dress = StoreItem("s", "D", "Strap top", "dresses")
    assert variant_key(dress) != variant_key(CATALOG[0])


def test_other_colours_of_the_tried_piece_lead_the_similar_list() -> None:
    rec = _rec()
    shown = rec.recommend("s", "T0", k=4).similar
    assert {r.sku for r in shown[:2]} == {"T1", "T3"}
    assert {r.reason for r in shown[:2]} == {"same_piece"}
    assert all(r.reason != "same_piece" for r in shown[2:])


def test_without_the_bonus_content_ranks_the_variants_below_the_lookalikes() -> None:
    shown = [r.sku for r in _rec().recommend("s", "T0", k=4, weights={"mirror_variant": 0.0}).similar]
    assert "T1" not in shown and "T3" not in shown


def test_sold_out_and_already_tried_variants_are_not_shown() -> None:
    rec = _rec()
    shown = [r.sku for r in rec.recommend("s", "T0", session_skus=["T3"], k=10).similar]
    assert "T2" not in shown and "T3" not in shown and shown[0] == "T1"


def test_a_name_shared_by_too_many_skus_is_generic_and_gives_no_variants() -> None:
    many = [_item(f"G{i}", "Basic tee", "black", ("basic",)) for i in range(MAX_VARIANTS + 1)]
    rec = MirrorRecommender()
    rec.load_catalog([*many, *LOOKALIKES])
    assert all(r.reason != "same_piece" for r in rec.recommend("s", "G0", k=10).similar)
    rec.load_catalog(many[:MAX_VARIANTS])
    assert {r.reason for r in rec.recommend("s", "G0", k=5).similar} == {"same_piece"}
