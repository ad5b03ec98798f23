"""Lead-in recommendations through the HTTP API, driven by real events through POST /v1/events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.model import CouponImpression
from recsys.profile import CrowdProfile
from screens.app import create_app
from screens.schemas.recommend import RecommendResponse
from screens.services.leadin.training import coupon_features
from screens.services.model_pointers import publish_coupon_model
from screens.settings import Settings
from tests.builders import coupon, event, wait_for
from tests.conftest import TokenFactory, make_settings

Headers = dict[str, str]
YOUNG_WOMEN = [("female", 19), ("female", 22), ("female", 24)]
OLDER_MEN = [("male", 58), ("male", 63), ("male", 70)]


class Mall:
    """Builds a mall through the API and feeds it events; reads are never cached for longer than a request."""

    def __init__(self, client: TestClient, admin: Headers) -> None:
        self.client, self.admin = client, admin
        state = client.app.state.runtime.coupons.state  # type: ignore[attr-defined]
        state.counters_ttl_s = state.audience_ttl_s = 0.0
        self.put("/v1/ranking/weights", {"weights": {"exploration": 0.0}})
        self.put("/v1/screens/lead1", {"kind": "lead_in", "zone": "atrium"})

    def put(self, url: str, body: Any) -> Any:
        r = self.client.put(url, json=body, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()

    def store(self, store_id: str, coupons: list[dict[str, object]], category: str = "fashion") -> None:
        self.put(f"/v1/stores/{store_id}", {"name": store_id, "floor": 1, "zone": "north", "category": category})
        self.put(f"/v1/screens/cam-{store_id}", {"kind": "entrance_camera", "store_id": store_id})
        if coupons:
            self.put(f"/v1/stores/{store_id}/coupons", coupons)

    def send(self, events: list[dict[str, object]]) -> None:
        runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        before = runtime.consumer.applied
        r = self.client.post("/v1/events", json={"events": events}, headers=self.admin)
        assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text
        wait_for(lambda: runtime.consumer.applied >= before + len(events))

    def visits(self, store_id: str, people: list[tuple[str, int]], n: int) -> None:
        self.send(
            [
                event(
                    type="store_visit",
                    screen_id=f"cam-{store_id}",
                    gender=people[i % len(people)][0],
                    age=people[i % len(people)][1],
                )
                for i in range(n)
            ]
        )

    def crowd(self, people: list[tuple[str, int]], screen_id: str = "lead1") -> None:
        faces = [{"gender": g, "age": a, "confidence": 0.9} for g, a in people]
        self.send([event(type="audience", screen_id=screen_id, faces=faces)])

    def coupons(self, screen_id: str = "lead1", k: int = 5, headers: Headers | None = None) -> Any:
        r = self.client.get(f"/v1/screens/{screen_id}/coupons", params={"k": k}, headers=headers or self.admin)
        assert r.status_code == 200, r.text
        return r.json()

    def recommend(self, **body: object) -> Any:
        r = self.client.post("/v1/recommend/coupons", json={"screen_id": "lead1", **body}, headers=self.admin)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The shared settings, with published models under this test's own folder."""
    return make_settings(database_url, model_dir=tmp_path / "models")


@pytest.fixture
def mall(client: TestClient, auth: TokenFactory) -> Mall:
    return Mall(client, auth("admin"))


def two_audiences(mall: Mall, **coupon_fields: object) -> None:
    """Store `young` is visited by young women, `older` by older men; each has one equal coupon."""
    mall.store("young", [coupon("c-young", **coupon_fields)])
    mall.store("older", [coupon("c-older", **coupon_fields)])
    mall.visits("young", YOUNG_WOMEN, 40)
    mall.visits("older", OLDER_MEN, 40)


def ids(body: Any) -> list[str]:
    return [c["coupon_id"] for c in body["coupons"]]


def test_young_women_see_the_coupon_of_the_store_young_women_visit(mall: Mall) -> None:
    two_audiences(mall)
    mall.crowd(YOUNG_WOMEN)
    body = mall.coupons()
    assert ids(body) == ["c-young", "c-older"]
    young, older = body["coupons"]
    assert young["explain"]["audience_match"] > 0 > older["explain"]["audience_match"]
    assert set(body["profile"]) == {"female:18-24"} and body["model_version"] is None
    for pick in body["coupons"]:
        assert pick["score"] == pytest.approx(sum(pick["explain"].values()))


