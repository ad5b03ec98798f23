"""The mirror models a training run publishes: what they are, where they lie, how to load them.

One version directory holds ``mirror_als.npz`` (co-try-on/co-purchase ALS, always),
``mirror_compat.json`` (category compatibility learned from the baskets, see
:mod:`recsys.mirror.compatibility`) and ``mirror_taste.npz`` (the crowd-profile model, either kind:
the file says which) only when the log had crowd profiles: a fitting room without a camera still
logs try-ons and purchases, and the ALS and the content model need nothing else. The service loads
them through :func:`load_mirror_models`; :func:`~recsys.mirror.training.train_mirror_model` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from recsys.mirror.compatibility import LearnedCompatibility
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel, ProfileModel
from recsys.mirror.models.lightfm_taste import KIND as LIGHTFM
from recsys.mirror.models.lightfm_taste import LightFMProfileModel

ALS_FILE: Final = "mirror_als.npz"
TASTE_FILE: Final = "mirror_taste.npz"
COMPAT_FILE: Final = "mirror_compat.json"
NO_PROFILE: Final = "no-profile"
"""The taste part of a version string when no crowd-profile model was trained."""


@dataclass(frozen=True)
class MirrorModels:
    als: CoTryOnALS
    taste: ProfileModel | None = None
    compatibility: LearnedCompatibility | None = None

    @property
    def version(self) -> str:
        return f"{self.als.version}+{self.taste.version if self.taste is not None else NO_PROFILE}"

    @property
    def parts(self) -> dict[str, bool]:
        """Which signals these models bring; content similarity is always on (it needs no model)."""
        return {
            "content": True,
            "co_try_on": self.als.is_fitted,
            "crowd_taste": self.taste is not None,
            "learned_compatibility": bool(self.compatibility and self.compatibility.table),
        }

    @staticmethod
    def content_only_parts() -> dict[str, bool]:
        """What a store has before its first training: content similarity alone."""
        return {"content": True, "co_try_on": False, "crowd_taste": False, "learned_compatibility": False}


def save_mirror_models(models: MirrorModels, out_dir: str | Path) -> None:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    models.als.save(Path(out_dir) / ALS_FILE)
    if models.taste is not None:
        models.taste.save(Path(out_dir) / TASTE_FILE)
    if models.compatibility is not None:
        models.compatibility.save(Path(out_dir) / COMPAT_FILE)


def load_mirror_models(models_dir: str | Path) -> MirrorModels | None:
    """The models ``train_mirror_model`` saved, or ``None`` before the first training (content-only)."""
    als_path, taste_path = Path(models_dir) / ALS_FILE, Path(models_dir) / TASTE_FILE
    if not als_path.exists():
        return None
    compat_path = Path(models_dir) / COMPAT_FILE
    return MirrorModels(
        CoTryOnALS.load(als_path),
        _load_taste(taste_path) if taste_path.exists() else None,
        LearnedCompatibility.load(compat_path) if compat_path.exists() else None,
    )


def _load_taste(path: Path) -> ProfileModel:
    with np.load(path, allow_pickle=False) as data:
        kind = str(data["kind"]) if "kind" in data.files else "taste"
    return LightFMProfileModel.load(path) if kind == LIGHTFM else CellTasteModel.load(path)
