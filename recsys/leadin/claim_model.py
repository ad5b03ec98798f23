"""The claim model: a calibrated probability that this crowd, at this hour, claims this coupon.

A logistic regression on the full cross of the coupon's features (its identity, store, category,
kind, depth band — :meth:`recsys.leadin.model.FeatureSpace.item_feature_names`) with the context
vector of :mod:`recsys.leadin.context` (who is in front of the screen, in what company, when),
plus the context's own main effects:

    logit P(claim | crowd x, coupon i) = Σ_f Σ_c [f ∈ features(i)] · W[f, c] · x_c + v · x

This is the "venue × (gender, age, company, time of day)" logistic regression that separates
accepted from declined real coupon offers best in ``docs/evaluation.md``, with the coupon side
factored through its features so a new coupon of a known store or category is scored at once (cold
start). It was kept over a Vowpal Wabbit and a LightFM model of the same features by measurement
(same table). L2-regularised maximum likelihood keeps its probabilities calibrated (the expected
calibration error is reported by :meth:`ClaimModel.evaluate`), which is what lets the ranker read
them as expected claims.

Serving cost: ``W`` is folded into the catalog once per (model, catalog) —
:meth:`ClaimModel.item_representations` gives an ``(n_context, n_coupons)`` matrix — and each
crowd costs one product of its context vector with that matrix, over the context's non-zero
features only (about 20 of 225: one hour block, one daypart, a few cells), which reads a tenth of
the matrix.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize

from recsys.leadin.context import CONTEXT_FEATURES, context_matrix, context_vector
from recsys.leadin.model import CouponFeatures, CouponImpression, FeatureSpace, coupon_features_of, roc_auc
from recsys.leadin.table import CouponTable
from recsys.profile import CrowdProfile

logger = logging.getLogger(__name__)
FORMAT: Final = "vitrine-claim-logistic/1"
N_CONTEXT: Final = len(CONTEXT_FEATURES)
CALIBRATION_BINS: Final = 10


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def calibration_error(labels: np.ndarray, probabilities: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Expected calibration error: |mean predicted − observed rate| over equal-count bins, weighted."""
    labels = np.asarray(labels, dtype=np.float64)
    order = np.argsort(probabilities, kind="stable")
    error = 0.0
    for chunk in np.array_split(order, min(bins, max(len(order), 1))):
        if len(chunk):
            error += len(chunk) * abs(float(probabilities[chunk].mean() - labels[chunk].mean()))
    return error / max(len(labels), 1)


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, 1e-12, 1 - 1e-12)
    y = np.asarray(labels, dtype=np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).mean()) if len(y) else float("nan")


def probability_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """``{"auc", "log_loss", "calibration_error", "n", "claims"}`` of predicted claim probabilities."""
    labels = np.asarray(labels, dtype=bool)
    return {
        "auc": roc_auc(labels, probabilities) if len(labels) else float("nan"),
        "log_loss": log_loss(labels, probabilities),
        "calibration_error": calibration_error(labels, probabilities) if len(labels) else float("nan"),
        "n": float(len(labels)),
        "claims": float(labels.sum()),
    }


