"""Co-try-on model: implicit ALS on the fitting-session × item matrix.

Garments tried in the same fitting session, or bought on the same receipt, are the shoppers' own
outfits. Treating each session as a "user" and factorising the session × item matrix with implicit
ALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", 2008) gives item
factors whose cosine is high for pieces that are tried *together*, which is exactly the
complementary signal, and for pieces tried *instead of each other*, which helps "similar".

Purchases count ``purchase_weight`` times a try-on: a bought pair is stronger evidence than a pair
that was merely tried. Receipts without a session form their own basket.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys.mirror.catalog import ItemKey, Purchase, TryOn

logger = logging.getLogger(__name__)

try:  # detected once, like implicit itself does
    import implicit.gpu

    HAS_CUDA: bool = bool(implicit.gpu.HAS_CUDA)
except ImportError:  # pragma: no cover - implicit is a hard dependency
    HAS_CUDA = False

_SEP = "\x1f"
DEFAULT_PURCHASE_WEIGHT = 10.0
"""How many try-ons one purchase of an item counts for; measured in ``docs/evaluation.md``."""


def make_als(factors: int, iterations: int, regularization: float, use_gpu: bool | None = None) -> Any:
    """The GPU ALS when implicit was built with CUDA, else the CPU one; warns instead of failing."""
    from implicit.als import AlternatingLeastSquares

    if use_gpu and not HAS_CUDA:
        warnings.warn("implicit has no CUDA support here; training ALS on the CPU", stacklevel=2)
    gpu = HAS_CUDA if use_gpu is None else bool(use_gpu and HAS_CUDA)
    return AlternatingLeastSquares(
        factors=factors,
        iterations=iterations,
        regularization=regularization,
        use_gpu=gpu,
        calculate_training_loss=False,
        random_state=0,
    )


class CoTryOnALS:
    """Item–item co-try-on scores from implicit ALS, keyed by ``(store_id, sku)``.

    >>> model = CoTryOnALS(factors=16).fit(tryons, purchases)
    >>> model.item_vectors([("s1", "A"), ("s1", "B")]) @ model.item_vectors([("s1", "C")]).T
    """

    def __init__(
        self,
        factors: int = 32,
        iterations: int = 12,
        regularization: float = 0.05,
        alpha: float = 4.0,
        purchase_weight: float = DEFAULT_PURCHASE_WEIGHT,
        use_gpu: bool | None = None,
    ) -> None:
        self.factors = factors
        self.iterations = iterations
        self.regularization = regularization
        self.alpha = alpha
        self.purchase_weight = purchase_weight
        self.use_gpu = use_gpu
        self.version = "untrained"
        self.item_index: dict[ItemKey, int] = {}
        self.unit_factors = np.zeros((0, factors), dtype=np.float32)
        self.support = np.zeros(0, dtype=np.int32)

    @property
    def is_fitted(self) -> bool:
        return len(self.item_index) > 0

    def fit(self, tryons: Iterable[TryOn], purchases: Iterable[Purchase] = ()) -> CoTryOnALS:
        """Factorise sessions × items; returns ``self``. Raises ``ValueError`` without any event."""
        matrix = self._session_item_matrix(tryons, purchases)
        if matrix.nnz == 0:
            raise ValueError("no try-on or purchase events to learn from; log some sessions first")
        started = time.perf_counter()
        from threadpoolctl import threadpool_limits  # a dependency of implicit

        with threadpool_limits(1, "blas"):  # implicit's own advice: BLAS threads fight its loop
            model = make_als(self.factors, self.iterations, self.regularization, self.use_gpu)
            model.fit(matrix, show_progress=False)
        if type(model).__module__.startswith("implicit.gpu"):
            model = model.to_cpu()
        factors = np.asarray(model.item_factors, dtype=np.float32)
        if not np.all(np.isfinite(factors)):
            raise FloatingPointError("ALS diverged (non-finite factors); try a higher regularization")
        norms = np.linalg.norm(factors, axis=1, keepdims=True)
        self.unit_factors = np.where(norms > 0, factors / np.maximum(norms, 1e-9), 0).astype(np.float32)
        self.support = np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.int32)
        self.version = f"als-{int(time.time())}-{matrix.shape[0]}x{matrix.shape[1]}"
        logger.info("ALS fitted on %s sessions × %s items in %.1fs", *matrix.shape, time.perf_counter() - started)
        return self

    def item_vectors(self, keys: Sequence[ItemKey], min_support: int = 1) -> np.ndarray:
        """Unit factors in ``keys`` order; zeros for items with fewer than ``min_support`` sessions."""
        out = np.zeros((len(keys), self.factors), dtype=np.float32)
        for row, key in enumerate(keys):
            idx = self.item_index.get(key)
            if idx is not None and self.support[idx] >= min_support:
                out[row] = self.unit_factors[idx]
        return out

    def popularity(self, keys: Sequence[ItemKey]) -> np.ndarray:
        """Log-scaled share of sessions and receipts holding each item, in [0, 1]; 0 for unseen items.

        A prior, not a similarity: of two equally fitting trousers, the one shoppers take into the
        fitting room ten times as often is the better bet, and on sparse real baskets (most pairs
        never seen twice) this prior carries much of what the co-try-on factors cannot.
        """
        top = float(np.log1p(self.support.max())) if len(self.support) else 0.0
        out = np.zeros(len(keys), dtype=np.float32)
        if top <= 0:
            return out
        for row, key in enumerate(keys):
            idx = self.item_index.get(key)
            if idx is not None:
                out[row] = np.log1p(self.support[idx]) / top
        return out

    def save(self, path: str | Path) -> None:
        """One ``.npz`` with the factors, the item keys and the version string."""
        keys = np.array([f"{s}{_SEP}{k}" for s, k in self.item_index], dtype=object)
        np.savez(
            path,
            unit_factors=self.unit_factors,
            support=self.support,
            keys=keys.astype(str),
            version=np.array(self.version),
            factors=np.array(self.factors),
        )

    @classmethod
    def load(cls, path: str | Path) -> CoTryOnALS:
        with np.load(path, allow_pickle=False) as data:
            model = cls(factors=int(data["factors"]))
            model.unit_factors = data["unit_factors"].astype(np.float32)
            model.support = data["support"].astype(np.int32)
            model.version = str(data["version"])
            model.item_index = {tuple(k.split(_SEP, 1)): i for i, k in enumerate(data["keys"])}
        return model

    def _session_item_matrix(self, tryons: Iterable[TryOn], purchases: Iterable[Purchase]) -> sp.csr_matrix:
        sessions: dict[str, int] = {}
        self.item_index = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []

        def add(session: str, key: ItemKey, value: float) -> None:
            rows.append(sessions.setdefault(session, len(sessions)))
            cols.append(self.item_index.setdefault(key, len(self.item_index)))
            vals.append(value)

        for event in tryons:
            add(f"{event.store_id}{_SEP}{event.session_id}", (event.store_id, event.sku), 1.0)
        for n, receipt in enumerate(purchases):
            session = receipt.session_id if receipt.session_id is not None else f"receipt-{n}"
            for sku in receipt.skus:
                add(f"{receipt.store_id}{_SEP}{session}", (receipt.store_id, sku), self.purchase_weight)
        shape = (len(sessions), len(self.item_index))
        matrix = sp.csr_matrix(
            (np.asarray(vals, dtype=np.float32), (np.asarray(rows, dtype=np.int32), np.asarray(cols, dtype=np.int32))),
            shape=shape,
        )
        matrix.sum_duplicates()
        matrix.data = 1.0 + self.alpha * np.log1p(matrix.data)  # confidence, Hu et al. eq. (6)
        return matrix
