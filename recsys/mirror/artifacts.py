"""The mirror models a training run publishes: what they are, where they lie, how to load them.

One version directory holds ``mirror_als.npz`` (co-try-on ALS) and ``mirror_taste.npz`` (the
crowd-profile model, either kind: the file says which). The service loads them through
:func:`load_mirror_models`; :func:`~recsys.mirror.training.train_mirror_model` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel, ProfileModel
from recsys.mirror.models.lightfm_taste import KIND as LIGHTFM
from recsys.mirror.models.lightfm_taste import LightFMProfileModel

ALS_FILE: Final = "mirror_als.npz"
TASTE_FILE: Final = "mirror_taste.npz"


@dataclass(frozen=True)
class MirrorModels:
    als: CoTryOnALS
    taste: ProfileModel


def save_mirror_models(models: MirrorModels, out_dir: str | Path) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    models.als.save(Path(out_dir) / ALS_FILE)
    models.taste.save(Path(out_dir) / TASTE_FILE)


def load_mirror_models(models_dir: str | Path) -> MirrorModels | None:
    """The models ``train_mirror_model`` saved, or ``None`` before the first training (content-only)."""
    als_path, taste_path = Path(models_dir) / ALS_FILE, Path(models_dir) / TASTE_FILE
    if not als_path.exists() or not taste_path.exists():
        return None
    with np.load(taste_path, allow_pickle=False) as data:
        kind = str(data["kind"]) if "kind" in data.files else "taste"
    taste = LightFMProfileModel.load(taste_path) if kind == LIGHTFM else CellTasteModel.load(taste_path)
    return MirrorModels(CoTryOnALS.load(als_path), taste)
