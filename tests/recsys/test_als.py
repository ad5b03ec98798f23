"""Co-try-on ALS: learns which pieces are tried together, survives save/load, degrades gracefully."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recsys.mirror.catalog import Purchase, TryOn
from recsys.mirror.models import als
from recsys.mirror.models.als import CoTryOnALS, make_als


def looks_log(n_looks: int = 30, sessions_per_look: int = 12) -> list[TryOn]:
    """Looks of three items (top, bottom, shoes); each session tries two or three of one look."""
    rng = np.random.default_rng(0)
    events = []
    for s in range(n_looks * sessions_per_look):
        look = s % n_looks
        for part in rng.permutation(3)[: rng.integers(2, 4)]:
            events.append(TryOn(f"s{s}", "st", f"L{look}-{part}", float(part)))
    return events


def test_items_tried_together_score_higher_than_strangers() -> None:
    model = CoTryOnALS(factors=16, iterations=15).fit(looks_log())
    vecs = model.item_vectors([("st", "L0-0"), ("st", "L0-1"), ("st", "L7-1")])
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.3


def test_purchases_without_session_form_their_own_basket() -> None:
    model = CoTryOnALS(factors=8, iterations=10).fit(looks_log(), [Purchase(None, "st", ("L0-0", "NEW"), 0.0)] * 5)
    assert model.item_vectors([("st", "NEW")]).any()


def test_unknown_items_get_zero_vectors() -> None:
    model = CoTryOnALS(factors=8, iterations=3).fit(looks_log(5, 4))
    assert not model.item_vectors([("st", "nope"), ("other-store", "L0-0")]).any()


def test_save_load_round_trip_keeps_version_and_vectors(tmp_path: Path) -> None:
    model = CoTryOnALS(factors=8, iterations=5).fit(looks_log(5, 4))
    model.save(tmp_path / "als.npz")
    loaded = CoTryOnALS.load(tmp_path / "als.npz")
    keys = [("st", "L1-0"), ("st", "L2-2")]
    assert loaded.version == model.version != "untrained"
    assert np.array_equal(loaded.item_vectors(keys), model.item_vectors(keys))


def test_no_events_is_an_actionable_error() -> None:
    with pytest.raises(ValueError, match="log some sessions"):
        CoTryOnALS().fit([])


def test_asking_for_gpu_without_cuda_warns_and_trains_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(als, "HAS_CUDA", False)
    with pytest.warns(UserWarning, match="CPU"):
        model = make_als(4, 1, 0.1, use_gpu=True)
    assert type(model).__module__.startswith("implicit.cpu")


@pytest.mark.gpu
@pytest.mark.skipif(not als.HAS_CUDA, reason="implicit built without CUDA")
def test_gpu_training_gives_cpu_factors() -> None:  # pragma: no cover - needs CUDA
    model = CoTryOnALS(factors=8, iterations=5, use_gpu=True).fit(looks_log(5, 4))
    assert isinstance(model.unit_factors, np.ndarray) and model.unit_factors.shape[1] == 8
