"""Learned component of coupon ranking: a LightFM hybrid model over crowd and coupon features.

LightFM (Kula, 2015, "Metadata Embeddings for User and Item Cold-Start Recommendations") represents
a user and an item as the sums of the embeddings of their features, and scores a pair by the dot
product plus biases. Here the "user" is the crowd in front of a screen at impression time — its
attribute-cell shares, group type, daypart and weekend flag, with no identity feature at all, so
nothing about a person is ever learned — and the item is a coupon described by its own identity,
its store, the store's category, its kind and its depth band. Because items are sums of feature
embeddings, a brand-new coupon (or a coupon of a brand-new store) is scored through the features it
shares with known ones: that is the cold start.

Training data are impressions: claimed ones are positives, the rest negatives (logistic loss).
:class:`FeatureSpace` owns every external-id ↔ index map so no other code touches raw indices.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import scipy.sparse as sp
from lightfm import LightFM
from scipy.stats import rankdata

from recsys.attributes import CELLS, DAYPARTS, GROUP_TYPES
from recsys.leadin.table import CouponTable, depth_band
from recsys.profile import CrowdProfile

logger = logging.getLogger(__name__)
FORMAT: Final = "vitrine-coupon-lightfm/1"
USER_FEATURES: Final = (
    ("crowd",)
    + tuple(f"cell:{c}" for c in CELLS)
    + tuple(f"group:{g}" for g in GROUP_TYPES)
    + tuple(f"daypart:{d}" for d in DAYPARTS)
    + ("weekend:0", "weekend:1")
)


@dataclass(frozen=True)
class CouponFeatures:
    """Item side of the model; ``depth`` is the discount as a fraction of the store's typical basket."""

    coupon_id: str
    store_id: str
    store_category: str
    kind: str
    depth: float


@dataclass(frozen=True)
class CouponImpression:
    """One coupon shown to one crowd; ``claimed`` when a claim was joined back to it.

    ``propensity`` is the probability with which the serving policy put this coupon on the slate
    (logged by the screen with the impression), for off-policy evaluation; None when not logged.
    """

    ts: float
    coupon: CouponFeatures
    profile: CrowdProfile
    claimed: bool
    propensity: float | None = None


def coupon_features_of(table: CouponTable) -> list[CouponFeatures]:
    return [
        CouponFeatures(cid, table.store_ids[s], table.categories[c], kind, float(d))
        for cid, s, c, kind, d in zip(
            table.coupon_ids, table.store_idx, table.category_idx, table.kinds, table.depth, strict=True
        )
    ]