def test_the_pre_encoded_body_is_exactly_what_the_response_model_describes(mall: Mall) -> None:
    two_audiences(mall)
    mall.crowd(YOUNG_WOMEN)
    for r in (
        mall.client.get("/v1/screens/lead1/coupons", headers=mall.admin),
        mall.client.get("/v1/screens/lead1/coupons", headers=mall.admin),  # the crowd is cached now
        mall.client.post("/v1/recommend/coupons", json={"screen_id": "lead1"}, headers=mall.admin),
    ):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        model = RecommendResponse.model_validate_json(r.content)  # strict: no field missing or extra
        assert json.loads(model.model_dump_json()) == r.json()
        assert ids(r.json()) == ["c-young", "c-older"]


def test_an_explicit_profile_overrides_the_live_crowd(mall: Mall) -> None:
    two_audiences(mall)
    mall.crowd(YOUNG_WOMEN)
    body = mall.recommend(profile={"faces": [{"gender": "male", "age": 66}]})
    assert ids(body) == ["c-older", "c-young"] and body["profile"] == {"male:65+": 1.0}
    shares = mall.recommend(profile={"shares": {"female:18-24": 3, "male:65+": 1}})["profile"]
    assert shares == {"female:18-24": 0.75, "male:65+": 0.25}


def test_raising_a_weight_moves_coupons_the_way_their_breakdown_says(mall: Mall) -> None:
    two_audiences(mall)
    mall.put("/v1/stores/older/coupons", [coupon("c-older", value=50)])  # deeper discount, worse audience
    mall.crowd(YOUNG_WOMEN)
    before = mall.coupons()
    assert ids(before) == ["c-young", "c-older"]
    strength = {c["coupon_id"]: c["explain"]["coupon_strength"] for c in before["coupons"]}
    assert strength["c-older"] > strength["c-young"]
    mall.put("/v1/ranking/weights", {"weights": {"coupon_strength": 5.0}})  # default 0.5: ten times
    after = mall.coupons()
    assert ids(after) == ["c-older", "c-young"]
    for pick in after["coupons"]:
        assert pick["explain"]["coupon_strength"] == pytest.approx(10 * strength[pick["coupon_id"]])
        assert pick["score"] == pytest.approx(sum(pick["explain"].values()))


def test_ops_can_preview_weights_without_saving_them(mall: Mall) -> None:
    two_audiences(mall)
    mall.crowd(YOUNG_WOMEN)
    preview = mall.recommend(weights={"audience_match": 0.0})
    assert preview["weights_version"] is None
    assert all(c["explain"]["audience_match"] == 0.0 for c in preview["coupons"])
    assert mall.coupons()["coupons"][0]["explain"]["audience_match"] > 0


