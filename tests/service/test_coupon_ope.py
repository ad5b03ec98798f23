"""Issue 12: impressions carry propensities; `vitrine eval coupons --policy` estimates policies on the
logged slates (IPS, SNIPS, DR with intervals); `vitrine train coupons` gates publishing on the estimate;
bad policy names and weights files are refused naming the field."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from screens.cli import app as cli
from tests.builders import coupon, event, training_log_start
from tests.service.test_coupons_api import OLDER_MEN, YOUNG_WOMEN, Mall
from tests.service.test_train_coupons import env as train_env
from tests.service.test_train_coupons import mall as train_mall

env, mall = train_env, train_mall  # the same fixtures: a service on SQLite + redis and its CLI environment


def random_slates(mall: Mall, groups: int = 300, seed: int = 0) -> None:
    """Each crowd sees one of two coupons at random (propensity 0.5) and claims the fitting one 40 % of the time."""
    mall.store("young", [coupon("c-young")])
    mall.store("older", [coupon("c-older")])
    rng = np.random.default_rng(seed)
    start = training_log_start()
    events: list[dict[str, object]] = []
    for i in range(groups):
        at = start + timedelta(minutes=i)
        people, fits = (YOUNG_WOMEN, "c-young") if i % 2 else (OLDER_MEN, "c-older")
        shown = ("c-young", "c-older")[int(rng.integers(0, 2))]
        faces = [{"gender": g, "age": a, "confidence": 0.9} for g, a in people]
        events.append(event(type="audience", screen_id="lead1", ts=at.isoformat(), faces=faces))
        impression_at = (at + timedelta(seconds=2)).isoformat()
        events.append(
            event(type="coupon_impression", screen_id="lead1", coupon_id=shown, ts=impression_at, propensity=0.5)
        )
        if shown == fits and rng.random() < 0.4:
            claim_at = (at + timedelta(seconds=20)).isoformat()
            events.append(event(type="coupon_claim", screen_id="lead1", coupon_id=shown, ts=claim_at))
    mall.send(events)


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


def test_the_coupon_list_gives_each_coupon_a_propensity(mall: Mall) -> None:
    mall.store("s1", [coupon("c1")])
    body = mall.recommend(profile={"faces": [{"gender": "female", "age": 30}]})
    assert body["coupons"] and all(0 < c["propensity"] <= 1 for c in body["coupons"])


def test_estimates_rank_a_policy_that_learned_the_crowds_above_the_current_one(mall: Mall, env: dict[str, str]) -> None:
    random_slates(mall)
    code, out = run(env, "eval", "coupons", "--policy", "current", "--policy", "candidate", "--json")
    assert code == 0, out
    current, candidate = json.loads(out[out.index("[") :])
    for estimate in (current, candidate):
        for name in ("ips", "snips", "dr"):
            low, high = estimate[name]["ci95"]
            assert low <= estimate[name]["value"] <= high
    assert candidate["dr"]["value"] > current["dr"]["value"] + 0.05
    assert 0.25 < candidate["snips"]["value"] < 0.55  # the fitting coupon is claimed 40 % of the time


def test_training_reports_the_estimates_and_publishes_a_policy_that_beats_the_current_one(
    mall: Mall, env: dict[str, str]
) -> None:
    random_slates(mall)
    code, out = run(env, "train", "coupons")
    assert code == 0, out
    report = json.loads(out[out.index("{") :])
    ope = report["metrics"]["ope"]
    assert ope["candidate_beats_current"] is True and report["published"] is True
    assert ope["candidate"]["dr"]["value"] > ope["current"]["dr"]["value"]


def test_an_unknown_policy_name_is_refused(env: dict[str, str], mall: Mall) -> None:
    code, out = run(env, "eval", "coupons", "--policy", "greedy")
    assert code == 2 and "unknown policy 'greedy'" in out


def test_a_weights_file_with_an_unknown_key_is_refused_naming_it(
    env: dict[str, str], mall: Mall, tmp_path: Path
) -> None:
    path = tmp_path / "weights.json"
    path.write_text(json.dumps({"learned": 2.0, "audience_mach": 1.0}))
    code, out = run(env, "eval", "coupons", "--policy", str(path))
    assert code == 2 and "weights.audience_mach" in out and "unknown weight" in out
    path.write_text(json.dumps({"learned": 99.0}))
    code, out = run(env, "eval", "coupons", "--policy", str(path))
    assert code == 2 and "weights.learned" in out


def test_estimates_without_logged_propensities_say_what_is_missing(env: dict[str, str], mall: Mall) -> None:
    mall.store("s1", [coupon("c1")])
    mall.send([event(type="coupon_impression", screen_id="lead1", coupon_id="c1")])
    mall.send([event(type="coupon_claim", screen_id="lead1", coupon_id="c1")])
    code, out = run(env, "eval", "coupons", "--policy", "current")
    assert code == 2 and "propensity" in out


def test_weights_preview_estimates_the_claim_rate_change_of_an_edit_before_it_is_saved(mall: Mall) -> None:
    random_slates(mall)
    before = mall.client.get("/v1/ranking/weights", headers=mall.admin).json()["version"]
    edit = {"weights": {"learned": 0.0, "audience_match": 0.0, "crowding": 0.0, "coupon_strength": 0.0}}
    r = mall.client.post("/v1/ranking/weights/estimate", json=edit, headers=mall.admin)
    assert r.status_code == 200, r.text
    estimate = r.json()
    assert (
        estimate["slates"] == 300
        and estimate["dr_change"] == estimate["edited"]["dr"]["value"] - estimate["current"]["dr"]["value"]
    )
    assert mall.client.get("/v1/ranking/weights", headers=mall.admin).json()["version"] == before  # nothing saved
    bad = mall.client.post("/v1/ranking/weights/estimate", json={"weights": {"lerned": 1.0}}, headers=mall.admin)
    assert bad.status_code == 422 and "weights.lerned" in bad.text
