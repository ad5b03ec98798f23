"""Analytics API: k-anonymous audiences, traffic, flow, coupon performance, pacing, screens (k = 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TokenFactory
from tests.console.conftest import K
from tests.console.seed import event, send, shown_to, visits, wait_for

WOMAN, MAN = ("female", 28), ("male", 40)


def _cells(slice_: dict) -> dict[str, dict]:
    return {c["cell"]: c for c in slice_["cells"]}


def test_audience_cells_below_k_are_suppressed_and_cannot_be_derived(client: TestClient, mall: dict[str, str]) -> None:
    send(client, mall, visits("s1", [WOMAN] * 4 + [MAN]))
    data = client.get("/v1/analytics/stores/s1/audience", headers=mall).json()
    cells = _cells(data["all_day"])
    assert cells["female:25-34"] == {
        "cell": "female:25-34",
        "gender": "female",
        "age": "25-34",
        "visits": 4,
        "suppressed": False,
    }
    assert cells["male:35-44"]["visits"] is None and cells["male:35-44"]["suppressed"]
    assert data["window"]["k"] == K and not data["suppressed"]
    # total − published would reveal the single man: the total is withheld too.
    assert data["all_day"]["total"] is None and data["all_day"]["published_visits"] == 4

    send(client, mall, visits("s1", [MAN, MAN]))
    data = client.get("/v1/analytics/stores/s1/audience", headers=mall).json()
    assert _cells(data["all_day"])["male:35-44"]["visits"] == 3
    assert data["all_day"]["total"] == 7


def test_store_with_fewer_than_k_visits_shows_only_suppressed_cells(client: TestClient, mall: dict[str, str]) -> None:
    send(client, mall, visits("s2", [WOMAN, WOMAN]))
    data = client.get("/v1/analytics/stores/s2/audience", headers=mall).json()
    assert data["suppressed"] and data["all_day"]["total"] is None
    assert all(c["suppressed"] for s in [data["all_day"], *data["dayparts"]] for c in s["cells"])


def test_visits_fall_into_the_daypart_of_the_mall_local_time(client: TestClient, mall: dict[str, str]) -> None:
    ten_utc = (datetime.now(UTC) - timedelta(days=1)).replace(hour=10, minute=0)
    send(client, mall, visits("s1", [WOMAN] * 3, ts=ten_utc))
    by_utc = client.get("/v1/analytics/stores/s1/audience", headers=mall).json()
    by_local = client.get("/v1/analytics/stores/s1/audience?tz_offset_min=480", headers=mall).json()
    assert [d["published_visits"] for d in by_utc["dayparts"]] == [3, 0, 0]  # 10:00 is morning
    assert [d["published_visits"] for d in by_local["dayparts"]] == [0, 0, 3]  # 18:00 is evening


def test_traffic_by_hour_and_day_suppresses_small_counts(client: TestClient, mall: dict[str, str]) -> None:
    at = (datetime.now(UTC) - timedelta(days=1)).replace(hour=14, minute=5)
    send(client, mall, visits("s1", [WOMAN] * 3, ts=at) + visits("s2", [MAN], ts=at.replace(hour=9)))
    traffic = client.get("/v1/analytics/traffic", headers=mall).json()
    hours = {h["hour"]: h for h in traffic["by_hour"]}
    assert hours[14]["visits"] == 3 and hours[9] == {"hour": 9, "visits": None, "suppressed": True}
    assert traffic["total"] == 4
    assert {d["date"]: d["visits"] for d in traffic["by_day"]}[at.date().isoformat()] == 4


def test_coupon_performance_by_audience_cell_and_pacing(client: TestClient, mall: dict[str, str]) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    events = []
    for i in range(3):
        events += shown_to([WOMAN], "C1", claimed=i < 2, at=start + timedelta(seconds=30 * i))
    events += shown_to([MAN], "C1", claimed=False, at=start + timedelta(seconds=200))
    events.append(event("coupon_impression", start + timedelta(seconds=400), screen_id="lead1", coupon_id="C2"))
    send(client, mall, events)
    data = client.get("/v1/analytics/stores/s1/coupons", headers=mall).json()
    c1, c2 = data["coupons"]
    assert (c1["coupon_id"], c1["impressions"], c1["claims"], c1["claim_rate"]) == ("C1", 4, 2, 0.5)
    cells = {c["cell"]: c for c in c1["by_cell"]}
    assert cells["female:25-34"] == {
        "cell": "female:25-34",
        "impressions": 3.0,
        "claims": 2.0,
        "claim_rate": 0.6667,
        "suppressed": False,
    }
    assert cells["male:35-44"]["suppressed"] and cells["male:35-44"]["claim_rate"] is None
    assert c2["impressions"] == 1 and c2["unattributed_impressions"] == 1
    today = sum(1 for i in range(2) if (start + timedelta(seconds=30 * i + 2)).date() == datetime.now(UTC).date())
    assert c1["pacing"]["daily_cap"] == 5 and c1["pacing"]["claims_today"] == today
    assert c1["pacing"]["total_stock"] == 100 and c1["pacing"]["claims_in_validity"] == 2
    assert c2["pacing"]["status"] == "uncapped"
    assert data["totals"]["impressions"] == 5 and sum(d["claims"] for d in data["totals"]["trend"]) == 2
    assert 0.0 <= data["exploration_share"] <= 1.0
    assert c1["exploration"] == {"flagged_impressions": 0, "explored_impressions": 0, "share": None}


def test_measured_exploration_share_counts_only_impressions_that_say_whether_they_were_explored(
    client: TestClient, mall: dict[str, str]
) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)

    def shown(coupon_id: str, *flags: bool | None) -> list[dict[str, object]]:
        flagged = [{} if f is None else {"explored": f} for f in flags]
        return [event("coupon_impression", at, screen_id="lead1", coupon_id=coupon_id, **x) for x in flagged]

    send(client, mall, shown("C1", True, False, False, False) + shown("C2", True, None, None) + shown("D1", False))
    data = client.get("/v1/analytics/stores/s1/coupons", headers=mall).json()
    c1, c2 = data["coupons"]
    assert c1["exploration"] == {"flagged_impressions": 4, "explored_impressions": 1, "share": 0.25}
    assert c2["impressions"] == 3 and c2["exploration"]["share"] == 1.0
    assert data["totals"]["exploration"] == {"flagged_impressions": 5, "explored_impressions": 2, "share": 0.4}
    by_store = {s["store_id"]: s for s in client.get("/v1/analytics/coupons", headers=mall).json()["stores"]}
    assert by_store["s1"]["exploration"]["share"] == 0.4 and by_store["s2"]["exploration"]["share"] == 0.0


def test_flow_from_lead_in_screens_to_stores_is_k_anonymous(client: TestClient, mall: dict[str, str]) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    events = [e for i in range(3) for e in shown_to([WOMAN], "C2", True, start + timedelta(minutes=i))]
    events += shown_to([MAN], "D1", True, start + timedelta(minutes=5))
    send(client, mall, events)
    flow = client.get("/v1/analytics/flow", headers=mall).json()["links"]
    links = {(link["screen_id"], link["store_id"]): link for link in flow}
    assert links[("lead1", "s1")] == {
        "screen_id": "lead1",
        "store_id": "s1",
        "impressions": 3,
        "claims": 3,
        "suppressed": False,
    }
    assert links[("lead1", "s2")]["claims"] is None and links[("lead1", "s2")]["suppressed"]


def test_merchandiser_sees_only_its_own_stores(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    send(client, mall, shown_to([WOMAN], "D1", True, datetime.now(UTC) - timedelta(minutes=5)))
    merch = auth("merchandiser", store_ids=["s1"])
    assert client.get("/v1/analytics/stores/s1/audience", headers=merch).status_code == 200
    assert client.get("/v1/analytics/stores/s2/audience", headers=merch).status_code == 403
    assert client.get("/v1/analytics/stores/s2/coupons", headers=merch).status_code == 403
    assert [s["store_id"] for s in client.get("/v1/analytics/coupons", headers=merch).json()["stores"]] == ["s1"]
    assert client.get("/v1/analytics/flow", headers=merch).json()["links"] == []
    for ops_only in ("/v1/analytics/traffic", "/v1/analytics/screens"):
        assert client.get(ops_only, headers=merch).status_code == 403
    assert client.get("/v1/analytics/stores/nope/audience", headers=mall).status_code == 404


def test_screens_show_health_crowd_cells_and_what_they_show_now(client: TestClient, mall: dict[str, str]) -> None:
    now = datetime.now(UTC)
    send(
        client,
        mall,
        [
            event(
                "audience",
                now,
                screen_id="lead1",
                faces=[
                    {"gender": "female", "age": 28, "confidence": 0.9},
                    {"gender": "male", "age": 8, "confidence": 0.8},
                ],
            ),
            event("coupon_impression", now, screen_id="lead1", coupon_id="C1"),
            event("try_on", now, screen_id="mirror1", sku="A1", session_id="sess-1"),
        ],
    )
    assert client.post("/v1/screens/lead1/heartbeat", headers=mall).status_code == 200

    def lead1() -> dict:
        return {s["id"]: s for s in client.get("/v1/analytics/screens", headers=mall).json()}["lead1"]

    wait_for(lambda: lead1()["faces"] == 2)  # live counters are fed by the background consumer
    screens = {s["id"]: s for s in client.get("/v1/analytics/screens", headers=mall).json()}
    # confidence-weighted, the shares the ranker and /profile use
    assert screens["lead1"]["profile"] == pytest.approx({"female:25-34": 0.9 / 1.7, "male:0-12": 0.8 / 1.7})
    assert not screens["lead1"]["stale"] and screens["mirror1"]["stale"]
    showing = screens["lead1"]["showing"]
    assert [(s["coupon_id"], s["title"], s["store_id"]) for s in showing] == [("C1", "C1 offer", "s1")]
    assert screens["mirror1"]["showing"][0]["sku"] == "A1"
