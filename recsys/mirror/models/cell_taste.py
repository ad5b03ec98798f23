"""Crowd-profile taste for mirrors: what each attribute cell tries on more than the average shopper.

The mirror never knows who stands in front of it, only the anonymous crowd profile (share of each
gender × age cell) that the cameras report. For every cell we learn a *taste direction* in content
space: the mean content vector of items tried in sessions where that cell was present (weighted by
its share), minus the mean over all sessions, shrunk towards zero for rarely seen cells (a
James–Stein-style ``n / (n + prior)`` factor). A profile's taste is the share-weighted sum of its
cells' directions, and an item's profile score is its content vector's inner product with it.

Why not LightFM with cell user features? :class:`~recsys.mirror.models.lightfm_taste.LightFMProfileModel`
learns the same "cell × item feature" interactions with an SGD fit, and in the simulator
(``python -m recsys.lab.mirror_eval``, two seeds, see ``docs/evaluation.md``) the two tie within
noise; this closed-form model has no hyper-parameters to tune, so it stays the default. Either
answers :class:`ProfileModel`, so the recommender takes whichever
:func:`~recsys.mirror.training.train_mirror_model` trained.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from recsys.attributes import CELL_INDEX, CELLS
from recsys.mirror.catalog import StoreItem, TryOn
from recsys.mirror.embeddings import ContentEncoder

ProfileShares = Mapping[str, float]
"""``{cell: share}`` as a model reads it (what :meth:`recsys.profile.CrowdProfile.as_dict` returns)."""


class ProfileModel(Protocol):
    """What :class:`~recsys.mirror.recommender.MirrorRecommender` needs from a crowd-profile model.

    ``query`` maps a profile to a direction in :class:`~recsys.mirror.embeddings.ContentEncoder` space whose
    inner product with an item's content vector is the item's profile score (zeros without a
    profile), so any such model folds into the same FAISS query. Implementations:
    :class:`CellTasteModel` and :class:`~recsys.mirror.models.lightfm_taste.LightFMProfileModel`.
    """

    version: str

    def query(self, profile: ProfileShares | None) -> np.ndarray: ...

    def save(self, path: str | Path) -> None: ...


class CellTasteModel:
    """Per-cell taste directions in :class:`~recsys.mirror.embeddings.ContentEncoder` space."""

    def __init__(self, prior: float = 20.0) -> None:
        self.prior = prior
        self.version = "untrained"
        self.tastes = np.zeros((len(CELLS), ContentEncoder().dim), dtype=np.float32)

    def fit(
        self,
        tryons: Iterable[TryOn],
        session_profiles: Mapping[str, ProfileShares],
        items: Sequence[StoreItem],
        encoder: ContentEncoder | None = None,
    ) -> CellTasteModel:
        """Learn from try-ons whose session has a logged crowd profile; returns ``self``."""
        encoder = encoder or ContentEncoder()
        by_session: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for event in tryons:
            if event.session_id in session_profiles:
                by_session[event.session_id].append((event.store_id, event.sku))
        keys = sorted({key for session in by_session.values() for key in session})
        if not keys:
            raise ValueError("no try-on has a crowd profile; log profiles with mirror sessions first")
        catalog = {item.key: item for item in items}
        known = [k for k in keys if k in catalog]
        content = encoder.encode([catalog[k] for k in known])
        row_of = {key: i for i, key in enumerate(known)}

        sums = np.zeros((len(CELLS), encoder.dim), dtype=np.float64)
        mass = np.zeros(len(CELLS), dtype=np.float64)
        total, total_mass = np.zeros(encoder.dim), 0.0
        for session, tried in by_session.items():
            rows = [row_of[k] for k in tried if k in row_of]
            if not rows:
                continue
            mean = content[rows].mean(axis=0)
            total += mean
            total_mass += 1.0
            for cell, share in session_profiles[session].items():
                if cell in CELL_INDEX and share > 0:
                    sums[CELL_INDEX[cell]] += share * mean
                    mass[CELL_INDEX[cell]] += share
        overall = total / max(total_mass, 1.0)
        diff = sums - mass[:, None] * overall[None, :]
        tastes = diff / (mass[:, None] + self.prior)
        scale = np.median(np.linalg.norm(tastes[mass > 0], axis=1)) if np.any(mass > 0) else 1.0
        self.tastes = (tastes / max(float(scale), 1e-9)).astype(np.float32)
        self.version = f"taste-{int(total_mass)}s"
        return self

    def query(self, profile: ProfileShares | None) -> np.ndarray:
        """The profile's taste direction, shape ``(dim,)``; zeros without a profile."""
        out = np.zeros(self.tastes.shape[1], dtype=np.float32)
        for cell, share in (profile or {}).items():
            idx = CELL_INDEX.get(cell)
            if idx is not None:
                out += np.float32(share) * self.tastes[idx]
        return out

    def save(self, path: str | Path) -> None:
        np.savez(path, tastes=self.tastes, prior=np.array(self.prior), version=np.array(self.version))

    @classmethod
    def load(cls, path: str | Path) -> CellTasteModel:
        with np.load(path, allow_pickle=False) as data:
            model = cls(prior=float(data["prior"]))
            model.tastes = data["tastes"].astype(np.float32)
            model.version = str(data["version"])
        return model
