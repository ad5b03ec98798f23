"""Store audiences: published from real store_visit events only above the k-anonymity threshold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from screens.app import create_app
from tests.builders import event
from tests.conftest import TokenFactory, make_settings
from tests.service.test_coupons_api import OLDER_MEN, YOUNG_WOMEN, Mall


@pytest.fixture
def mall(client: TestClient, auth: TokenFactory) -> Mall:
    return Mall(client, auth("admin"))


def audience(mall: Mall, store_id: str, **params: str) -> dict[str, object]:
    r = mall.client.get(f"/v1/stores/{store_id}/audience", params=params, headers=mall.admin)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_k_anonymity_hides_small_stores(mall: Mall) -> None:
    mall.store("busy", [])
    mall.store("quiet", [])
    mall.visits("busy", YOUNG_WOMEN, 21)
    mall.visits("quiet", OLDER_MEN, 19)
    busy, quiet = audience(mall, "busy"), audience(mall, "quiet")
    assert busy["published"] is True and busy["k_anonymity"] == 20
    assert busy["shares"] == {"female:18-24": pytest.approx(1.0)}
    assert busy["visits"] == pytest.approx(21, abs=0.1)
    assert quiet == {
        "store_id": "quiet",
        "published": False,
        "k_anonymity": 20,
        "daypart": None,
        "visits": None,
        "shares": None,
        "epsilon": None,
        "half_life_days": 7.0,
    }


def test_old_visits_decay_with_the_half_life(mall: Mall) -> None:
    mall.store("s1", [])
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    mall.send([event(type="store_visit", screen_id="cam-s1", gender="male", age=30, ts=week_ago) for _ in range(30)])
    assert audience(mall, "s1")["published"] is False, "30 visits a half-life ago count as 15"
    mall.visits("s1", YOUNG_WOMEN, 10)
    body = audience(mall, "s1")
    assert body["visits"] == pytest.approx(25, abs=0.1)
    assert body["shares"] == {"male:25-34": pytest.approx(0.6), "female:18-24": pytest.approx(0.4)}


def test_dayparts_are_published_separately(mall: Mall) -> None:
    mall.store("s1", [])
    morning = datetime.now(UTC).replace(hour=9, minute=0) - timedelta(days=1)
    mall.send(
        [
            event(type="store_visit", screen_id="cam-s1", gender="female", age=40, ts=morning.isoformat())
            for _ in range(25)
        ]
    )
    assert audience(mall, "s1", daypart="morning")["published"] is True
    assert audience(mall, "s1", daypart="evening")["published"] is False


def test_merchandisers_see_only_their_stores_and_devices_none(mall: Mall, auth: TokenFactory) -> None:
    mall.store("s1", [])
    mall.store("s2", [])
    own = auth("merchandiser", store_ids=["s1"])
    assert mall.client.get("/v1/stores/s1/audience", headers=own).status_code == 200
    assert mall.client.get("/v1/stores/s2/audience", headers=own).status_code == 403
    assert mall.client.get("/v1/stores/s1/audience", headers=auth("device", screen_id="lead1")).status_code == 403
    assert mall.client.get("/v1/stores/ghost/audience", headers=mall.admin).status_code == 404


@pytest.fixture
def noisy_client(sqlite_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(sqlite_url, dp_epsilon=0.5, k_anonymity=5))) as client:
        yield client


def test_laplace_noise_is_added_when_epsilon_is_set(noisy_client: TestClient, sqlite_url: str) -> None:
    from sqlmodel import Session

    from screens.auth import create_token

    with Session(noisy_client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
        token = create_token(session, "ops")
        session.commit()
    mall = Mall(noisy_client, {"Authorization": f"Bearer {token}"})
    mall.store("s1", [])
    mall.visits("s1", YOUNG_WOMEN, 40)
    body = audience(mall, "s1")
    assert body["published"] is True and body["epsilon"] == 0.5 and body["k_anonymity"] == 5
    shares = body["shares"]
    assert isinstance(shares, dict) and len(shares) > 1, "noise spreads mass over other cells"
    assert sum(shares.values()) == pytest.approx(1.0)
