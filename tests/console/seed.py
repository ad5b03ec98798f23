"""A small mall and its events, sent through the public API (TestClient or httpx alike)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

Headers = dict[str, str]
NOW_ISH = timedelta(seconds=30)


class HttpClient(Protocol):
    def put(self, url: str, **kw: Any) -> Any: ...
    def post(self, url: str, **kw: Any) -> Any: ...


def event(kind: str, ts: datetime | None = None, **fields: object) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": kind,
        "ts": (ts or datetime.now(UTC) - NOW_ISH).isoformat(),
        **fields,
    }


def coupon(coupon_id: str, **kw: object) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "coupon_id": coupon_id,
        "title": f"{coupon_id} offer",
        "kind": "percent",
        "value": 20,
        "valid_from": (now - timedelta(days=10)).isoformat(),
        "valid_to": (now + timedelta(days=10)).isoformat(),
        **kw,
    }


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def build_mall(http: HttpClient, admin: Headers) -> None:
    """Stores s1 and s2 with an entrance camera each, lead-in screen lead1, mirror1 in s1, coupons."""
    for sid, name in (("s1", "Nordic Threads"), ("s2", "Shoe Lab")):
        ok(
            http.put(
                f"/v1/stores/{sid}",
                json={"name": name, "floor": 1, "zone": "north", "category": "fashion"},
                headers=admin,
            )
        )
        ok(http.put(f"/v1/screens/cam-{sid}", json={"kind": "entrance_camera", "store_id": sid}, headers=admin))
    ok(http.put("/v1/screens/lead1", json={"kind": "lead_in", "zone": "atrium"}, headers=admin))
    ok(http.put("/v1/screens/mirror1", json={"kind": "mirror", "store_id": "s1"}, headers=admin))
    ok(
        http.put(
            "/v1/stores/s1/coupons", json=[coupon("C1", daily_cap=5, total_stock=100), coupon("C2")], headers=admin
        )
    )
    ok(http.put("/v1/stores/s2/coupons", json=[coupon("D1", title="Shoe day", kind="amount", value=10)], headers=admin))


def send(http: HttpClient, admin: Headers, events: list[dict[str, object]]) -> None:
    result = ok(http.post("/v1/events", json={"events": events}, headers=admin))
    assert result["accepted"] == len(events), result


def visits(store: str, faces: list[tuple[str, int]], ts: datetime | None = None) -> list[dict[str, object]]:
    return [event("store_visit", ts, screen_id=f"cam-{store}", gender=g, age=a) for g, a in faces]


def shown_to(
    crowd: list[tuple[str, int]], coupon_id: str, claimed: bool, at: datetime, screen: str = "lead1"
) -> list[dict[str, object]]:
    """A crowd seen at a lead-in screen, a coupon shown to it a second later and maybe claimed."""
    faces = [{"gender": g, "age": a, "confidence": 0.9} for g, a in crowd]
    out = [
        event("audience", at, screen_id=screen, faces=faces),
        event("coupon_impression", at + timedelta(seconds=1), screen_id=screen, coupon_id=coupon_id),
    ]
    if claimed:
        out.append(event("coupon_claim", at + timedelta(seconds=2), screen_id=screen, coupon_id=coupon_id))
    return out


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)
