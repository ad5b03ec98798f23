"""Dry runs and templates: the row-level report before anything is written."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TokenFactory
from tests.console.seed import coupon

HEADER = "sku,name,category,subcategory,gender_target,colors,style_tags,price,sale_price,stock,image_url,complements\n"
A1 = "A1,Linen shirt,tops,shirts,women,white,casual,59.9,39.9,12,,\n"
B1 = "B1,Trousers,bottoms,,women,black,,79,,5,,\n"
C1 = "C1,Scarf,accessories,,unisex,red,,12,,3,,\n"
CSV = {"Content-Type": "text/csv"}


def _skus(client: TestClient, headers: dict[str, str]) -> list[str]:
    r = client.get("/v1/stores/s1/catalog", headers=headers)
    assert r.status_code == 200, r.text
    return sorted(i["sku"] for i in r.json()["items"])


def test_dry_run_with_a_bad_row_names_row_and_field_and_writes_nothing(
    client: TestClient, mall: dict[str, str]
) -> None:
    bad = HEADER + A1 + "X9,Hat,accessories,,aliens,,,12,,1,,\n" + "Y9,Cap,accessories,,men,,,-3,,1,,\n"
    r = client.put("/v1/stores/s1/catalog?dry_run=true", content=bad.encode(), headers=mall | CSV)
    assert r.status_code == 422
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {(2, "gender_target"), (3, "price")}
    assert _skus(client, mall) == []


def test_dry_run_of_a_valid_upload_counts_changes_and_writes_nothing(client: TestClient, mall: dict[str, str]) -> None:
    first = client.put("/v1/stores/s1/catalog", content=(HEADER + A1 + B1).encode(), headers=mall | CSV)
    assert first.status_code == 200
    r = client.put(
        "/v1/stores/s1/catalog?dry_run=true&mode=replace", content=(HEADER + A1 + C1).encode(), headers=mall | CSV
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "store_id": "s1",
        "mode": "replace",
        "dry_run": True,
        "rows": 2,
        "new": 1,
        "updated": 1,
        "removed": 1,
    }
    assert _skus(client, mall) == ["A1", "B1"]


def test_coupon_dry_run_flags_ids_owned_by_another_store(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/stores/s1/coupons?dry_run=true", json=[coupon("NEW"), coupon("D1")], headers=mall)
    assert r.status_code == 422
    assert r.json()["errors"] == [{"row": 2, "field": "coupon_id", "message": "belongs to store 's2'"}]
    r = client.put("/v1/stores/s1/coupons?dry_run=true", json=[coupon("C1"), coupon("NEW")], headers=mall)
    assert (r.json()["new"], r.json()["updated"], r.json()["removed"]) == (1, 1, 0)
    stored = client.get("/v1/stores/s1/coupons", headers=mall).json()["items"]
    assert sorted(c["coupon_id"] for c in stored) == ["C1", "C2"]


def test_dry_run_needs_the_same_rights_as_the_upload(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    other = auth("merchandiser", store_ids=["s2"])
    r = client.put("/v1/stores/s1/catalog?dry_run=true", content=(HEADER + A1).encode(), headers=other | CSV)
    assert r.status_code == 403


def test_templates_download_and_pass_their_own_dry_run(client: TestClient, mall: dict[str, str]) -> None:
    for kind in ("catalog", "coupons"):
        r = client.get(f"/v1/templates/{kind}.csv")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert f'filename="{kind}-template.csv"' in r.headers["content-disposition"]
        check = client.put(f"/v1/stores/s2/{kind}?dry_run=true", content=r.content, headers=mall | CSV)
        assert check.status_code == 200, check.text
        assert check.json()["rows"] == 2