@dataclass
class FeatureSpace:
    """External feature names ↔ column indices, for crowds (fixed vocabulary) and coupons (learned).

    Features unseen at fit time are dropped at scoring time, which is what makes cold start work:
    a new coupon keeps its store, category, kind and depth features.
    """

    item_index: dict[str, int] = field(default_factory=dict)
    user_index: dict[str, int] = field(default_factory=lambda: {f: i for i, f in enumerate(USER_FEATURES)})

    @staticmethod
    def item_feature_names(coupon: CouponFeatures) -> tuple[str, ...]:
        band = depth_band(coupon.depth)
        return (
            f"coupon:{coupon.coupon_id}",
            f"store:{coupon.store_id}",
            f"category:{coupon.store_category}",
            f"kind:{coupon.kind}",
            f"depth:{band}",
            f"kind_depth:{coupon.kind}:{band}",
        )

    def fit_items(self, coupons: Sequence[CouponFeatures]) -> FeatureSpace:
        for coupon in coupons:
            for name in self.item_feature_names(coupon):
                self.item_index.setdefault(name, len(self.item_index))
        return self

    def item_matrix(self, coupons: Sequence[CouponFeatures]) -> sp.csr_matrix:
        rows, cols = [], []
        for r, coupon in enumerate(coupons):
            for name in self.item_feature_names(coupon):
                col = self.item_index.get(name)
                if col is not None:
                    rows.append(r)
                    cols.append(col)
        data = np.ones(len(rows), dtype=np.float32)
        matrix = sp.csr_matrix((data, (rows, cols)), shape=(len(coupons), len(self.item_index)))
        return _row_normalised(matrix)

    def user_matrix(self, profiles: Sequence[CrowdProfile]) -> sp.csr_matrix:
        return sp.csr_matrix(self.user_dense(profiles))

    def user_dense(self, profiles: Sequence[CrowdProfile]) -> np.ndarray:
        """Row-normalised crowd features; dense because the vocabulary is small and fixed."""
        n_cells, first_group = len(CELLS), 1 + len(CELLS)
        dense = np.zeros((len(profiles), len(USER_FEATURES)), dtype=np.float32)
        for r, profile in enumerate(profiles):
            dense[r, 0] = 1.0
            dense[r, 1 : 1 + n_cells] = profile.shares
            for group, share in profile.group_shares.items():
                dense[r, first_group + GROUP_TYPES.index(group)] = share
            dense[r, self.user_index[f"daypart:{profile.context.daypart}"]] = 1.0
            dense[r, self.user_index[f"weekend:{int(profile.context.weekend)}"]] = 1.0
        return np.asarray(dense / dense.sum(axis=1, keepdims=True))


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    scale = sp.diags(np.where(sums > 0, 1.0 / np.maximum(sums, 1e-12), 0.0).astype(np.float32))
    return sp.csr_matrix(scale @ matrix, dtype=np.float32)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann–Whitney AUC; NaN when only one class is present."""
    labels = np.asarray(labels, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


class CouponModel:
    """LightFM hybrid scorer for (crowd, coupon) pairs; see the module docstring for the model."""

    def __init__(
        self,
        no_components: int = 16,
        learning_rate: float = 0.05,
        epochs: int = 15,
        item_alpha: float = 1e-5,
        user_alpha: float = 1e-5,
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
        self.space = self.space_type()
        self.version: str | None = None
        self._lightfm: LightFM | None = None

    @property
    def is_fitted(self) -> bool:
        return self._lightfm is not None

    space_type: type[FeatureSpace] = FeatureSpace
    """Subclasses may describe crowds differently (the library comparison in ``recsys.lab``)."""
    reference_logit: None = None
    """LightFM logits are not calibrated: the ranker standardises them per request instead."""

    def fit(self, impressions: Sequence[CouponImpression]) -> CouponModel:
        """Train from scratch on ``impressions``; returns ``self`` with a fresh ``version``."""
        if not impressions:
            raise ValueError("no impressions to train on; log coupon_impression events first")
        if not any(i.claimed for i in impressions):
            raise ValueError("no claimed impressions; the model needs positives (coupon_claim events)")
        latest: dict[str, CouponFeatures] = {i.coupon.coupon_id: i.coupon for i in impressions}
        items = list(latest.values())
        item_row = {c.coupon_id: r for r, c in enumerate(items)}
        self.space = self.space_type().fit_items(items)
        n = len(impressions)
        labels = np.array([1.0 if i.claimed else -1.0 for i in impressions], dtype=np.float32)
        cols = np.array([item_row[i.coupon.coupon_id] for i in impressions])
        interactions = sp.coo_matrix((labels, (np.arange(n), cols)), shape=(n, len(items)))
        model = LightFM(loss="logistic", **self.params)
        model.fit(
            interactions,
            user_features=self.space.user_matrix([i.profile for i in impressions]),
            item_features=self.space.item_matrix(items),
            epochs=self.epochs,
            num_threads=1,
        )
        if not (np.isfinite(model.item_embeddings).all() and np.isfinite(model.user_embeddings).all()):
            raise ValueError("LightFM diverged (non-finite embeddings); try a lower learning_rate")
        self._lightfm = model
        digest = hashlib.sha1(model.item_embeddings.tobytes()).hexdigest()[:8]
        self.version = f"coupons-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{digest}"
        logger.info("trained coupon model %s on %d impressions, %d coupons", self.version, n, len(items))
        return self

    def _model(self) -> LightFM:
        if self._lightfm is None:
            raise RuntimeError("CouponModel is not fitted; call fit() or CouponModel.load() first")
        return self._lightfm

    def item_representations(self, coupons: Sequence[CouponFeatures] | CouponTable) -> tuple[np.ndarray, np.ndarray]:
        """``(biases, embeddings)`` of the coupons; cache them per coupon set and model version."""
        if isinstance(coupons, CouponTable):
            coupons = coupon_features_of(coupons)
        bias, emb = self._model().get_item_representations(self.space.item_matrix(coupons))
        return np.asarray(bias, dtype=np.float64), np.asarray(emb, dtype=np.float64)

    def user_representations(self, profiles: Sequence[CrowdProfile]) -> tuple[np.ndarray, np.ndarray]:
        model = self._model()
        dense = self.space.user_dense(profiles).astype(np.float64)
        return dense @ model.user_biases.astype(np.float64), dense @ model.user_embeddings.astype(np.float64)

    def score(
        self,
        profile: CrowdProfile,
        coupons: Sequence[CouponFeatures] | CouponTable | tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Logit of a claim for each coupon shown to this crowd (higher is better).

        ``coupons`` may be precomputed :meth:`item_representations`, which keeps the per-request cost
        to one small matrix-vector product.
        """
        item_bias, item_emb = coupons if isinstance(coupons, tuple) else self.item_representations(coupons)
        user_bias, user_emb = self.user_representations([profile])
        return np.asarray(item_emb @ user_emb[0] + item_bias + user_bias[0])

    def score_impressions(self, impressions: Sequence[CouponImpression]) -> np.ndarray:
        item_bias, item_emb = self.item_representations([i.coupon for i in impressions])
        user_bias, user_emb = self.user_representations([i.profile for i in impressions])
        return np.asarray(np.einsum("ij,ij->i", item_emb, user_emb) + item_bias + user_bias)

    def evaluate(self, impressions: Sequence[CouponImpression]) -> dict[str, float]:
        """Held-out ``{"auc", "n", "claims"}``: AUC of scores separating claimed from ignored impressions."""
        labels = np.array([i.claimed for i in impressions], dtype=bool)
        auc = roc_auc(labels, self.score_impressions(impressions)) if len(impressions) else float("nan")
        return {"auc": auc, "n": float(len(impressions)), "claims": float(labels.sum())}

    def save(self, path: str | Path) -> Path:
        """Write atomically (temp file + rename) so a worker never loads a half-written model."""
        path = Path(path)
        state: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "params": self.params,
            "epochs": self.epochs,
            "space": self.space,
            "lightfm": self._model(),
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> CouponModel:
        """Load a model written by :meth:`save`; only load files this service wrote (pickle)."""
        with open(path, "rb") as fh:
            state = _Unpickler(fh).load()
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise ValueError(f"{path} is not a Vitrine coupon model ({FORMAT}); retrain with `vitrine train coupons`")
        model = cls(epochs=state["epochs"], **state["params"])
        model.space, model._lightfm, model.version = state["space"], state["lightfm"], state["version"]
        return model


class _Unpickler(pickle.Unpickler):
    """Reads files saved before this module moved from ``recsys.models.lightfm_model`` (the pickle
    names the module of :class:`FeatureSpace`), so published models survive the upgrade."""

    def find_class(self, module: str, name: str) -> Any:
        return super().find_class(__name__ if module == "recsys.models.lightfm_model" else module, name)