def test_bad_preview_weights_are_422_and_devices_may_not_preview(mall: Mall, auth: TokenFactory) -> None:
    r = mall.client.post(
        "/v1/recommend/coupons", json={"screen_id": "lead1", "weights": {"charisma": 1.0}}, headers=mall.admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "weights.charisma"
    device = auth("device", screen_id="lead1")
    r = mall.client.post(
        "/v1/recommend/coupons", json={"screen_id": "lead1", "weights": {"learned": 1.0}}, headers=device
    )
    assert r.status_code == 403


def test_devices_get_coupons_for_their_own_screen_only(mall: Mall, auth: TokenFactory) -> None:
    mall.put("/v1/screens/lead2", {"kind": "lead_in"})
    device = auth("device", screen_id="lead1")
    assert mall.client.get("/v1/screens/lead1/coupons", headers=device).status_code == 200
    assert mall.client.get("/v1/screens/lead2/coupons", headers=device).status_code == 403
    assert mall.client.get("/v1/screens/lead2/profile", headers=device).status_code == 403
    assert mall.client.post("/v1/recommend/coupons", json={"screen_id": "lead2"}, headers=device).status_code == 403
    assert mall.client.get("/v1/screens/ghost/coupons", headers=mall.admin).status_code == 404
    merchandiser = auth("merchandiser", store_ids=["young"])
    assert mall.client.get("/v1/screens/lead1/coupons", headers=merchandiser).status_code == 403


def test_invalid_coupons_never_appear(mall: Mall) -> None:
    now = datetime.now(UTC)
    mall.store("ok", [coupon("ok")])
    mall.store(
        "expired",
        [
            coupon(
                "expired",
                valid_from=(now - timedelta(days=9)).isoformat(),
                valid_to=(now - timedelta(days=1)).isoformat(),
            )
        ],
    )
    mall.store("future", [coupon("future", valid_from=(now + timedelta(days=1)).isoformat())])
    mall.store("inactive", [coupon("inactive", active=False)])
    mall.store("capped", [coupon("capped", daily_cap=1)])
    mall.store("sold-out", [coupon("sold-out", total_stock=1)])
    mall.store("empty", [coupon("empty", total_stock=0)])
    assert set(ids(mall.coupons(k=10))) == {"ok", "capped", "sold-out"}
    mall.send(
        [
            event(type="coupon_claim", coupon_id="capped", screen_id="lead1"),
            event(type="coupon_claim", coupon_id="sold-out"),
        ]
    )
    assert ids(mall.coupons(k=10)) == ["ok"]
    assert ids(mall.recommend(k=10, profile={"faces": [{"gender": "female", "age": 30}]})) == ["ok"]


def test_at_most_one_coupon_per_store(mall: Mall) -> None:
    mall.store("big", [coupon(f"big-{i}", value=10 + i) for i in range(4)])
    mall.store("small", [coupon("small-0")])
    body = mall.coupons(k=5)
    assert sorted(c["store_id"] for c in body["coupons"]) == ["big", "small"]
    assert "big-3" in ids(body), "the store's best coupon is the one shown"


def test_a_coupon_upload_reaches_the_ranking_at_once(mall: Mall) -> None:
    mall.store("s1", [coupon("first")])
    assert ids(mall.coupons()) == ["first"]
    mall.put("/v1/stores/s1/coupons?mode=replace", [coupon("second")])
    assert ids(mall.coupons()) == ["second"]


def test_claims_update_the_efficiency_of_a_store_live(mall: Mall) -> None:
    mall.store("a", [coupon("a")])
    mall.store("b", [coupon("b")])
    mall.visits("a", YOUNG_WOMEN, 5)
    mall.visits("b", YOUNG_WOMEN, 5)
    before = {c["coupon_id"]: c["explain"]["efficiency"] for c in mall.coupons()["coupons"]}
    mall.send(
        [event(type="coupon_impression", screen_id="lead1", coupon_id=c) for c in ("a", "b")]
        + [event(type="coupon_claim", coupon_id="a", screen_id="lead1") for _ in range(3)]
    )
    after = {c["coupon_id"]: c["explain"]["efficiency"] for c in mall.coupons()["coupons"]}
    assert before["a"] == pytest.approx(before["b"])
    assert after["a"] > after["b"]


def test_the_screen_profile_holds_only_recent_anonymous_cells(mall: Mall, auth: TokenFactory) -> None:
    mall.crowd([("female", 22), ("male", 40)])
    mall.send(
        [
            event(
                type="audience",
                screen_id="lead1",
                ts=(datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                faces=[{"gender": "male", "age": 70, "confidence": 1.0}],
            )
        ]
    )
    device = auth("device", screen_id="lead1")
    body = mall.client.get("/v1/screens/lead1/profile", headers=device).json()
    assert body["profile"] == {"female:18-24": 0.5, "male:35-44": 0.5}
    assert body["faces"] == pytest.approx(1.8) and body["window_s"] == 10.0
    assert set(body) == {"screen_id", "profile", "faces", "window_s", "group_shares"}


@pytest.fixture
def redis_client(sqlite_url: str, redis_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url, redis_url=redis_url))) as client:
        yield client


