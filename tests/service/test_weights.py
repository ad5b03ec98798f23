"""Ops weights: bounds, versions with author and diff, history and rollback."""

from __future__ import annotations

from fastapi.testclient import TestClient

from recsys.weights import WEIGHT_SPECS


def test_defaults_are_version_zero(client: TestClient, mall: dict[str, str]) -> None:
    body = client.get("/v1/ranking/weights", headers=mall).json()
    assert body["version"] == 0 and body["weights"] == {k: s.default for k, s in WEIGHT_SPECS.items()}


def test_each_put_creates_a_version_with_author_and_diff(client: TestClient, mall: dict[str, str]) -> None:
    r1 = client.put(
        "/v1/ranking/weights", json={"weights": {"popularity": 2.0}, "comment": "more popular"}, headers=mall
    )
    r2 = client.put("/v1/ranking/weights", json={"weights": {"crowding": 0.0}}, headers=mall)
    assert (r1.json()["version"], r2.json()["version"]) == (1, 2)
    assert r1.json()["diff"] == {"popularity": {"from": WEIGHT_SPECS["popularity"].default, "to": 2.0}}
    assert r2.json()["weights"]["popularity"] == 2.0 and r2.json()["author"].startswith("admin#")
    history = client.get("/v1/ranking/weights/history", headers=mall).json()
    assert [h["version"] for h in history] == [2, 1] and history[1]["comment"] == "more popular"


def test_unknown_keys_and_out_of_range_values_are_422(client: TestClient, mall: dict[str, str]) -> None:
    r = client.put("/v1/ranking/weights", json={"weights": {"popularity": -1, "shoe_size": 3}}, headers=mall)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"popularity", "shoe_size"}
    r = client.put("/v1/ranking/weights", json={"weights": {"exploration": 1.5}}, headers=mall)
    assert r.status_code == 422 and "between 0.0 and 1.0" in r.json()["errors"][0]["message"]
    assert client.get("/v1/ranking/weights", headers=mall).json()["version"] == 0


def test_rollback_restores_an_earlier_version_as_a_new_one(client: TestClient, mall: dict[str, str]) -> None:
    client.put("/v1/ranking/weights", json={"weights": {"popularity": 2.0}}, headers=mall)
    client.put("/v1/ranking/weights", json={"weights": {"popularity": 5.0, "learned": 0.0}}, headers=mall)
    r = client.post("/v1/ranking/weights/rollback/1", headers=mall)
    assert r.status_code == 200 and r.json()["version"] == 3
    assert (
        r.json()["weights"]["popularity"] == 2.0 and r.json()["weights"]["learned"] == WEIGHT_SPECS["learned"].default
    )
    assert client.post("/v1/ranking/weights/rollback/99", headers=mall).status_code == 404


def test_change_reaches_this_workers_cache(client: TestClient, mall: dict[str, str]) -> None:
    client.put("/v1/ranking/weights", json={"weights": {"popularity": 3.0}}, headers=mall)
    assert client.get("/readyz").json()["weights_version"] == 1
