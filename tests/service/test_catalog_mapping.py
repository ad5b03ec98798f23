"""Catalog import with a column mapping: the retailer's columns in, the upload's validation applied."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from screens.cli import app as cli
from screens.services.mirror.catalog_mapping import load_mapping, mapped_rows
from screens.services.uploads import validate_catalog

HM_MAPPING = Path(__file__).parents[2] / "docs" / "examples" / "hm-catalog-mapping.yaml"
HM_ARTICLES = Path(__file__).parents[2] / ".." / "shared" / "data" / "baskets-hm" / "articles.csv"
MAPPING = """
fields:
  sku: {from: code}
  name: {from: title}
  category:
    from: group
    values: {Upper body: tops, Lower body: bottoms}
    otherwise: other
  gender_target: {from: line, values: {Ladies: women, Men: men}}
  colors: {from: colour, split: "/"}
  style_tags: {join: [fabric, fit], values: {none: ""}}
  price: {from: cents, scale: 0.01}
  stock: {value: 3}
"""
EXPORT = (
    "code,title,group,line,colour,fabric,fit,cents,warehouse\n"
    "A1,Linen shirt,Upper body,Ladies,White/Blue,linen,relaxed,5990,north\n"
    "B1,Chinos,Lower body,Men,Sand,cotton,none,7900,south\n"
    "C1,Beanie,Hats,Men,Black,wool,none,1500,south\n"
)


def _upload(client: TestClient, headers: dict[str, str], export: str, mapping: str = MAPPING, **params: str):
    files = {
        "file": ("export.csv", export.encode(), "text/csv"),
        "mapping": ("map.yaml", mapping.encode(), "text/yaml"),
    }
    return client.put("/v1/stores/s1/catalog", files=files, headers=headers, params=params)


def test_mapping_renames_maps_values_joins_tags_and_scales_prices() -> None:
    rows = mapped_rows(load_mapping(MAPPING), EXPORT.encode(), "text/csv")
    by_sku = {r["sku"]: r for r in rows}
    assert by_sku["A1"] == {
        "sku": "A1",
        "name": "Linen shirt",
        "category": "tops",
        "gender_target": "women",
        "colors": ["White", "Blue"],
        "style_tags": ["linen", "relaxed"],
        "price": 59.9,
        "stock": 3,
    }
    assert by_sku["B1"]["style_tags"] == ["cotton"]  # "none" maps to nothing and is dropped
    assert by_sku["C1"]["category"] == "other"  # `otherwise` catches unmapped groups
    assert len(validate_catalog(rows)) == 3


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ("fields: {sku: {from: code}}", "mapping.fields"),  # required catalog fields missing
        (MAPPING + "  colour_code: {from: colour}\n", "mapping.fields"),  # not a catalog field
        (MAPPING.replace("{value: 3}", "{value: 3, from: stock}"), "mapping.fields.stock"),
        (MAPPING.replace("scale: 0.01", "scale: -1"), "mapping.fields.price.scale"),
        ("fields: [", "mapping"),
    ],
)
def test_malformed_mapping_is_a_422_naming_the_entry(mapping: str, field: str) -> None:
    from screens.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        load_mapping(mapping)
    assert any(e["field"].startswith(field) for e in caught.value.extra["errors"]), caught.value.extra


def test_mapped_upload_is_stored(client: TestClient, mall: dict[str, str]) -> None:
    r = _upload(client, mall, EXPORT)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 3
    items = {i["sku"]: i for i in client.get("/v1/stores/s1/catalog", headers=mall).json()["items"]}
    assert items["A1"]["price"] == pytest.approx(59.9) and items["A1"]["category"] == "tops"
    assert items["B1"]["gender_target"] == "men"


def test_mapped_upload_validates_as_uploads_do_and_names_the_source_column(
    client: TestClient, mall: dict[str, str]
) -> None:
    bad = EXPORT + "D1,Scarf,Accessories,Kids,Red,silk,none,-200,north\n"  # no gender mapping, negative price
    r = _upload(client, mall, bad)
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} == {(4, "gender_target"), (4, "price")}
    assert {e["source"] for e in errors} == {"column 'line'", "column 'cents'"}
    assert client.get("/v1/stores/s1/catalog", headers=mall).json()["total"] == 0  # nothing half-written


def test_mapped_dry_run_writes_nothing(client: TestClient, mall: dict[str, str]) -> None:
    r = _upload(client, mall, EXPORT, dry_run="true")
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True and r.json()["new"] == 3
    assert client.get("/v1/stores/s1/catalog", headers=mall).json()["total"] == 0


def test_file_without_a_mapped_column_is_rejected(client: TestClient, mall: dict[str, str]) -> None:
    export = EXPORT.replace("cents", "price_cents")
    r = _upload(client, mall, export)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"row": 0, "field": "price", "message": "mapped from column 'cents', which the file does not have"}
    ]


def test_multipart_without_mapping_part_is_a_422(client: TestClient, mall: dict[str, str]) -> None:
    files = {"file": ("export.csv", EXPORT.encode(), "text/csv")}
    r = client.put("/v1/stores/s1/catalog", files=files, headers=mall)
    assert r.status_code == 422 and r.json()["errors"] == [{"field": "mapping", "message": "part is missing"}]


def test_cli_import_with_map(settings, mall: dict[str, str], client: TestClient, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    export, mapping = tmp_path / "export.csv", tmp_path / "map.yaml"
    export.write_text(EXPORT)
    mapping.write_text(MAPPING)
    env = {"VITRINE_DATABASE_URL": settings.database_url}
    runner = CliRunner()
    dry = runner.invoke(
        cli, ["catalog", "import", str(export), "--store", "s1", "--map", str(mapping), "--dry-run"], env=env
    )
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["new"] == 3
    done = runner.invoke(cli, ["catalog", "import", str(export), "--store", "s1", "--map", str(mapping)], env=env)
    assert done.exit_code == 0, done.output
    assert client.get("/v1/stores/s1/catalog", headers=mall).json()["total"] == 3
    export.write_text(EXPORT.replace("5990", "lots"))
    bad = runner.invoke(cli, ["catalog", "import", str(export), "--store", "s1", "--map", str(mapping)], env=env)
    assert bad.exit_code == 2
    assert '"source": "column \'cents\'"' in bad.stderr


@pytest.mark.skipif(not HM_ARTICLES.exists(), reason="../shared/data/baskets-hm is not here")
def test_hm_export_imports_through_the_shipped_mapping() -> None:
    rows = mapped_rows(load_mapping(HM_MAPPING.read_text()), HM_ARTICLES.read_bytes(), "text/csv")
    valid = validate_catalog(rows)
    assert len(valid) == sum(1 for _ in csv.DictReader(io.StringIO(HM_ARTICLES.read_text())))
    categories = {r.category for r in valid}
    assert {"tops", "bottoms", "dresses", "shoes", "socks", "underwear"} <= categories
    assert {r.gender_target for r in valid} == {"women", "men", "kids", "unisex"}