class ClaimModel:
    """Logistic claim model over coupon features × context features (see the module docstring)."""

    kind: Final = "logistic"

    def __init__(self, l2: float = 1e-2, max_iter: int = 300) -> None:
        self.l2, self.max_iter = float(l2), int(max_iter)
        self.space = FeatureSpace()
        self.version: str | None = None
        self.base_rate = float("nan")
        """Claim rate of the training impressions: the ranker's reference for "an average coupon"."""
        self._cross: np.ndarray | None = None  # (n_item_features, N_CONTEXT)
        self._context_main = np.zeros(N_CONTEXT)

    @property
    def is_fitted(self) -> bool:
        return self._cross is not None

    @property
    def reference_logit(self) -> float:
        """Log-odds of the training claim rate: the learned component reads scores relative to it."""
        rate = min(max(self.base_rate, 1e-6), 1 - 1e-6)
        return float(np.log(rate / (1 - rate)))

    def _design(self, coupons: Sequence[CouponFeatures], contexts: np.ndarray) -> sp.csr_matrix:
        """Rows ``[vec(onehot(coupon) ⊗ context), context]``; unseen coupon features are dropped."""
        n_items = len(self.space.item_index)
        rows, cols, vals = [], [], []
        for r, (coupon, ctx) in enumerate(zip(coupons, contexts, strict=True)):
            nz = np.flatnonzero(ctx)
            names = self.space.item_feature_names(coupon)
            items = [self.space.item_index[f] for f in names if f in self.space.item_index]
            for item in items:
                cols.append(item * N_CONTEXT + nz)
                vals.append(ctx[nz])
            cols.append(n_items * N_CONTEXT + nz)
            vals.append(ctx[nz])
            rows.append(np.full((len(items) + 1) * len(nz), r))
        shape = (len(coupons), (n_items + 1) * N_CONTEXT)
        if not rows:
            return sp.csr_matrix(shape)
        data = (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols)))
        return sp.csr_matrix(data, shape=shape)

    def fit(self, impressions: Sequence[CouponImpression]) -> ClaimModel:
        """Maximum likelihood with an L2 penalty (L-BFGS); returns ``self`` with a fresh ``version``."""
        if not impressions:
            raise ValueError("no impressions to train on; log coupon_impression events first")
        labels = np.array([i.claimed for i in impressions], dtype=np.float64)
        if labels.sum() == 0:
            raise ValueError("no claimed impressions; the model needs positives (coupon_claim events)")
        latest = {i.coupon.coupon_id: i.coupon for i in impressions}
        self.space = FeatureSpace().fit_items(list(latest.values()))
        design = self._design([i.coupon for i in impressions], context_matrix([i.profile for i in impressions]))
        n, l2 = len(labels), self.l2

        def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = design @ w
            loss = np.logaddexp(0.0, z) - labels * z
            grad = design.T @ (sigmoid(z) - labels) / n + l2 * w
            return float(loss.mean() + 0.5 * l2 * w @ w), grad

        result = minimize(
            objective, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter}
        )
        if not np.isfinite(result.x).all():
            raise ValueError("claim model diverged (non-finite weights); try a larger l2")
        weights = result.x.reshape(-1, N_CONTEXT)
        self._cross, self._context_main = weights[:-1].copy(), weights[-1].copy()
        self.base_rate = float(labels.mean())
        digest = hashlib.sha1(result.x.tobytes()).hexdigest()[:8]
        self.version = f"coupons-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{digest}"
        logger.info("trained claim model %s on %d impressions (%d iterations)", self.version, n, result.nit)
        return self

    def _weights(self) -> np.ndarray:
        if self._cross is None:
            raise RuntimeError("ClaimModel is not fitted; call fit() or load_coupon_scorer() first")
        return self._cross

    def item_representations(self, coupons: Sequence[CouponFeatures] | CouponTable) -> tuple[np.ndarray, np.ndarray]:
        """``(context main effects, context weights per coupon (n_context, n))``: cache per catalog.

        Context-major, so a crowd's few non-zero context features select contiguous rows.
        """
        if isinstance(coupons, CouponTable):
            coupons = coupon_features_of(coupons)
        cross = self._weights()
        onehot = self.space.item_matrix(coupons)
        onehot.data[:] = 1.0
        return self._context_main, np.ascontiguousarray(np.asarray(onehot @ cross, dtype=np.float64).T)

    def score(
        self,
        profile: CrowdProfile,
        coupons: Sequence[CouponFeatures] | CouponTable | tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Logit of a claim for each coupon; pass precomputed :meth:`item_representations` per request."""
        main, per_context = coupons if isinstance(coupons, tuple) else self.item_representations(coupons)
        ctx = context_vector(profile)
        active = np.flatnonzero(ctx)
        return np.asarray(ctx[active] @ per_context[active] + main @ ctx, dtype=np.float64)

    def probability(self, profile: CrowdProfile, coupons: Sequence[CouponFeatures] | CouponTable) -> np.ndarray:
        return sigmoid(self.score(profile, coupons))

    def score_impressions(self, impressions: Sequence[CouponImpression]) -> np.ndarray:
        weights = np.concatenate([self._weights().ravel(), self._context_main])
        design = self._design([i.coupon for i in impressions], context_matrix([i.profile for i in impressions]))
        return np.asarray(design @ weights, dtype=np.float64)

    def evaluate(self, impressions: Sequence[CouponImpression]) -> dict[str, float]:
        """Held-out AUC, log loss and calibration error of the claim probabilities."""
        labels = np.array([i.claimed for i in impressions], dtype=bool)
        probabilities = sigmoid(self.score_impressions(impressions)) if len(impressions) else np.zeros(0)
        return probability_metrics(labels, probabilities)

    def save(self, path: str | Path) -> Path:
        """Write atomically as a plain ``.npz`` (no pickle: loading a model runs no code)."""
        path = Path(path)
        names = sorted(self.space.item_index, key=self.space.item_index.__getitem__)
        buffer = io.BytesIO()
        np.savez(
            buffer,
            format=np.array(FORMAT),
            version=np.array(self.version or ""),
            params=np.array([self.l2, self.max_iter, self.base_rate]),
            item_features=np.array(names, dtype=str),
            context_features=np.array(CONTEXT_FEATURES, dtype=str),
            cross=self._weights(),
            context_main=self._context_main,
        )
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buffer.getvalue())
        os.replace(tmp, path)
        return path

    @classmethod
    def from_npz(cls, arrays: np.lib.npyio.NpzFile, source: object) -> ClaimModel:
        """Rebuild from :meth:`save`'s arrays; ``ValueError`` naming what is wrong otherwise."""
        if str(arrays["format"]) != FORMAT:
            raise ValueError(f"{source} is a {arrays['format']} file, not {FORMAT}")
        if tuple(arrays["context_features"].tolist()) != CONTEXT_FEATURES:
            raise ValueError(f"{source} was trained on other context features; retrain with `vitrine train coupons`")
        l2, max_iter, base_rate = arrays["params"].tolist()
        model = cls(l2=l2, max_iter=int(max_iter))
        names = arrays["item_features"].tolist()
        cross, main = np.asarray(arrays["cross"], dtype=np.float64), np.asarray(arrays["context_main"])
        if cross.shape != (len(names), N_CONTEXT) or main.shape != (N_CONTEXT,) or not np.isfinite(cross).all():
            raise ValueError(f"{source}: weights of shape {cross.shape} do not match {len(names)} coupon features")
        model.space = FeatureSpace(item_index={name: i for i, name in enumerate(names)})
        model._cross, model._context_main = cross, main.astype(np.float64)
        model.version, model.base_rate = str(arrays["version"]) or None, float(base_rate)
        return model
