"""The upload CSVs round-trip exactly, including Chinese names and fields that need quoting."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS
from seeds import generate_catalog, generate_mall, read_catalog_csv, read_coupons_csv
from seeds.files import write_catalog_csv, write_coupons_csv


def _item(**overrides):
    item = {
        "store_id": "s001",
        "sku": "S001-00001",
        "name": "Classic Tee",
        "category": "tops",
        "subcategory": "t-shirt",
        "gender_target": "women",
        "colors": ["black", "white"],
        "style_tags": ["casual"],
        "price": 29.99,
        "sale_price": None,
        "stock": 3,
        "image_url": None,
        "complements": ["S001-00002", "shoes"],
    }
    return item | overrides


def test_generated_catalog_round_trips(tmp_path: Path):
    items = generate_catalog(2_000, ["s001"], seed=9)
    write_catalog_csv(items, tmp_path / "c.csv")
    assert read_catalog_csv(tmp_path / "c.csv", "s001") == items


@pytest.mark.parametrize("name", ["黑色连帽卫衣", "Oxford Shirt, Slim Fit", 'Tee "Limited"', "two\nlines", 'é,"中"'])
def test_names_that_need_quoting_or_utf8_round_trip(tmp_path: Path, name: str):
    items = [_item(name=name), _item(sku="S001-00002", sale_price=19.5, image_url="https://x/y.jpg")]
    write_catalog_csv(items, tmp_path / "c.csv")
    assert read_catalog_csv(tmp_path / "c.csv", "s001") == items


def test_catalog_header_is_exactly_the_upload_format(tmp_path: Path):
    write_catalog_csv([_item()], tmp_path / "c.csv")
    raw = (tmp_path / "c.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no BOM"
    header = raw.decode("utf-8").splitlines()[0]
    expected = "sku,name,category,subcategory,gender_target,colors,style_tags,price,sale_price,stock,"
    assert header == expected + "image_url,complements"
    assert tuple(header.split(",")) == CATALOG_COLUMNS
    row = next(csv.DictReader(raw.decode("utf-8").splitlines()))
    assert row["colors"] == "black|white" and row["sale_price"] == "" and row["image_url"] == ""


def test_coupons_round_trip_with_exact_header(tmp_path: Path):
    mall = generate_mall(3, 5, seed=1, now=datetime(2026, 3, 1, tzinfo=UTC))
    for store_id, coupons in mall.coupons.items():
        path = tmp_path / f"{store_id}.csv"
        write_coupons_csv(coupons, path)
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COUPON_COLUMNS)
        assert read_coupons_csv(path) == coupons


def test_reader_refuses_wrong_columns(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("sku,name\nA,b\n", encoding="utf-8")
    with pytest.raises(ValueError, match="columns must be exactly"):
        read_catalog_csv(path, "s001")


def test_generated_uploads_pass_the_service_validation(tmp_path: Path):
    """Contract test with ``screens``: every generated CSV is accepted by the upload validator."""
    uploads = pytest.importorskip("screens.services.uploads")
    from screens.services.upload_rows import read_rows

    mall = generate_mall(60, 60, seed=7)
    for store_id in mall.catalog:
        write_catalog_csv(mall.catalog[store_id], tmp_path / "c.csv")
        write_coupons_csv(mall.coupons[store_id], tmp_path / "k.csv")
        with (tmp_path / "c.csv").open("rb") as body:
            raw = list(read_rows(body, "text/csv", CATALOG_COLUMNS))
        assert len(uploads.CATALOG.adapter.validate_python(raw)) == 60
        with (tmp_path / "k.csv").open("rb") as body:
            raw = list(read_rows(body, "text/csv", COUPON_COLUMNS))
        assert len(uploads.COUPONS.adapter.validate_python(raw)) == len(mall.coupons[store_id])
