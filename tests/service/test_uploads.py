"""Merchandiser uploads: validation, atomicity, formats, limits."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

HEADER = "sku,name,category,subcategory,gender_target,colors,style_tags,price,sale_price,stock,image_url,complements\n"
GOOD = (
    'A1,"Linen shirt, white",tops,shirts,women,white|blue,casual|minimal,59.9,39.9,12,,B1|bottoms\n'
    "B1,高腰阔腿裤,bottoms,trousers,women,black,minimal,79,,5,https://img.example/b1.jpg,A1\n"
)
CSV = {"Content-Type": "text/csv; charset=utf-8"}


def _catalog(client: TestClient, headers: dict[str, str], store: str = "s1") -> dict:
    r = client.get(f"/v1/stores/{store}/catalog", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_csv_upload_with_bom_quotes_and_chinese_is_stored(client: TestClient, mall: dict[str, str]) -> None:
    body = ("\ufeff" + HEADER + GOOD).encode()
    r = client.put("/v1/stores/s1/catalog", content=body, headers=mall | CSV)
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 2
    items = {i["sku"]: i for i in _catalog(client, mall)["items"]}
    assert items["A1"]["name"] == "Linen shirt, white"
    assert items["A1"]["colors"] == ["white", "blue"]
    assert items["A1"]["complements"] == ["B1", "bottoms"]
    assert items["B1"]["name"] == "高腰阔腿裤" and items["B1"]["sale_price"] is None


def test_bad_row_rejects_whole_upload_and_names_row_and_field(client: TestClient, mall: dict[str, str]) -> None:
    bad = HEADER + GOOD + "C1,Scarf,accessories,,aliens,red,,12,15,3,,\n" + "D1,Cap,accessories,,men,,,-1,,2,,\n"
    r = client.put("/v1/stores/s1/catalog", content=bad.encode(), headers=mall | CSV)
    assert r.status_code == 422
    errors = r.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} >= {(3, "gender_target"), (4, "price")}
    assert _catalog(client, mall)["total"] == 0


def test_sale_price_above_price_is_a_row_error(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put(
        "/v1/stores/s1/catalog",
        json=[
            {
                "sku": "X",
                "name": "x",
                "category": "tops",
                "gender_target": "men",
                "price": 10,
                "sale_price": 12,
                "stock": 1,
            }
        ],
        headers=mall,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["row"] == 1 and "sale_price" in r.json()["errors"][0]["message"]


def test_bad_upload_leaves_existing_catalog_untouched(client: TestClient, mall: dict[str, str]) -> None:
    assert client.put("/v1/stores/s1/catalog", content=(HEADER + GOOD).encode(), headers=mall | CSV).status_code == 200
    r = client.put(
        "/v1/stores/s1/catalog?mode=replace",
        content=(HEADER + "Z9,Hat,accessories,,men,,,x,,1,,\n").encode(),
        headers=mall | CSV,
    )
    assert r.status_code == 422
    assert sorted(i["sku"] for i in _catalog(client, mall)["items"]) == ["A1", "B1"]


def test_json_upload_and_replace_mode_removes_missing_rows(client: TestClient, mall: dict[str, str]) -> None:
    rows = [
        {
            "sku": f"J{i}",
            "name": f"Item {i}",
            "category": "tops",
            "gender_target": "unisex",
            "colors": ["red"],
            "style_tags": [],
            "price": 10 + i,
            "stock": i,
            "complements": [],
        }
        for i in range(5)
    ]
    assert client.put("/v1/stores/s1/catalog", json=rows, headers=mall).status_code == 200
    r = client.put("/v1/stores/s1/catalog?mode=replace", json=rows[:2], headers=mall)
    assert r.status_code == 200 and r.json()["removed"] == 3
    assert [i["sku"] for i in _catalog(client, mall)["items"]] == ["J0", "J1"]
    rows[0]["stock"] = 99
    assert client.put("/v1/stores/s1/catalog", json=rows[:1], headers=mall).json()["removed"] == 0
    assert _catalog(client, mall)["items"][0]["stock"] == 99


def test_catalog_is_paginated(client: TestClient, mall: dict[str, str]) -> None:
    rows = [
        {"sku": f"P{i:03d}", "name": "n", "category": "tops", "gender_target": "men", "price": 1, "stock": 1}
        for i in range(25)
    ]
    client.put("/v1/stores/s1/catalog", json=rows, headers=mall)
    page = client.get("/v1/stores/s1/catalog?limit=10&offset=20", headers=mall).json()
    assert page["total"] == 25 and [i["sku"] for i in page["items"]] == [f"P{i:03d}" for i in range(20, 25)]


def test_wrong_content_type_is_415(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/stores/s1/catalog", content=b"<xml/>", headers=mall | {"Content-Type": "application/xml"})
    assert r.status_code == 415 and "text/csv" in r.json()["detail"]


def test_body_over_limit_is_413(client: TestClient, mall: dict[str, str]) -> None:
    limit = client.app.state.runtime.settings.upload_max_bytes  # type: ignore[attr-defined]
    r = client.put("/v1/stores/s1/catalog", content=b"x" * (limit + 1), headers=mall | CSV)
    assert r.status_code == 413


def test_missing_and_unknown_csv_columns_are_reported(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/stores/s1/catalog", content=b"sku,name,colour\nA,b,red\n", headers=mall | CSV)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"category", "gender_target", "price", "stock", "colour"} <= fields


def test_duplicate_sku_in_one_upload_is_rejected(client: TestClient, mall: dict[str, str]) -> None:
    row = {"sku": "D", "name": "n", "category": "tops", "gender_target": "men", "price": 1, "stock": 1}
    r = client.put("/v1/stores/s1/catalog", json=[row, row], headers=mall)
    assert r.status_code == 422 and r.json()["errors"] == [{"row": 2, "field": "sku", "message": "duplicate of row 1"}]


def test_upload_to_unknown_store_is_404(client: TestClient, mall: dict[str, str]) -> None:
    assert client.put("/v1/stores/nope/catalog", json=[], headers=mall).status_code == 404


COUPON_CSV = (
    "coupon_id,title,kind,value,min_spend,valid_from,valid_to,daily_cap,total_stock,active\n"
    "c1,20% off shirts,percent,20,0,2026-01-01T00:00:00Z,2027-01-01T00:00:00Z,50,500,true\n"
    'c2,"¥30 off, over ¥200",amount,30,200,2026-01-01T00:00:00+08:00,2027-01-01T00:00:00+08:00,,,1\n'
)


def test_coupon_csv_upload_round_trips(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/stores/s1/coupons", content=COUPON_CSV.encode(), headers=mall | CSV)
    assert r.status_code == 200, r.text
    items = {c["coupon_id"]: c for c in client.get("/v1/stores/s1/coupons", headers=mall).json()["items"]}
    assert items["c1"]["daily_cap"] == 50 and items["c2"]["title"] == "¥30 off, over ¥200"
    assert items["c2"]["valid_from"].startswith("2025-12-31T16:00:00")


def test_bad_coupon_rows_reject_the_upload(client: TestClient, mall: dict[str, str]) -> None:
    bad = COUPON_CSV + "c3,Bad,percent,150,0,2026-01-01T00:00:00Z,2025-01-01T00:00:00Z,,,true\n"
    r = client.put("/v1/stores/s1/coupons", content=bad.encode(), headers=mall | CSV)
    assert r.status_code == 422 and {e["row"] for e in r.json()["errors"]} == {3}
    assert client.get("/v1/stores/s1/coupons", headers=mall).json()["total"] == 0


def test_coupon_id_of_another_store_is_rejected(client: TestClient, mall: dict[str, str]) -> None:
    assert client.put("/v1/stores/s1/coupons", content=COUPON_CSV.encode(), headers=mall | CSV).status_code == 200
    r = client.put("/v1/stores/s2/coupons", content=COUPON_CSV.encode(), headers=mall | CSV)
    assert r.status_code == 422 and "belongs to store 's1'" in json.dumps(r.json(), ensure_ascii=False)
