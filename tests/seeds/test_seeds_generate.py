"""The demo mall generator: deterministic, the right size, and every row uploadable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from seeds import generate_catalog, generate_mall, load_mall, write_mall
from seeds.generate import AUDIENCE_CELLS, main

GENDER_TARGETS = {"women", "men", "unisex", "kids"}
UPLOAD_KEYS = {
    "store_id",
    "sku",
    "name",
    "category",
    "subcategory",
    "gender_target",
    "colors",
    "style_tags",
    "price",
    "sale_price",
    "stock",
    "image_url",
    "complements",
}
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_mall():
    return generate_mall(6, 40, seed=7, now=NOW)


def test_same_seed_gives_the_same_mall():
    a, b = generate_mall(6, 40, seed=11, now=NOW), generate_mall(6, 40, seed=11, now=NOW)
    assert (a.stores, a.screens, a.catalog, a.coupons, a.audience) == (
        b.stores,
        b.screens,
        b.catalog,
        b.coupons,
        b.audience,
    )


def test_different_seeds_give_different_malls():
    assert generate_mall(6, 40, seed=1).catalog != generate_mall(6, 40, seed=2).catalog


def test_same_seed_writes_byte_identical_files(tmp_path: Path):
    for name in ("a", "b"):
        write_mall(generate_mall(6, 40, seed=3, now=NOW), tmp_path / name)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def test_small_mall_has_requested_sizes_and_variety(small_mall):
    assert len(small_mall.stores) == 6
    assert all(len(small_mall.catalog[s["id"]]) == 40 for s in small_mall.stores)
    assert {"fashion", "sports"} <= {s["category"] for s in small_mall.stores}
    kinds = [sc["kind"] for sc in small_mall.screens]
    assert kinds.count("entrance_camera") == 6
    assert kinds.count("lead_in") >= 2 and kinds.count("mirror") >= 1


def test_full_mall_reaches_the_benchmark_scale():
    mall = generate_mall()
    assert len(mall.stores) >= 60 and mall.n_items >= 20_000
    assert len({s["name"] for s in mall.stores}) == len(mall.stores)
    assert {s["category"] for s in mall.stores} == {
        "fashion",
        "sports",
        "beauty",
        "kids",
        "electronics",
        "food",
    }


def test_screens_point_at_the_right_stores(small_mall):
    by_id = {s["id"]: s for s in small_mall.stores}
    for screen in small_mall.screens:
        if screen["kind"] == "lead_in":
            assert screen["store_id"] is None
        else:
            assert screen["store_id"] in by_id
        if screen["kind"] == "mirror":
            assert by_id[screen["store_id"]]["category"] in {"fashion", "sports"}
    assert len({sc["id"] for sc in small_mall.screens}) == len(small_mall.screens)


def test_every_catalog_row_is_valid():
    ids = [f"s{i:03d}" for i in range(12)]
    items = generate_catalog(6_000, ids, seed=5)
    skus_by_store: dict[str, set[str]] = {}
    for item in items:
        skus_by_store.setdefault(item["store_id"], set()).add(item["sku"])
    assert sum(map(len, skus_by_store.values())) == len(items), "SKUs must be unique"
    categories = {item["category"] for item in items}
    for item in items:
        assert set(item) == UPLOAD_KEYS
        assert item["gender_target"] in GENDER_TARGETS
        assert item["price"] > 0 and item["stock"] >= 0
        assert item["sale_price"] is None or 0 < item["sale_price"] <= item["price"]
        assert all(isinstance(c, str) and c for c in item["colors"] + item["style_tags"])
        assert item["style_tags"]
        for comp in item["complements"]:
            assert comp in skus_by_store[item["store_id"]] or comp in categories, comp
        assert item["sku"] not in item["complements"]


def test_catalog_has_sales_stockouts_and_chinese_names():
    items = generate_catalog(5_000, ["s001", "s002", "s003"], seed=1)
    assert 0.1 < sum(i["sale_price"] is not None for i in items) / len(items) < 0.3
    assert any(i["stock"] == 0 for i in items)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in i["name"]) for i in items)
    assert any(i["image_url"] is None for i in items)


def test_dresses_and_heels_target_women():
    items = generate_catalog(3_000, ["s001"], seed=2, store_types={"s001": "fashion"})
    assert {i["gender_target"] for i in items if i["category"] == "dresses"} == {"women"}
    assert {i["gender_target"] for i in items if i["subcategory"] == "heels"} == {"women"}


def test_items_are_spread_evenly_over_stores():
    items = generate_catalog(10, ["a", "b", "c"], seed=0)
    counts = {s: sum(i["store_id"] == s for i in items) for s in "abc"}
    assert counts == {"a": 4, "b": 3, "c": 3}


def test_each_store_has_a_live_coupon():
    mall = generate_mall(60, 0, seed=7, now=NOW)
    for store in mall.stores:
        coupons = mall.coupons[store["id"]]
        assert 2 <= len(coupons) <= 5
        first = coupons[0]
        assert first["active"]
        assert datetime.fromisoformat(first["valid_from"]) <= NOW < datetime.fromisoformat(first["valid_to"])
        for c in coupons:
            assert c["kind"] in {"percent", "amount", "gift"}
            assert datetime.fromisoformat(c["valid_from"]) < datetime.fromisoformat(c["valid_to"])
            assert c["value"] >= 0 and c["min_spend"] >= 0 and c["daily_cap"] > 0


def test_audience_is_a_distribution_over_known_cells(small_mall):
    for audience in small_mall.audience.values():
        assert tuple(audience) == AUDIENCE_CELLS
        assert sum(audience.values()) == pytest.approx(1.0, abs=1e-4)


def test_audience_cells_match_recsys():
    attributes = pytest.importorskip("recsys.attributes")
    assert AUDIENCE_CELLS == attributes.KNOWN_CELLS


def test_cli_writes_a_loadable_mall(tmp_path: Path, caplog):
    assert main(["--out", str(tmp_path), "--preset", "small", "--seed", "4", "--now", "2026-03-01"]) == 0
    stores = json.loads((tmp_path / "stores.json").read_text(encoding="utf-8"))
    assert len(stores) == 6
    loaded = load_mall(tmp_path)
    assert loaded.catalog == generate_mall(6, 40, seed=4).catalog
    assert len(json.loads((tmp_path / "screens.json").read_text(encoding="utf-8"))) == len(loaded.screens)
