"""The evaluation the issue asks for: blended beats popular-in-category on simulated sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.lab.mirror_eval import evaluate_mirror, to_markdown
from recsys.lab.mirror_sim import SimConfig, simulate
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel

SMALL = SimConfig(n_items=1200, n_train_sessions=5000, n_test_sessions=300, seed=3)


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    return evaluate_mirror(SMALL, models_dir=tmp_path_factory.mktemp("models"))


def test_blended_beats_popular_in_category(table: dict[str, dict[str, float]]) -> None:
    for metric in ("next_hit@10", "next_ndcg@10", "bought_hit@10"):
        assert table["blended"][metric] > table["popular-in-category"][metric], metric
    assert table["popular-in-category"]["next_hit@10"] > table["random"]["next_hit@10"]


def test_trained_models_are_saved_and_loaded(tmp_path: Path) -> None:
    from recsys.mirror.artifacts import load_mirror_models
    from recsys.mirror.training import train_mirror_model

    assert load_mirror_models(tmp_path) is None
    log = simulate(SimConfig(n_items=300, n_train_sessions=400, n_test_sessions=0, seed=2))
    trained = train_mirror_model(log.tryons(), log.purchases(), log.items, log.profiles(), tmp_path, iterations=3)
    loaded = load_mirror_models(tmp_path)
    assert loaded is not None and loaded.als.version == trained.als.version
    assert loaded.taste is not None and trained.taste is not None
    assert loaded.taste.version == trained.taste.version


def test_without_profiles_only_the_co_try_on_model_is_trained_saved_and_loaded(tmp_path: Path) -> None:
    """Issue 15: a fitting room without a camera logs no crowd profile; training must not stop."""
    from recsys.mirror.artifacts import TASTE_FILE, load_mirror_models
    from recsys.mirror.recommender import MirrorRecommender
    from recsys.mirror.training import train_mirror_model

    log = simulate(SimConfig(n_items=300, n_train_sessions=400, n_test_sessions=0, seed=2))
    trained = train_mirror_model(log.tryons(), log.purchases(), log.items, {}, tmp_path, iterations=3)
    assert trained.taste is None and trained.parts == {
        "content": True,
        "co_try_on": True,
        "crowd_taste": False,
        "learned_compatibility": True,
    }
    assert not (tmp_path / TASTE_FILE).exists()
    loaded = load_mirror_models(tmp_path)
    assert loaded is not None and loaded.taste is None and loaded.version == trained.version
    rec = MirrorRecommender(als=loaded.als, taste=loaded.taste)
    rec.load_catalog(log.items)
    item = next(it for it in log.items if it.stock > 0)
    assert rec.recommend(item.store_id, item.sku, (), {"female:25-34": 1.0}).similar


def test_markdown_table_lists_the_seven_policies(table: dict[str, dict[str, float]]) -> None:
    text = to_markdown(table)
    policies = ("random", "popular-in-category", "content-only", "cf-only", "blended", "blended + LightFM profile")
    for name in (*policies, "blended, no crowd profile"):
        assert f"| {name} |" in text


def test_crowd_profile_shifts_ranking(tmp_path: Path) -> None:
    from recsys.mirror.recommender import MirrorRecommender

    log = simulate(SimConfig(n_items=600, n_train_sessions=2500, n_test_sessions=0, seed=5))
    taste = CellTasteModel().fit(log.tryons(), log.profiles(), log.items)
    taste.save(tmp_path / "taste.npz")
    rec = MirrorRecommender(
        als=CoTryOnALS(factors=8, iterations=5).fit(log.tryons()), taste=CellTasteModel.load(tmp_path / "taste.npz")
    )
    rec.load_catalog(log.items)
    item = next(it for it in log.items if it.stock > 0 and it.gender_target == "unisex" and it.category == "tops")
    women = rec.recommend(item.store_id, item.sku, profile={"female:25-34": 1.0}, weights={"mirror_profile": 3.0})
    men = rec.recommend(item.store_id, item.sku, profile={"male:25-34": 1.0}, weights={"mirror_profile": 3.0})
    assert [r.sku for r in women.similar] != [r.sku for r in men.similar]
    gender = {it.sku: it.gender_target for it in log.items}
    assert sum(gender[r.sku] == "women" for r in women.similar) > sum(gender[r.sku] == "women" for r in men.similar)


def test_lightfm_profile_model_plugs_into_the_recommender_and_round_trips(tmp_path: Path) -> None:
    from recsys.mirror.artifacts import load_mirror_models
    from recsys.mirror.models.lightfm_taste import LightFMProfileModel
    from recsys.mirror.recommender import MirrorRecommender
    from recsys.mirror.training import train_mirror_model

    log = simulate(SimConfig(n_items=600, n_train_sessions=2500, n_test_sessions=0, seed=5))
    trained = train_mirror_model(
        log.tryons(), log.purchases(), log.items, log.profiles(), tmp_path, factors=8, iterations=3, profile="lightfm"
    )
    loaded = load_mirror_models(tmp_path)
    assert loaded is not None and isinstance(loaded.taste, LightFMProfileModel)
    assert loaded.taste.version == trained.taste.version and loaded.taste.version.startswith("lightfm-")
    assert not loaded.taste.query(None).any() and loaded.taste.query({"female:25-34": 1.0}).any()
    rec = MirrorRecommender(als=loaded.als, taste=loaded.taste)
    rec.load_catalog(log.items)
    item = next(it for it in log.items if it.stock > 0 and it.gender_target == "unisex" and it.category == "tops")
    women = rec.recommend(item.store_id, item.sku, profile={"female:25-34": 1.0}, weights={"mirror_profile": 3.0})
    men = rec.recommend(item.store_id, item.sku, profile={"male:25-34": 1.0}, weights={"mirror_profile": 3.0})
    gender = {it.sku: it.gender_target for it in log.items}
    assert sum(gender[r.sku] == "women" for r in women.similar) > sum(gender[r.sku] == "women" for r in men.similar)
    assert women.model_version.split("+")[1].startswith("lightfm-")


def test_an_unknown_profile_model_is_refused() -> None:
    from recsys.mirror.training import train_mirror_model

    with pytest.raises(ValueError, match="taste, lightfm"):
        train_mirror_model([], [], [], {}, profile="bpr")
