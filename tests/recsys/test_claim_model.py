"""Issue 12: the learned coupon scorers share one contract (learn crowd × coupon affinity, cold start,
held-out AUC, save/load through the one loader); the claim model also reads company and hour and
gives calibrated probabilities."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.context import CONTEXT_INDEX, context_vector
from recsys.leadin.model import CouponFeatures, CouponImpression, CouponModel
from recsys.leadin.scorers import load_coupon_scorer
from recsys.leadin.training import new_scorer
from recsys.profile import CrowdProfile

MORNING = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EVENING = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
FASHION = [CouponFeatures(f"f{i}", f"boutique-{i % 3}", "fashion", "percent", 0.2) for i in range(6)]
TOYS = [CouponFeatures(f"t{i}", f"toys-{i % 3}", "toys", "amount", 0.15) for i in range(6)]


def crowd(faces: list[tuple[str, int]], when: datetime) -> CrowdProfile:
    return CrowdProfile.from_explicit({"faces": [{"gender": g, "age": a} for g, a in faces]}, when)


ALONE_WOMAN = crowd([("female", 30)], EVENING)
MOTHER_AND_CHILD = crowd([("female", 30), ("male", 7)], EVENING)


def family_log(n: int = 4000, seed: int = 0) -> list[CouponImpression]:
    """The same woman claims toy coupons when a child is with her, fashion coupons when alone."""
    rng = np.random.default_rng(seed)
    log = []
    for i in range(n):
        with_child = rng.random() < 0.5
        coupon = (FASHION + TOYS)[rng.integers(0, 12)]
        likes = (coupon.store_category == "toys") == with_child
        claimed = rng.random() < (0.35 if likes else 0.03)
        log.append(CouponImpression(float(i), coupon, MOTHER_AND_CHILD if with_child else ALONE_WOMAN, bool(claimed)))
    return log


@pytest.fixture(scope="module", params=["logistic", "lightfm"])
def scorer(request: pytest.FixtureRequest) -> ClaimModel | CouponModel:
    return new_scorer(request.param).fit(family_log())


def test_each_scorer_learns_what_the_company_changes(scorer: ClaimModel | CouponModel) -> None:
    coupons = FASHION + TOYS
    alone, with_child = scorer.score(ALONE_WOMAN, coupons), scorer.score(MOTHER_AND_CHILD, coupons)
    assert alone[:6].mean() > alone[6:].mean()
    assert with_child[6:].mean() > with_child[:6].mean()


def test_each_scorer_scores_a_new_coupon_of_a_known_store_by_its_features(scorer: ClaimModel | CouponModel) -> None:
    new = CouponFeatures("brand-new", "toys-0", "toys", "amount", 0.15)
    scores = scorer.score(MOTHER_AND_CHILD, [new, FASHION[0]])
    assert scores[0] > scores[1]


def test_each_scorer_separates_held_out_claims(scorer: ClaimModel | CouponModel) -> None:
    assert scorer.evaluate(family_log(1500, seed=9))["auc"] > 0.7  # the ceiling of this log is about 0.76


def test_each_scorer_round_trips_through_the_one_loader(scorer: ClaimModel | CouponModel, tmp_path: Path) -> None:
    path = scorer.save(tmp_path / "model.pkl")
    loaded = load_coupon_scorer(path)
    assert type(loaded) is type(scorer) and loaded.version == scorer.version
    np.testing.assert_allclose(loaded.score(ALONE_WOMAN, FASHION), scorer.score(ALONE_WOMAN, FASHION))


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x80\x05 not a pickle", b"plain text"])
def test_an_unreadable_model_file_raises_value_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.pkl"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        load_coupon_scorer(path)


def test_claim_probabilities_are_calibrated_on_held_out_impressions() -> None:
    model = ClaimModel().fit(family_log())
    metrics = model.evaluate(family_log(3000, seed=4))
    assert metrics["calibration_error"] < 0.03
    probabilities = model.probability(MOTHER_AND_CHILD, TOYS)
    assert 0.25 < probabilities.mean() < 0.45  # the true rate is 0.35


def test_hour_changes_the_claim_model_score() -> None:
    rng = np.random.default_rng(2)
    log = []
    for i in range(3000):
        morning = rng.random() < 0.5
        coupon = (FASHION + TOYS)[rng.integers(0, 12)]
        likes = (coupon.store_category == "fashion") == morning
        profile = crowd([("female", 30)], MORNING if morning else EVENING)
        log.append(CouponImpression(float(i), coupon, profile, bool(rng.random() < (0.3 if likes else 0.03))))
    model = ClaimModel().fit(log)
    morning_scores = model.score(crowd([("female", 30)], MORNING), FASHION + TOYS)
    assert morning_scores[:6].mean() > morning_scores[6:].mean()


def test_context_reads_company_off_the_faces() -> None:
    vec = context_vector(MOTHER_AND_CHILD)
    assert vec[CONTEXT_INDEX["crowd:child"]] == 1.0 and vec[CONTEXT_INDEX["size:2"]] == 1.0
    couple = context_vector(crowd([("female", 30), ("male", 32)], EVENING))
    assert couple[CONTEXT_INDEX["crowd:mixed_pair"]] == 1.0 and couple[CONTEXT_INDEX["crowd:child"]] == 0.0
    friends = context_vector(crowd([("male", 22)] * 3, EVENING))
    assert friends[CONTEXT_INDEX["crowd:adult_group"]] == 1.0
    assert friends[CONTEXT_INDEX["hour:18"]] == 1.0 and friends[CONTEXT_INDEX["weekday:0"]] == 1.0


def test_unknown_model_kind_is_refused_with_the_known_kinds() -> None:
    with pytest.raises(ValueError, match="logistic, lightfm"):
        new_scorer("vowpal")
