"""`vitrine train coupons`: from the event log to a published model every worker swaps to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from recsys.leadin.claim_model import ClaimModel
from screens.app import create_app
from screens.auth import create_token
from screens.bus.memory import MemoryConfigChannel
from screens.cli import app as cli
from screens.services.model_pointers import COUPONS, load_coupon_model, make_current, publish_coupon_model
from screens.services.model_store import ModelStore
from tests.builders import coupon, event, training_log_start, wait_for
from tests.conftest import make_settings
from tests.recsys.test_claim_model import family_log
from tests.service.test_coupons_api import OLDER_MEN, YOUNG_WOMEN, Mall, ids


@pytest.fixture
def env(sqlite_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VITRINE_DATABASE_URL": sqlite_url,
        "VITRINE_REDIS_URL": redis_url,
        "VITRINE_MODEL_DIR": str(tmp_path / "models"),
    }


@pytest.fixture
def mall(env: dict[str, str]) -> Iterator[Mall]:
    settings = make_settings(
        env["VITRINE_DATABASE_URL"], redis_url=env["VITRINE_REDIS_URL"], model_dir=env["VITRINE_MODEL_DIR"]
    )
    with TestClient(create_app(settings)) as client:
        with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
            token = create_token(session, "admin")
            session.commit()
        yield Mall(client, {"Authorization": f"Bearer {token}"})


def history(mall: Mall, groups: int = 240) -> None:
    """Young women claim the young store's coupon, older men the older store's, two times in five.

    A held-out end that crossed an hour block (a start at 14:30, say) made the refit current model
    score below the split candidate, so "not better" failed by clock: the log starts at a fixed hour.
    """
    mall.store("young", [coupon("c-young")])
    mall.store("older", [coupon("c-older")])
    start = training_log_start()
    events: list[dict[str, object]] = []
    for i in range(groups):
        at = start + timedelta(minutes=i)
        people, fits = (YOUNG_WOMEN, "c-young") if i % 2 else (OLDER_MEN, "c-older")
        events.append(
            event(
                type="audience",
                screen_id="lead1",
                ts=at.isoformat(),
                faces=[{"gender": g, "age": a, "confidence": 0.9} for g, a in people],
            )
        )
        for shown in ("c-young", "c-older"):
            events.append(
                event(
                    type="coupon_impression",
                    screen_id="lead1",
                    coupon_id=shown,
                    ts=(at + timedelta(seconds=2)).isoformat(),
                )
            )
        if i % 5 < 2:
            events.append(
                event(
                    type="coupon_claim", screen_id="lead1", coupon_id=fits, ts=(at + timedelta(seconds=20)).isoformat()
                )
            )
    for start_at in range(0, len(events), 500):
        mall.send(events[start_at : start_at + 500])


def train(env: dict[str, str]) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["train", "coupons"], env=env)
    assert result.exit_code == 0, result.output
    report: dict[str, object] = json.loads(result.stdout[result.stdout.index("{") :])
    return report


def test_training_publishes_a_better_model_and_workers_swap_to_it(mall: Mall, env: dict[str, str]) -> None:
    history(mall)
    assert mall.coupons()["model_version"] is None
    report = train(env)
    assert report["published"] is True
    metrics = report["metrics"]
    assert isinstance(metrics, dict) and metrics["new"]["auc"] > 0.75 and metrics["current"] is None
    version = report["version"]
    wait_for(lambda: mall.coupons()["model_version"] == version, timeout=5)
    mall.crowd(YOUNG_WOMEN)
    preview = mall.recommend(weights={"audience_match": 0})
    learned = {c["coupon_id"]: c["explain"]["learned"] for c in preview["coupons"]}
    assert learned["c-young"] > learned["c-older"]

    again = train(env)
    assert again["published"] is False and again["version"] == version, "not better: the current model stays"


def test_a_new_coupon_is_scored_through_its_features(mall: Mall, env: dict[str, str]) -> None:
    history(mall)
    version = train(env)["version"]
    wait_for(lambda: mall.coupons()["model_version"] == version, timeout=5)
    mall.put("/v1/stores/young/coupons?mode=replace", [coupon("c-young-new")])
    body = mall.recommend(profile={"faces": [{"gender": "female", "age": 21}]}, weights={"audience_match": 0})
    assert ids(body) == ["c-young-new", "c-older"]
    assert body["coupons"][0]["explain"]["learned"] > body["coupons"][1]["explain"]["learned"]


def test_training_without_claims_fails_with_a_clear_message(env: dict[str, str], mall: Mall) -> None:
    mall.store("s1", [coupon("c1")])
    mall.send([event(type="coupon_impression", screen_id="lead1", coupon_id="c1")])
    result = CliRunner().invoke(cli, ["train", "coupons"], env=env)
    assert result.exit_code == 2 and "coupon_claim" in result.output


def test_eval_coupons_prints_the_policy_table() -> None:
    result = CliRunner().invoke(cli, ["eval", "coupons", "--groups", "60", "--stores", "12", "--history-days", "2"])
    assert result.exit_code == 0, result.output
    assert "| policy | claim rate |" in result.stdout and "heuristic+lightfm" in result.stdout


@pytest.mark.parametrize("content", [b"PK\x03\x04 cut short", b"\x80\x05 not a pickle", b""])
def test_a_published_model_that_fails_to_load_never_replaces_the_current_one(tmp_path: Path, content: bytes) -> None:
    config = MemoryConfigChannel()
    good = ClaimModel().fit(family_log(800))
    publish_coupon_model(good, tmp_path, config)
    store = ModelStore(tmp_path, config, check_s=0.05)
    slot = store.register(COUPONS, lambda version: load_coupon_model(tmp_path, version))
    store.start()
    try:
        assert store.status() == {COUPONS: good.version}
        (tmp_path / "coupons" / "broken.pkl").write_bytes(content)
        make_current(tmp_path, "coupons", "broken", config)  # announced: the store tries it on its thread
        store.settle()
        assert store.status() == {COUPONS: good.version}
        current = slot.current()
        assert current is not None and current.version == good.version
    finally:
        store.stop()
