"""`vitrine train mirror`: publish only models that beat the ones in force on the newest sessions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from screens.app import create_app
from screens.auth import create_token
from screens.cli import app as cli
from tests.builders import wait_for
from tests.conftest import make_settings
from tests.service.test_mirror_api import STYLES, Mirror, row

LOOKS = 30
COLORS = ["navy", "olive", "sand", "rust", "grey", "teal"]


@pytest.fixture
def env(sqlite_url: str, redis_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "VITRINE_DATABASE_URL": sqlite_url,
        "VITRINE_REDIS_URL": redis_url,
        "VITRINE_MODEL_DIR": str(tmp_path / "models"),
    }


@pytest.fixture
def mirror(env: dict[str, str]) -> Iterator[Mirror]:
    settings = make_settings(
        env["VITRINE_DATABASE_URL"], redis_url=env["VITRINE_REDIS_URL"], model_dir=env["VITRINE_MODEL_DIR"]
    )
    with TestClient(create_app(settings)) as client:
        with Session(client.app.state.runtime.engine) as session:  # type: ignore[attr-defined]
            admin = {"Authorization": f"Bearer {create_token(session, 'admin')}"}
            device = {"Authorization": f"Bearer {create_token(session, 'device', screen_id='mirror1')}"}
            session.commit()
        Mirror.build_mall(client, admin)
        yield Mirror(client, admin, device, upload=False)


def looks_catalog() -> list[dict[str, Any]]:
    """Thirty tops, bottoms and shoes whose colours and styles say nothing about which go together."""
    return [
        row(f"{c[0].upper()}{i}", c, COLORS[(i * k) % len(COLORS)], STYLES[(i * (k + 2)) % len(STYLES)][1])
        for k, c in enumerate(("tops", "bottoms", "shoes"), start=1)
        for i in range(LOOKS)
    ]


def history(mirror: Mirror, repeats: int = 4, cameras: bool = True) -> None:
    """Shoppers copy thirty looks (top i, then bottom 7i+3, then shoes 11i+5), each look ``repeats`` times.

    ``cameras=False``: a fitting room with an RFID reader and no camera (no ``audience`` events)."""
    mirror.upload("s1", looks_catalog())
    start = datetime.now(UTC) - timedelta(days=2)
    events: list[dict[str, Any]] = []
    for n in range(LOOKS * repeats):
        at, look = start + timedelta(minutes=5 * n), n % LOOKS
        gender = "female" if n % 2 else "male"
        if cameras:
            events.append(_event(at, "audience", faces=[{"gender": gender, "age": 30, "confidence": 0.9}]))
        skus = (f"T{look}", f"B{(7 * look + 3) % LOOKS}", f"S{(11 * look + 5) % LOOKS}")
        for j, sku in enumerate(skus):
            events.append(_event(at + timedelta(seconds=10 + 60 * j), "try_on", sku=sku, session_id=f"s{n}"))
    r = mirror.client.post("/v1/events", json={"events": events}, headers=mirror.admin)
    assert r.status_code == 200 and r.json()["accepted"] == len(events), r.text


def _event(at: datetime, type_: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": str(uuid.uuid4()), "ts": at.isoformat(), "type": type_, "screen_id": "mirror1", **fields}


def train(env: dict[str, str], *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["train", "mirror", "--factors", "48", "--iterations", "8", *args], env=env)
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{") :])
    return report


def test_first_training_beats_content_only_and_is_published(mirror: Mirror, env: dict[str, str]) -> None:
    history(mirror)
    report = train(env)
    metrics = report["metrics"]
    assert metrics["current_is"] == "content-only" and metrics["n_test_sessions"] == 24
    assert metrics["new"]["next_hit@10"] > metrics["current"]["next_hit@10"] + 0.005
    assert report["published"] is True and report["version"] == report["candidate_version"]
    wait_for(lambda: mirror.runtime.mirror.models_version == report["version"])


def test_retraining_on_the_same_log_publishes_only_when_forced(mirror: Mirror, env: dict[str, str]) -> None:
    history(mirror)
    first = train(env)["version"]

    again = train(env)
    assert again["published"] is False and again["version"] == first, "not better: the models in force stay"
    assert again["metrics"]["current_is"] == first
    assert (Path(env["VITRINE_MODEL_DIR"]) / "mirror" / "CURRENT").read_text().strip() == first

    forced = train(env, "--force")
    assert forced["published"] is True and forced["version"] != first
    wait_for(lambda: mirror.runtime.mirror.models_version == forced["version"])


def test_mirror_without_a_camera_trains_and_answers(mirror: Mirror, env: dict[str, str]) -> None:
    """Issue 15: try-ons and purchases but no audience events must still train the co-try-on model."""
    history(mirror, cameras=False)
    report = train(env)
    assert report["sessions_with_profile"] == 0
    assert report["parts"] == {"content": True, "co_try_on": True, "crowd_taste": False, "learned_compatibility": True}
    assert report["published"] is True and report["version"].endswith("+no-profile")
    assert report["metrics"]["new"]["next_hit@10"] > report["metrics"]["current"]["next_hit@10"] + 0.005
    folder = Path(env["VITRINE_MODEL_DIR"]) / "mirror" / report["version"]
    assert sorted(p.name for p in folder.iterdir()) == ["mirror_als.npz", "mirror_compat.json"]  # no taste file
    wait_for(lambda: mirror.runtime.mirror.models_version == report["version"])
    ready = mirror.client.get("/readyz").json()["mirror_models"]
    assert ready == {"version": report["version"], "parts": report["parts"]}
    look = 4
    answer = mirror.recommend(f"T{look}")
    assert f"B{(7 * look + 3) % LOOKS}" in [p["sku"] for p in answer["complementary"]][:3]


def test_without_a_camera_the_session_alone_personalises(mirror: Mirror, env: dict[str, str]) -> None:
    history(mirror, cameras=False)
    version = train(env)["version"]
    wait_for(lambda: mirror.runtime.mirror.models_version == version)
    alone = {p["sku"]: p for p in mirror.recommend("S0")["complementary"]}
    assert mirror.try_on("T3", session_id="rfid-7").status_code == 200
    after = {p["sku"]: p for p in mirror.try_on("S0", session_id="rfid-7").json()["complementary"]}
    common = (set(alone) & set(after)) - {"T3"}
    assert common and any(abs(alone[s]["score"] - after[s]["score"]) > 1e-3 for s in common)
    assert "matches_your_session" in {p["reason"] for p in after.values()}


def test_readyz_says_content_only_before_the_first_training(mirror: Mirror) -> None:
    assert mirror.client.get("/readyz").json()["mirror_models"] == {
        "version": None,
        "parts": {"content": True, "co_try_on": False, "crowd_taste": False, "learned_compatibility": False},
    }


def test_compatibility_learned_from_baskets_is_shown_beside_the_merchandisers(
    mirror: Mirror, env: dict[str, str]
) -> None:
    """Issue 15: pairs the merchandiser never named are learned; the merchandiser's entries override."""
    history(mirror, cameras=False)
    table = {"tops": {"bottoms": 0.2}, "bottoms": {"tops": 1.0}}
    r = mirror.client.put("/v1/mirror/compatibility", json={"table": table}, headers=mirror.admin)
    assert r.status_code == 200, r.text
    report = train(env)
    assert report["parts"]["learned_compatibility"] is True
    wait_for(lambda: mirror.runtime.mirror.models_version == report["version"])
    body = mirror.client.get("/v1/mirror/compatibility", headers=mirror.admin).json()
    assert body["table"] == table
    assert body["learned"]["tops"]["shoes"] > 0 and body["learned_support"]["tops"]["shoes"] >= 5
    assert body["in_force"]["tops"]["bottoms"] == 0.2, "the merchandiser's entry overrides the learned one"
    assert body["in_force"]["tops"]["shoes"] == body["learned"]["tops"]["shoes"], "learned pairs fill the gaps"
    assert body["in_force"]["shoes"] == body["learned"]["shoes"]
    shoes = [p for p in mirror.recommend("T4")["complementary"] if p["sku"].startswith("S")]
    assert shoes, "shoes complete tops now, though the merchandiser's table never said so"
