"""Fitting mirrors through the HTTP API: try-ons, item details, similar and complementary items."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from screens.app import create_app
from screens.auth import Role, create_token
from screens.db.session import make_engine
from screens.db.tables import AuditLog, EventRecord
from screens.services.live_push import last_try_on
from screens.services.mirror.training import train_and_maybe_publish
from screens.settings import Settings
from tests.builders import coupon, wait_for
from tests.conftest import TokenFactory, make_settings

Headers = dict[str, str]
STYLES = [("blue", "casual"), ("red", "formal"), ("green", "sporty"), ("black", "minimal"), ("white", "boho")]


def row(sku: str, category: str, color: str, style: str, **kw: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"{color} {style} {category}",
        "category": category,
        "gender_target": "unisex",
        "colors": [color],
        "style_tags": [style],
        "price": 50.0,
        "stock": 5,
        **kw,
    }


def catalog(prefix: str = "", out_of_stock: bool = True) -> list[dict[str, Any]]:
    """Five items per category in five looks; T0 declares the belt A4 as its complement."""
    rows = [
        row(f"{prefix}{c[0].upper()}{i}", c, color, style)
        for c in ("tops", "bottoms", "shoes", "accessories")
        for i, (color, style) in enumerate(STYLES)
    ]
    rows[0] |= {
        "name": "Blue linen shirt",
        "price": 40.0,
        "sale_price": 30.0,
        "stock": 7,
        "complements": [f"{prefix}A4"],
        "image_url": "https://img.example/t0.jpg",
    }
    if out_of_stock:
        rows += [
            row(f"{prefix}TX", "tops", "blue", "casual", stock=0),
            row(f"{prefix}BX", "bottoms", "blue", "casual", stock=0),
        ]
    return rows


class Mirror:
    """The mall of ``tests/service/conftest.py`` with catalogs in s1 and s2 and a device token for mirror1."""

    def __init__(self, client: TestClient, admin: Headers, device: Headers, upload: bool = True) -> None:
        self.client, self.admin, self.device = client, admin, device
        self.runtime = client.app.state.runtime  # type: ignore[attr-defined]
        if upload:
            self.upload("s1", catalog())
            self.upload("s2", catalog("S2-"))

    @classmethod
    def attach(cls, client: TestClient, admin: Headers, device: Headers) -> Mirror:
        """Another worker of the same mall: nothing is uploaded again."""
        return cls(client, admin, device, upload=False)

    @staticmethod
    def build_mall(client: TestClient, admin: Headers) -> None:
        """Stores s1 and s2 and the mirror of s1 (the `mall` fixture, for apps built in a test)."""
        for store_id in ("s1", "s2"):
            body = {"name": store_id, "floor": 1, "zone": "north", "category": "fashion"}
            assert client.put(f"/v1/stores/{store_id}", json=body, headers=admin).status_code == 200
        body = {"kind": "mirror", "store_id": "s1"}
        assert client.put("/v1/screens/mirror1", json=body, headers=admin).status_code == 200

    def upload(self, store_id: str, rows: list[dict[str, Any]], path: str = "catalog") -> None:
        r = self.client.put(f"/v1/stores/{store_id}/{path}", json=rows, headers=self.admin)
        assert r.status_code == 200, r.text
        self.runtime.mirror.settle()

    def try_on(self, sku: str, session_id: str = "sess-1", event_id: str | None = None, **kw: Any) -> Any:
        body = {"event_id": event_id or str(uuid.uuid4()), "sku": sku, "session_id": session_id}
        return self.client.post("/v1/mirrors/mirror1/try-ons", json=body, headers=self.device, params=kw)

    def recommend(self, sku: str, screen_id: str = "mirror1", headers: Headers | None = None, **params: Any) -> Any:
        r = self.client.get(
            f"/v1/mirrors/{screen_id}/recommendations", params={"sku": sku, **params}, headers=headers or self.device
        )
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, model_dir=tmp_path / "models")


@pytest.fixture
def mirror(client: TestClient, mall: Headers, auth: TokenFactory) -> Mirror:
    return Mirror(client, mall, auth("device", screen_id="mirror1"))


def skus(picks: list[dict[str, Any]]) -> list[str]:
    return [p["sku"] for p in picks]


def test_try_on_answers_the_item_similar_and_complementary_items(mirror: Mirror) -> None:
    r = mirror.try_on("T0")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"item", "similar", "complementary", "model_version"}
    assert body["item"] | {"coupons": None} == {
        "sku": "T0",
        "name": "Blue linen shirt",
        "category": "tops",
        "price": 40.0,
        "sale_price": 30.0,
        "discount_pct": 25,
        "stock": 7,
        "image_url": "https://img.example/t0.jpg",
        "coupons": None,
    }
    assert body["similar"] and body["complementary"]
    for pick in body["similar"] + body["complementary"]:
        assert {"sku", "score", "reason", "name", "price", "discount_pct"} <= set(pick) and pick["reason"]


def test_complementary_never_shares_the_tried_items_category(mirror: Mirror) -> None:
    for sku, category in (("T0", "T"), ("B2", "B"), ("S3", "S"), ("A1", "A")):
        body = mirror.recommend(sku, k=20)
        assert body["complementary"]
        assert all(not s.startswith(category) for s in skus(body["complementary"])), body["complementary"]
        assert all(s.startswith(category) for s in skus(body["similar"]))


def test_out_of_stock_and_other_stores_items_never_appear(mirror: Mirror) -> None:
    shown = set()
    for sku in ("T0", "T1", "B0", "S0", "A0"):
        body = mirror.recommend(sku, k=50)
        shown |= set(skus(body["similar"]) + skus(body["complementary"]))
    assert shown and not shown & {"TX", "BX"}
    assert not any(s.startswith("S2-") for s in shown)


def test_unknown_sku_and_a_sku_of_another_store_are_404(mirror: Mirror) -> None:
    r = mirror.try_on("NOPE")
    assert r.status_code == 404 and "'NOPE' is not in the catalog of store 's1'" in r.json()["detail"]
    r = mirror.client.get("/v1/mirrors/mirror1/recommendations", params={"sku": "S2-T0"}, headers=mirror.device)
    assert r.status_code == 404 and "own store" in r.json()["detail"]
    with Session(make_engine(mirror.runtime.settings.database_url)) as session:
        assert session.exec(select(func.count()).select_from(EventRecord)).one() == 0  # nothing recorded


def test_a_merchandiser_declared_complement_appears(mirror: Mirror) -> None:
    body = mirror.recommend("T0", k=3)
    declared = [p for p in body["complementary"] if p["sku"] == "A4"]
    assert declared and declared[0]["reason"] == "merchandiser_pick"
    assert "A4" not in skus(mirror.recommend("T1", k=3)["complementary"])  # T1 declares nothing


def test_the_sessions_earlier_try_ons_shift_the_ranking(mirror: Mirror) -> None:
    mirror.upload("s1", [row("T5", "tops", "red", "formal")])
    before = {p["sku"]: p["score"] for p in mirror.recommend("T0", session_id="sess-9", k=10)["similar"]}
    assert before["T5"] <= max(score for sku, score in before.items() if sku != "T5")  # T0 is blue, casual
    assert mirror.try_on("T1", session_id="sess-9").status_code == 200  # red, formal
    after = mirror.recommend("T0", session_id="sess-9", k=10)["similar"]
    assert after[0]["sku"] == "T5" and after[0]["score"] > after[1]["score"]
    assert after[0]["reason"] == "matches_your_session"
    assert "T1" not in skus(after)  # already tried
    assert mirror.recommend("T0", session_id="sess-other", k=10)["similar"][0]["score"] == max(before.values())


def test_a_session_ends_after_inactivity(mirror: Mirror) -> None:
    mirror.upload("s1", [row("T5", "tops", "red", "formal")])
    mirror.runtime.mirror.sessions.session_ttl_s = 0.3
    assert mirror.try_on("T1", session_id="sess-idle").status_code == 200
    assert mirror.recommend("T0", session_id="sess-idle")["similar"][0]["reason"] == "matches_your_session"
    time.sleep(0.4)
    assert all(p["reason"] != "matches_your_session" for p in mirror.recommend("T0", session_id="sess-idle")["similar"])


def test_a_session_is_never_joined_across_mirrors(mirror: Mirror) -> None:
    r = mirror.client.put("/v1/screens/mirror2", json={"kind": "mirror", "store_id": "s1"}, headers=mirror.admin)
    assert r.status_code == 200
    fresh = mirror.recommend("T0", screen_id="mirror2", headers=mirror.admin, session_id="sess-5")
    assert mirror.try_on("T1", session_id="sess-5").status_code == 200
    assert mirror.try_on("B1", session_id="sess-5").status_code == 200
    assert mirror.recommend("T0", screen_id="mirror2", headers=mirror.admin, session_id="sess-5") == fresh
    assert mirror.recommend("T0", session_id="sess-5") != fresh


def test_a_replayed_try_on_is_recorded_once(mirror: Mirror) -> None:
    event_id = str(uuid.uuid4())
    first, again = mirror.try_on("T0", event_id=event_id), mirror.try_on("T0", event_id=event_id)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    with Session(make_engine(mirror.runtime.settings.database_url)) as session:
        rows = session.exec(select(EventRecord).where(EventRecord.type == "try_on")).all()
    assert [(r.event_id, r.screen_id, r.store_id, r.payload["session_id"]) for r in rows] == [
        (event_id, "mirror1", "s1", mirror.runtime.sessions.stored_id("sess-1"))  # hashed: issue 13
    ]
    wait_for(lambda: mirror.runtime.bus.counters.get("item:s1:T0").get("try_ons") == 1.0)
    time.sleep(0.1)
    assert mirror.runtime.bus.counters.get("item:s1:T0") == {"try_ons": 1.0}


def test_a_device_may_only_use_its_own_mirror(mirror: Mirror, auth: TokenFactory) -> None:
    other = auth("device", screen_id="lead1")
    r = mirror.client.get("/v1/mirrors/mirror1/recommendations", params={"sku": "T0"}, headers=other)
    assert r.status_code == 403
    r = mirror.client.get("/v1/mirrors/lead1/recommendations", params={"sku": "T0"}, headers=other)
    assert r.status_code == 404 and "not a fitting mirror" in r.json()["detail"]


def test_a_catalog_upload_is_reflected_without_a_restart(mirror: Mirror) -> None:
    assert "T3" in skus(mirror.recommend("T0", k=10)["similar"])
    mirror.upload("s1", [row("T3", "tops", "black", "minimal", stock=0), row("T9", "tops", "blue", "casual")])
    similar = skus(mirror.recommend("T0", k=10)["similar"])
    assert "T3" not in similar and "T9" in similar
    assert mirror.recommend("T9")["item"]["name"] == "blue casual tops"


def test_item_details_list_the_stores_usable_coupons(mirror: Mirror) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    mirror.upload(
        "s1",
        [
            coupon("c-ok"),
            coupon("c-off", active=False),
            coupon("c-one", total_stock=1),
            coupon("c-old", valid_from=(past - timedelta(days=5)).isoformat(), valid_to=past.isoformat()),
        ],
        path="coupons",
    )
    mirror.upload("s2", [coupon("c-s2")], path="coupons")
    ids = [c["coupon_id"] for c in mirror.recommend("T0")["item"]["coupons"]]
    assert ids == ["c-ok", "c-one"]
    runtime = mirror.runtime
    before = runtime.consumer.applied
    claim = {
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "type": "coupon_claim",
        "coupon_id": "c-one",
    }
    assert mirror.client.post("/v1/events", json={"events": [claim]}, headers=mirror.admin).json()["accepted"] == 1
    wait_for(lambda: runtime.consumer.applied > before)
    runtime.coupons.state.counters_ttl_s = 0.0
    assert [c["coupon_id"] for c in mirror.recommend("T0")["item"]["coupons"]] == ["c-ok"]  # no stock left


def test_ops_edit_the_compatibility_table(mirror: Mirror) -> None:
    r = mirror.client.get("/v1/mirror/compatibility", headers=mirror.admin)
    assert r.status_code == 200 and r.json()["version"] == 0 and r.json()["table"]["tops"]["bottoms"] == 1.0
    bad = mirror.client.put("/v1/mirror/compatibility", json={"table": {"tops": {"tops": 0.5}}}, headers=mirror.admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "table.tops.tops"
    r = mirror.client.put(
        "/v1/mirror/compatibility", json={"table": {"Tops": {"Shoes": 1.0}}, "comment": "shoes"}, headers=mirror.admin
    )
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["table"] == {"tops": {"shoes": 1.0}}
    assert set(skus(mirror.recommend("T1", k=20)["complementary"])) == {"S0", "S1", "S2", "S3", "S4"}
    assert "A4" in skus(mirror.recommend("T0", k=20)["complementary"])  # declared complements still show
    with Session(make_engine(mirror.runtime.settings.database_url)) as session:
        audit = session.exec(select(AuditLog).where(col(AuditLog.action) == "mirror.compatibility.update")).one()
    assert audit.target == "mirror_compatibility:v1" and audit.detail["diff"]["tops.shoes"] == {"from": 0.6, "to": 1.0}
    assert mirror.client.put("/v1/mirror/compatibility", json={"table": {}}, headers=mirror.device).status_code == 403


def test_trained_models_are_published_and_served(mirror: Mirror) -> None:
    for n in range(6):
        mirror.client.post(
            "/v1/events",
            headers=mirror.admin,
            json={
                "events": [
                    {
                        "event_id": str(uuid.uuid4()),
                        "ts": datetime.now(UTC).isoformat(),
                        "type": "audience",
                        "screen_id": "mirror1",
                        "faces": [{"gender": "female", "age": 30, "confidence": 0.9}],
                    }
                ]
            },
        )
        for sku in ("T0", "B3", "S2"):
            assert mirror.try_on(sku, session_id=f"train-{n}").status_code == 200
    runtime = mirror.runtime
    report = train_and_maybe_publish(
        runtime.engine,
        runtime.settings.model_dir,
        runtime.bus.config,
        window_s=runtime.settings.crowd_window_s,
        force=True,
        factors=4,
        iterations=2,
    ).as_dict()
    assert (
        report["published"] is True
        and report["try_ons"] == 18
        and report["sessions"] == 6
        and report["sessions_with_profile"] == 6
    )
    runtime.mirror.settle()
    assert runtime.mirror.models_version == report["version"]
    assert mirror.recommend("T0")["model_version"].startswith(report["version"])


def test_sessions_catalogs_and_the_table_reach_every_worker_through_redis(
    sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    """Two workers (two apps on one database and one Redis): what one learns, the other answers with."""
    settings = make_settings(sqlite_url, redis_url=redis_url, model_dir=tmp_path / "models")
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        admin = _token(settings, "admin")
        Mirror.build_mall(one, admin)
        mirror = Mirror(one, admin, _token(settings, "device", screen_id="mirror1"))
        mirror.upload("s1", [row("T5", "tops", "red", "formal")])
        other = Mirror.attach(two, admin, mirror.device)

        def similar_at_two(session_id: str = "sess-r") -> list[dict[str, Any]]:
            r = two.get(
                "/v1/mirrors/mirror1/recommendations", params={"sku": "T0", "session_id": session_id}, headers=admin
            )
            return r.json()["similar"] if r.status_code == 200 else []

        wait_for(lambda: bool(similar_at_two()))
        assert mirror.try_on("T1", session_id="sess-r").status_code == 200
        assert similar_at_two()[0]["sku"] == "T5"  # the session lives in Redis, not in worker one

        mirror.upload("s1", [row("T9", "tops", "blue", "casual")])
        wait_for(lambda: "T9" in skus(similar_at_two("sess-new")))
        r = one.put("/v1/mirror/compatibility", json={"table": {"tops": {"shoes": 1.0}}}, headers=admin)
        assert r.status_code == 200
        wait_for(lambda: other.runtime.mirror.compatibility_version == 1)
        body = two.get("/v1/mirrors/mirror1/recommendations", params={"sku": "T1", "k": 20}, headers=admin).json()
        assert {p["sku"][0] for p in body["complementary"]} == {"S"}


def _token(settings: Settings, role: Role, **scope: Any) -> Headers:
    with Session(make_engine(settings.database_url)) as session:
        token = create_token(session, role, **scope)
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_route_builds_the_contract_shape_from_the_recsys_result() -> None:
    """``recsys`` answers domain objects; the route alone shapes the HTTP body (issue 10)."""
    from recsys.mirror.recommender import MirrorRecommender
    from screens.routes.mirrors import public
    from screens.services.mirror.coupons import UsableCoupon
    from tests.recsys.test_mirror import make_store

    rec = MirrorRecommender()
    rec.load_catalog(make_store("s1"))
    now = datetime.now(UTC)
    spring = UsableCoupon("SPRING10", "10% off", "percent", 10.0, 0.0, now, now + timedelta(days=1), 5, 100)
    body = public(rec.recommend("s1", "S1-dre-3", k=4), [spring]).model_dump(mode="json")
    assert set(body) == {"item", "similar", "complementary", "model_version"}
    assert {"sku", "name", "price", "sale_price", "discount_pct", "stock"} <= set(body["item"])
    assert [c["coupon_id"] for c in body["item"]["coupons"]] == ["SPRING10"]
    for entry in body["similar"] + body["complementary"]:
        assert {"sku", "score", "reason", "name", "price", "sale_price", "image_url"} <= set(entry) and entry["reason"]


def test_a_re_registered_screen_is_served_as_what_it_now_is(mirror: Mirror) -> None:
    """Screens are cached per worker, and dropped when ops re-register one (issue 10: no stale minute)."""
    params, admin = {"sku": "T0"}, mirror.admin
    assert mirror.client.get("/v1/mirrors/mirror1/recommendations", params=params, headers=admin).status_code == 200
    assert mirror.client.put("/v1/screens/mirror1", json={"kind": "lead_in"}, headers=admin).status_code == 200
    r = mirror.client.get("/v1/mirrors/mirror1/recommendations", params=params, headers=admin)
    assert r.status_code == 404 and "not a fitting mirror" in r.json()["detail"]


def test_a_re_registered_screen_reaches_the_other_worker_through_redis(
    sqlite_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The screens channel drops every worker's cached copy, not only the writer's."""
    settings = make_settings(sqlite_url, redis_url=redis_url, model_dir=tmp_path / "models")
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        admin = _token(settings, "admin")
        Mirror.build_mall(one, admin)
        Mirror(one, admin, _token(settings, "device", screen_id="mirror1"))

        def status_at_two() -> int:
            params = {"sku": "T0"}
            return two.get("/v1/mirrors/mirror1/recommendations", params=params, headers=admin).status_code

        wait_for(lambda: status_at_two() == 200)  # worker two now holds mirror1 in its screens cache
        assert one.put("/v1/screens/mirror1", json={"kind": "lead_in"}, headers=admin).status_code == 200
        wait_for(lambda: status_at_two() == 404, timeout=5)


def test_the_mirror_page_hears_the_last_try_on_only_within_the_session_window(mirror: Mirror) -> None:
    old = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    body = {"event_id": str(uuid.uuid4()), "sku": "T1", "session_id": "sess-old", "ts": old}
    assert mirror.client.post("/v1/mirrors/mirror1/try-ons", json=body, headers=mirror.device).status_code == 200
    assert last_try_on(mirror.runtime, "mirror1")["sku"] is None  # 3 h old: past the 2 h window
    assert last_try_on(mirror.runtime, "mirror1", now=datetime.now(UTC) - timedelta(hours=2))["sku"] == "T1"
    assert mirror.try_on("B1", session_id="sess-new").status_code == 200
    assert last_try_on(mirror.runtime, "mirror1")["sku"] == "B1"
