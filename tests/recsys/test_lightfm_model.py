"""LightFM coupon model: learns crowd × coupon affinities, scores cold-start coupons and stores
through their features, evaluates on a time split and publishes only when it beats the current one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recsys.leadin.model import CouponFeatures, CouponImpression, CouponModel
from recsys.leadin.training import should_publish, time_split, train_coupon_model
from recsys.profile import CrowdProfile

NOW = datetime(2024, 6, 14, 15, 0, tzinfo=UTC)
YOUNG_WOMEN = CrowdProfile.from_shares({"female:18-24": 0.7, "female:25-34": 0.3}, NOW)
OLDER_MEN = CrowdProfile.from_shares({"male:55-64": 0.6, "male:65+": 0.4}, NOW)
FASHION = [CouponFeatures(f"f{i}", f"boutique-{i % 3}", "fashion", "percent", 0.2) for i in range(6)]
TOOLS = [CouponFeatures(f"t{i}", f"hardware-{i % 3}", "tools", "amount", 0.15) for i in range(6)]


def synthetic_log(n: int = 4000, seed: int = 0) -> list[CouponImpression]:
    """Young women claim fashion coupons, older men claim tool coupons, rarely the other way round."""
    rng = np.random.default_rng(seed)
    log = []
    for i in range(n):
        young = rng.random() < 0.5
        coupon = (FASHION + TOOLS)[rng.integers(0, 12)]
        likes = (coupon.store_category == "fashion") == young
        claimed = rng.random() < (0.3 if likes else 0.02)
        log.append(CouponImpression(float(i), coupon, YOUNG_WOMEN if young else OLDER_MEN, bool(claimed)))
    return log


@pytest.fixture(scope="module")
def model() -> CouponModel:
    return CouponModel(random_state=1).fit(synthetic_log())


def test_model_scores_the_crowds_coupons_higher(model: CouponModel) -> None:
    scores = model.score(YOUNG_WOMEN, [FASHION[0], TOOLS[0]])
    assert scores[0] > scores[1]
    scores = model.score(OLDER_MEN, [FASHION[0], TOOLS[0]])
    assert scores[1] > scores[0]


def test_cold_start_new_coupon_and_new_store_score_through_features(model: CouponModel) -> None:
    new_coupon_known_store = CouponFeatures("brand-new", "boutique-1", "fashion", "percent", 0.25)
    new_fashion_store = CouponFeatures("new-1", "opened-today", "fashion", "percent", 0.2)
    new_tools_store = CouponFeatures("new-2", "opened-today-too", "tools", "amount", 0.15)
    scores = model.score(YOUNG_WOMEN, [new_coupon_known_store, new_fashion_store, new_tools_store])
    assert np.all(np.isfinite(scores))
    assert scores[0] > scores[2] and scores[1] > scores[2]


def test_held_out_auc_is_well_above_chance(model: CouponModel) -> None:
    metrics = model.evaluate(synthetic_log(1000, seed=5))
    assert metrics["auc"] > 0.75 and metrics["n"] == 1000


def test_save_load_round_trip_keeps_scores_and_version(model: CouponModel, tmp_path: Path) -> None:
    path = model.save(tmp_path / "coupons.pkl")
    loaded = CouponModel.load(path)
    assert loaded.version == model.version and loaded.version is not None
    assert np.allclose(loaded.score(OLDER_MEN, FASHION + TOOLS), model.score(OLDER_MEN, FASHION + TOOLS))


def test_loading_something_else_fails_with_a_hint(tmp_path: Path) -> None:
    import pickle

    path = tmp_path / "other.pkl"
    path.write_bytes(pickle.dumps({"format": "nope"}))
    with pytest.raises(ValueError, match="vitrine train coupons"):
        CouponModel.load(path)


def test_unfitted_model_and_empty_log_are_refused() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        CouponModel().score(YOUNG_WOMEN, FASHION)
    with pytest.raises(ValueError, match="positives"):
        CouponModel().fit([CouponImpression(0.0, FASHION[0], YOUNG_WOMEN, False)])


def test_time_split_holds_out_the_newest_impressions() -> None:
    train, test = time_split(list(reversed(synthetic_log(100))), test_fraction=0.2)
    assert len(test) == 20 and min(i.ts for i in test) > max(i.ts for i in train)


def test_train_publishes_only_a_model_that_beats_the_current_one(model: CouponModel) -> None:
    log = synthetic_log(3000, seed=3)
    new_model, metrics = train_coupon_model(log, current=None, kind="lightfm", epochs=10)
    assert should_publish(metrics["new"], metrics["current"])  # nothing to beat yet
    _, against_itself = train_coupon_model(log, current=new_model, kind="lightfm", epochs=10)
    assert not should_publish(against_itself["new"], against_itself["current"])  # no real gain
    assert not should_publish({"auc": 0.7}, {"auc": 0.71})
    assert should_publish({"auc": 0.75}, {"auc": 0.70})
    assert not should_publish({"auc": float("nan")}, None)
