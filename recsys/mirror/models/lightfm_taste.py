"""Crowd-profile taste for mirrors learned by LightFM, folded into the content space of the FAISS query.

LightFM (Kula, 2015, "Metadata Embeddings for User and Item Cold-Start Recommendations") scores a
(user, item) pair as ``(f_u · E_u) · (f_i · E_i) + f_u · b_u + f_i · b_i``, users and items being sums
of the embeddings of their features. Here a "user" is one try-on session described only by its crowd
profile (a constant feature plus the share of each attribute cell, no identity), and an item is
described only by its :class:`~recsys.mirror.embeddings.ContentEncoder` vector (category, subcategory,
colours, style tags, price band, gender target, name tokens), with no per-item identity feature.

Without item identities the item side is linear in the content vector, so for one profile the whole
item-dependent score is ``content · (E_i (E_uᵀ f_u) + b_i)``: a single direction in content space.
:meth:`LightFMProfileModel.query` returns that direction, which makes the model a drop-in for
:class:`~recsys.mirror.models.cell_taste.CellTasteModel`: same FAISS query, no per-request forward pass,
and items uploaded after training are scored through their content. The direction is rescaled so
that the median single-cell direction has unit norm, as ``CellTasteModel`` does, so that the
``mirror_profile`` weight means the same for both models.

Training: each session with a logged profile is a user; the items it tried are its positives (WARP
loss, Weston et al., 2011, which samples negatives among all items).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import numpy as np
import scipy.sparse as sp
from lightfm import LightFM

from recsys.attributes import CELL_INDEX, CELLS
from recsys.mirror.catalog import StoreItem, TryOn
from recsys.mirror.embeddings import ContentEncoder
from recsys.mirror.models.cell_taste import ProfileShares

logger = logging.getLogger(__name__)
KIND: Final = "lightfm"


class LightFMProfileModel:
    """LightFM hybrid over crowd cells × content features, queried as a content-space direction."""

    def __init__(
        self,
        no_components: int = 16,
        learning_rate: float = 0.05,
        epochs: int = 20,
        item_alpha: float = 1e-6,
        user_alpha: float = 1e-6,
        random_state: int = 0,
    ) -> None:
        self.params = dict(
            no_components=no_components,
            learning_rate=learning_rate,
            item_alpha=item_alpha,
            user_alpha=user_alpha,
            random_state=random_state,
        )
        self.epochs = epochs
        self.version = "untrained"
        dim = ContentEncoder().dim
        # bias: the item-bias direction; base: the constant "crowd" feature's; tastes: one per cell.
        self.bias = np.zeros(dim, dtype=np.float32)
        self.base = np.zeros(dim, dtype=np.float32)
        self.tastes = np.zeros((len(CELLS), dim), dtype=np.float32)

    def fit(
        self,
        tryons: Iterable[TryOn],
        session_profiles: Mapping[str, ProfileShares],
        items: Sequence[StoreItem],
        encoder: ContentEncoder | None = None,
    ) -> LightFMProfileModel:
        """Learn from try-ons whose session has a logged crowd profile; returns ``self``."""
        encoder = encoder or ContentEncoder()
        catalog = {item.key: item for item in items}
        by_session: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for event in tryons:
            key = (event.store_id, event.sku)
            if event.session_id in session_profiles and key in catalog:
                by_session[event.session_id].add(key)
        if not by_session:
            raise ValueError("no try-on has a crowd profile; log profiles with mirror sessions first")
        keys = sorted({key for tried in by_session.values() for key in tried})
        col_of = {key: i for i, key in enumerate(keys)}
        sessions = sorted(by_session)
        rows = [r for r, s in enumerate(sessions) for _ in by_session[s]]
        cols = [col_of[key] for s in sessions for key in sorted(by_session[s])]
        interactions = sp.coo_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(sessions), len(keys))
        )
        model = LightFM(loss="warp", **self.params)
        model.fit(
            interactions,
            user_features=sp.csr_matrix(user_features([session_profiles[s] for s in sessions])),
            item_features=sp.csr_matrix(encoder.encode([catalog[k] for k in keys])),
            epochs=self.epochs,
            num_threads=1,
        )
        if not (np.isfinite(model.item_embeddings).all() and np.isfinite(model.user_embeddings).all()):
            raise ValueError("LightFM diverged (non-finite embeddings); try a lower learning_rate")
        directions = model.user_embeddings.astype(np.float64) @ model.item_embeddings.astype(np.float64).T
        self.bias = model.item_biases.astype(np.float32)
        self.base = directions[0].astype(np.float32)
        self.tastes = directions[1:].astype(np.float32)
        single_cells = np.stack([self.query({cell: 1.0}) for cell in CELLS])
        scale = max(float(np.median(np.linalg.norm(single_cells, axis=1))), 1e-9)
        self.bias, self.base, self.tastes = self.bias / scale, self.base / scale, self.tastes / scale
        self.version = f"lightfm-{len(sessions)}s"
        logger.info("trained mirror LightFM profile model on %d sessions, %d items", len(sessions), len(keys))
        return self

    def query(self, profile: ProfileShares | None) -> np.ndarray:
        """The profile's direction in content space, shape ``(dim,)``; zeros without a profile."""
        features = user_features([profile or {}])[0]
        if features[1:].sum() == 0:
            return np.zeros(self.tastes.shape[1], dtype=np.float32)
        return np.asarray(self.bias + features[0] * self.base + features[1:] @ self.tastes, dtype=np.float32)

    def save(self, path: str | Path) -> None:
        np.savez(
            path,
            kind=np.array(KIND),
            bias=self.bias,
            base=self.base,
            tastes=self.tastes,
            version=np.array(self.version),
        )

    @classmethod
    def load(cls, path: str | Path) -> LightFMProfileModel:
        with np.load(path, allow_pickle=False) as data:
            if "kind" not in data.files or str(data["kind"]) != KIND:
                raise ValueError(f"{path} is not a LightFM mirror profile model; retrain with `vitrine train mirror`")
            model = cls()
            model.bias = data["bias"].astype(np.float32)
            model.base = data["base"].astype(np.float32)
            model.tastes = data["tastes"].astype(np.float32)
            model.version = str(data["version"])
        return model


def user_features(profiles: Sequence[ProfileShares]) -> np.ndarray:
    """``[constant, cell shares...]`` per profile, rows summing to one (LightFM's usual normalisation)."""
    dense = np.zeros((len(profiles), 1 + len(CELLS)), dtype=np.float32)
    dense[:, 0] = 1.0
    for r, profile in enumerate(profiles):
        for cell, share in profile.items():
            if cell in CELL_INDEX and share > 0:
                dense[r, 1 + CELL_INDEX[cell]] += share
    return np.asarray(dense / dense.sum(axis=1, keepdims=True))
