"""Category compatibility learned from co-purchases and co-try-ons, merged under the merchandiser's table."""

from __future__ import annotations

from pathlib import Path

from recsys.mirror.catalog import Purchase, TryOn
from recsys.mirror.compatibility import LearnedCompatibility, learn_compatibility, merge_compatibility

CATEGORY = {("s", "T"): "tops", ("s", "B"): "bottoms", ("s", "K"): "socks", ("s", "H"): "hats"}


def _sessions(n: int, skus: tuple[str, ...], start: int = 0) -> list[TryOn]:
    return [TryOn(f"x{start + i}", "s", sku, float(i)) for i in range(n) for sku in skus]


def test_pairs_below_min_support_are_left_out_and_rows_peak_at_one() -> None:
    tryons = _sessions(10, ("T", "B")) + _sessions(4, ("T", "H"), start=100)
    learned = learn_compatibility(tryons, [], CATEGORY, min_support=5)
    assert learned.table["tops"] == {"bottoms": 1.0}, "4 sessions of tops with hats are noise"
    assert learned.support["tops"] == {"bottoms": 10}
    assert learned.table["bottoms"] == {"tops": 1.0}
    assert "hats" not in learned.table


def test_a_receipt_counts_more_than_a_try_on_session() -> None:
    tried = _sessions(10, ("T", "B"))  # tops tried with bottoms ten times ...
    bought = [Purchase(None, "s", ("T", "K"), float(i)) for i in range(5)]  # ... bought with socks five times
    assert learn_compatibility(tried, bought, CATEGORY, purchase_weight=1.0).table["tops"]["socks"] < 1.0
    heavy = learn_compatibility(tried, bought, CATEGORY, purchase_weight=3.0).table["tops"]
    assert heavy["socks"] == 1.0 and heavy["bottoms"] < 1.0


def test_unknown_items_and_same_category_pairs_teach_nothing() -> None:
    tryons = _sessions(6, ("T", "Z")) + [TryOn("y", "s", "T", 0.0), TryOn("y", "s", "T", 1.0)]
    assert learn_compatibility(tryons, [], CATEGORY).table == {}


def test_the_merchandisers_entries_override_and_learned_pairs_fill_the_gaps() -> None:
    learned = {"tops": {"bottoms": 1.0, "socks": 0.4}, "socks": {"tops": 1.0}}
    merchandiser = {"tops": {"bottoms": 0.5, "shoes": 0.8, "socks": 0.0}}
    assert merge_compatibility(learned, merchandiser) == {
        "tops": {"bottoms": 0.5, "socks": 0.0, "shoes": 0.8},
        "socks": {"tops": 1.0},
    }


def test_learned_table_round_trips(tmp_path: Path) -> None:
    learned = learn_compatibility(_sessions(6, ("T", "B", "K")), [], CATEGORY)
    learned.save(tmp_path / "c.json")
    assert LearnedCompatibility.load(tmp_path / "c.json") == learned
