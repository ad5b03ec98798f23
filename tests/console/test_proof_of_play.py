"""Proof of play with its audience, its CSV export, and the flow chart's merged bands (k = 3)."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from screens.services.leadin.proof_of_play import _most_shown, suppress_complementary
from tests.conftest import TokenFactory
from tests.console.conftest import K
from tests.console.seed import coupon, event, ok, send, shown_to

WOMAN, MAN = ("female", 28), ("male", 40)


def _hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def _rows(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, str], dict]:
    report = ok(client.get("/v1/analytics/proof-of-play", headers=headers))
    return {(r["screen_id"], r["coupon_id"]): r for r in report["rows"]}


def _with_attention(events: list[dict], attention: float) -> list[dict]:
    for e in events:
        if e["type"] == "audience":
            e["attention"] = attention
    return events


def test_each_showing_carries_the_audience_present_and_claims_at_the_screen(
    client: TestClient, mall: dict[str, str]
) -> None:
    events = [
        e
        for i in range(3)
        for e in _with_attention(shown_to([WOMAN, MAN], "C1", True, _hours_ago(3) + timedelta(minutes=i)), 0.5)
    ]
    events += shown_to([WOMAN], "D1", False, _hours_ago(2))
    events.append(event("coupon_impression", _hours_ago(1), screen_id="lead1", coupon_id="C2"))  # nobody seen
    send(client, mall, events)
    rows = _rows(client, mall)
    c1 = rows[("lead1", "C1")]
    assert (c1["impressions"], c1["impressions_with_audience"], c1["faces"]) == (3, 3, 6)
    assert c1["faces_per_impression"] == 2.0 and c1["attention_share"] == 0.5
    assert (c1["claims"], c1["claim_rate"]) == (3, 1.0) and c1["store_id"] == "s1"
    d1 = rows[("lead1", "D1")]
    assert d1["impressions"] == 1 and d1["faces"] is None and d1["attention_share"] is None, "1 face is under k"
    assert d1["claims"] is None, "zero claims are under k too"
    c2 = rows[("lead1", "C2")]
    assert c2["impressions"] == 1 and c2["impressions_with_audience"] == 0


def test_claims_that_a_published_margin_would_reveal_are_withheld(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    ok(client.put("/v1/screens/lead2", json={"kind": "lead_in", "zone": "north"}, headers=mall))
    events = [e for i in range(4) for e in shown_to([WOMAN], "C1", True, _hours_ago(5) + timedelta(minutes=i))]
    events += shown_to([WOMAN], "C1", True, _hours_ago(4), screen="lead2")
    send(client, mall, events)
    rows = _rows(client, mall)
    # C1's total claims (5) are published by the coupon analytics: 5 − 4 would reveal lead2's single claim.
    assert rows[("lead2", "C1")]["claims"] is None
    assert rows[("lead1", "C1")]["claims"] is None, "complementary suppression"
    assert rows[("lead1", "C1")]["impressions"] == 4, "showings are not people: always published"


def test_complementary_suppression_stops_when_no_group_reveals_a_cell() -> None:
    cells = {"a": 10, "b": 1, "c": 7, "x": 2, "y": 9}
    hidden = suppress_complementary(cells, [["a", "b", "c"], ["x", "y"], ["b", "x"]], 3)
    # a+b+c is published elsewhere, so b alone would be revealed: the smaller of a, c goes too. x+y the same.
    # b+x = 3 reaches k: that group needs nothing more.
    assert hidden == {"b", "c", "x", "y"}
    assert suppress_complementary({"a": 4, "b": 0}, [["a", "b"]], 3) == {"b"}, "withheld zeros reveal nothing"


def _suppress_by_full_passes(cells: dict[str, int], groups: list[list[str]], k: int) -> set[str]:
    """Complementary suppression as first written: every group checked on every pass until a pass
    changes nothing (what the single pass must reproduce exactly)."""
    hidden = {key for key, n in cells.items() if n < k}
    changed = True
    while changed:
        changed = False
        for group in groups:
            withheld = sum(cells[key] for key in group if key in hidden)
            shown = [key for key in group if key not in hidden]
            if 0 < withheld < k and shown:
                hidden.add(min(shown, key=lambda key: (cells[key], str(key))))
                changed = True
    return hidden


def test_complementary_suppression_hides_what_full_passes_hide() -> None:
    rng = random.Random(7)
    cascades = 0
    for _ in range(300):
        keys = [f"p{i}" for i in range(rng.randint(2, 40))]
        cells = {key: rng.choice((0, 1, 1, 2, 3, 4, 6, 9)) for key in keys}
        groups = [rng.sample(keys, rng.randint(1, min(6, len(keys)))) for _ in range(rng.randint(1, 15))]
        hidden = suppress_complementary(cells, groups, 3)
        assert hidden == _suppress_by_full_passes(cells, groups, 3), (cells, groups)
        cascades += len(hidden) > sum(n < 3 for n in cells.values())
    assert cascades > 50, "the cases exercise complementary suppression, not only the k threshold"


def test_proof_of_play_csv_escapes_formulas_and_keeps_numbers(client: TestClient, mall: dict[str, str]) -> None:
    ok(
        client.put(
            "/v1/stores/s2/coupons",
            json=[coupon("D1", title='=HYPERLINK("http://evil.example","x")'), coupon("D2", title="-5 on @shoes")],
            headers=mall,
        )
    )
    send(client, mall, shown_to([WOMAN] * 3, "D1", False, _hours_ago(2)) + shown_to([MAN], "D2", False, _hours_ago(1)))
    response = client.get("/v1/analytics/proof-of-play.csv", headers=mall)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="proof-of-play-7d.csv"' in response.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(response.text)))
    by_coupon = {row["coupon_id"]: row for row in table}
    assert by_coupon["D1"]["title"] == '\'=HYPERLINK("http://evil.example","x")'
    assert by_coupon["D2"]["title"] == "'-5 on @shoes"
    assert by_coupon["D1"]["faces"] == "3" and by_coupon["D1"]["impressions"] == "1"
    assert by_coupon["D2"]["faces"] == "" and by_coupon["D2"]["claims"] == "", "withheld cells are empty"
    for row in table:
        assert not any(v[:1] in "=+-@" and v for v in row.values()), row


def test_merchandisers_see_their_own_stores_and_devices_nothing(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    send(client, mall, shown_to([WOMAN], "C1", False, _hours_ago(2)) + shown_to([MAN], "D1", False, _hours_ago(1)))
    assert {key[1] for key in _rows(client, auth("merchandiser", store_ids=["s2"]))} == {"D1"}
    assert client.get("/v1/analytics/proof-of-play", headers=auth("device", screen_id="lead1")).status_code == 403
    assert client.get("/v1/analytics/proof-of-play.csv").status_code == 401


def test_a_page_holds_the_most_shown_pairs_and_totals_over_all_of_them(
    client: TestClient, mall: dict[str, str]
) -> None:
    ok(client.put("/v1/screens/lead2", json={"kind": "lead_in", "zone": "north"}, headers=mall))
    events = [e for i in range(3) for e in shown_to([WOMAN], "C1", True, _hours_ago(5) + timedelta(minutes=i))]
    events += [e for i in range(2) for e in shown_to([MAN], "D1", False, _hours_ago(3) + timedelta(minutes=i))]
    events += shown_to([WOMAN], "C1", False, _hours_ago(2), screen="lead2")
    send(client, mall, events)
    whole = {(r["screen_id"], r["coupon_id"]): r for r in _csv_rows(client, mall)}
    first = ok(client.get("/v1/analytics/proof-of-play?limit=2", headers=mall))
    assert [(r["screen_id"], r["coupon_id"]) for r in first["rows"]] == [("lead1", "C1"), ("lead1", "D1")]
    assert (first["pairs"], first["screens"], first["impressions"]) == (3, 2, 6), "totals cover every pair"
    rest = ok(client.get("/v1/analytics/proof-of-play?limit=2&offset=2", headers=mall))["rows"]
    assert [(r["screen_id"], r["coupon_id"]) for r in rest] == [("lead2", "C1")]
    # Suppression is decided over every pair: a row reads the same on its page as in the whole CSV.
    for row in first["rows"] + rest:
        claims = "" if row["claims"] is None else str(row["claims"])
        assert claims == whole[(row["screen_id"], row["coupon_id"])]["claims"]
    for bad, field in (("limit=0", "limit"), ("limit=1001", "limit"), ("offset=-1", "offset")):
        response = client.get(f"/v1/analytics/proof-of-play?{bad}", headers=mall)
        assert response.status_code == 422 and field in response.text, (bad, response.text)


def test_a_page_is_its_slice_of_every_pair_by_impressions_then_key() -> None:
    rng = random.Random(11)
    counts = {
        (f"lead{rng.randrange(9)}", f"c{i}"): (rng.choice((0, 1, 2, 2, 3, 7)), rng.randrange(3)) for i in range(200)
    }
    ordered = [pair for pair, _ in sorted(counts.items(), key=lambda item: (-item[1][0], item[0]))]
    for offset, limit in ((0, 1), (0, 100), (3, 17), (150, 100), (199, 1), (250, 10), (0, 1000)):
        assert _most_shown(counts, offset, limit) == ordered[offset : offset + limit], (offset, limit)
    assert _most_shown({}, 0, 10) == []


def _csv_rows(client: TestClient, headers: dict[str, str]) -> list[dict[str, str]]:
    response = client.get("/v1/analytics/proof-of-play.csv", headers=headers)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


def test_flow_chart_merges_pairs_under_k_into_other_bands(client: TestClient, mall: dict[str, str]) -> None:
    ok(client.put("/v1/screens/lead2", json={"kind": "lead_in", "zone": "north"}, headers=mall))
    at = _hours_ago(6)
    events = [e for i in range(4) for e in shown_to([WOMAN], "C1", True, at + timedelta(minutes=i))]  # lead1 → s1: 4
    events += shown_to([MAN], "D1", True, at + timedelta(minutes=10))  # lead1 → s2: 1
    events += [e for i in range(2) for e in shown_to([MAN], "D1", True, at + timedelta(minutes=20 + i), "lead2")]
    send(client, mall, events)
    chart = ok(client.get("/v1/analytics/flow/chart", headers=mall))
    links = {(link["source"], link["target"]): link["claims"] for link in chart["links"]}
    assert links == {("lead1", "s1"): 4, ("other screens", "other stores"): 3}, "1 + 2 pooled across screens"
    assert all(claims >= K for claims in links.values())
    assert chart["merged_links"] == 2 and chart["withheld_links"] == 0
    kinds = {node["id"]: node["kind"] for node in chart["nodes"]}
    assert kinds == {"lead1": "screen", "s1": "store", "other screens": "other", "other stores": "other"}

    send(client, mall, [e for i in range(2) for e in shown_to([MAN], "D1", True, at + timedelta(minutes=30 + i))])
    links = {
        (x["source"], x["target"]): x["claims"]
        for x in ok(client.get("/v1/analytics/flow/chart", headers=mall))["links"]
    }
    assert links == {("lead1", "s1"): 4, ("lead1", "s2"): 3}, "lead1 → s2 reached k; lead2's 2 claims are withheld"