def test_with_redis_live_state_the_crowd_still_picks_the_coupon(redis_client: TestClient, sqlite_url: str) -> None:
    from sqlmodel import Session

    from screens.auth import create_token

    with Session(redis_client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
        token = create_token(session, "admin")
        session.commit()
    mall = Mall(redis_client, {"Authorization": f"Bearer {token}"})
    two_audiences(mall)
    mall.crowd(OLDER_MEN)
    assert ids(mall.coupons()) == ["c-older", "c-young"]


def _publish_hour_model(mall: Mall) -> str:
    """A claim model that learned `c-young` is claimed in the morning and `c-older` in the evening."""
    from sqlmodel import Session

    runtime = mall.client.app.state.runtime  # type: ignore[attr-defined]
    with Session(runtime.engine) as session:
        features = coupon_features(session)
    impressions = []
    for day in range(20):
        for hour, claimed in ((9, "c-young"), (19, "c-older")):
            when = datetime(2026, 11, 2 + day % 7, hour, 30, tzinfo=UTC)
            profile = CrowdProfile.from_explicit({"faces": [{"gender": "female", "age": 30}]}, when)
            for coupon_id in ("c-young", "c-older"):
                for i in range(5):
                    hit = coupon_id == claimed and i < 3
                    impressions.append(CouponImpression(when.timestamp(), features[coupon_id], profile, hit))
    model = ClaimModel().fit(impressions)
    version = publish_coupon_model(model, runtime.settings.model_dir, runtime.bus.config)
    wait_for(lambda: mall.coupons()["model_version"] == version, timeout=5)
    return version


def test_at_sets_the_hour_the_claim_model_reads_and_defaults_to_now(mall: Mall) -> None:
    mall.store("young", [coupon("c-young")])
    mall.store("older", [coupon("c-older")], category="sports")
    _publish_hour_model(mall)
    crowd = {"faces": [{"gender": "female", "age": 30}]}
    today = datetime.now(UTC).date()

    def learned(**body: object) -> dict[str, float]:
        picks = mall.recommend(profile=crowd, **body)["coupons"]
        return {c["coupon_id"]: c["explain"]["learned"] for c in picks}

    morning = learned(at=f"{today}T09:15:00Z")
    evening = learned(at=f"{today}T19:15:00+00:00")
    assert morning["c-young"] > morning["c-older"] and evening["c-older"] > evening["c-young"]
    for _ in range(3):  # without `at`: the hour now (retried only if the clock crossed an hour meanwhile)
        before = datetime.now(UTC)
        implicit, explicit = learned(), learned(at=before.isoformat())
        if datetime.now(UTC).hour == before.hour:
            break
    assert implicit == pytest.approx(explicit)


def test_a_bad_at_is_422_naming_the_field(mall: Mall) -> None:
    for bad in ("half past nine", "2026-13-40T09:00:00Z", "2026-12-02T25:00:00Z"):
        r = mall.client.post("/v1/recommend/coupons", json={"screen_id": "lead1", "at": bad}, headers=mall.admin)
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["detail"]] == [["body", "at"]], r.text


def test_a_polled_screens_crowd_is_read_ahead_of_its_requests(
    redis_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker applies the camera's event; this one's requests see it without reading Redis."""
    from sqlmodel import Session

    from screens.auth import create_token
    from screens.services.live_state import apply_events

    runtime = redis_client.app.state.runtime  # type: ignore[attr-defined]
    with Session(runtime.engine) as session:
        token = create_token(session, "admin")
        session.commit()
    mall = Mall(redis_client, {"Authorization": f"Bearer {token}"})
    two_audiences(mall)
    mall.crowd(YOUNG_WOMEN)
    assert set(mall.coupons()["profile"]) == {"female:18-24"}  # a miss: read by the request
    mall.coupons()  # reused: the refresher re-reads this screen from now on

    request_reads: list[str] = []
    real_read = runtime.bus.counters.zrange_by_score
    monkeypatch.setattr(
        runtime.bus.counters, "zrange_by_score", lambda key, *a: request_reads.append(key) or real_read(key, *a)
    )
    faces = [{"gender": g, "age": a, "confidence": 0.9} for g, a in OLDER_MEN]
    apply_events(runtime.bus.counters, [event(type="audience", screen_id="lead1", faces=faces)])  # not this worker
    wait_for(lambda: len(mall.coupons()["profile"]) > 1, timeout=3)
    assert "screen:lead1:faces" not in request_reads, "the requests never read the crowd themselves"
