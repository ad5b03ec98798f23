"""The learned coupon scorers the service can serve, and the one way to load a published file.

:class:`~recsys.leadin.claim_model.ClaimModel` (logistic, calibrated probabilities, the default since
issue 12) and :class:`~recsys.leadin.model.CouponModel` (LightFM, kept so models published before
still load and for the comparison in ``docs/evaluation.md``) share :class:`CouponScorer`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.model import CouponFeatures, CouponImpression, CouponModel
from recsys.leadin.table import CouponTable
from recsys.profile import CrowdProfile


class CouponScorer(Protocol):
    """What ranking and training need from a learned model: logits, cached item side, held-out metrics."""

    version: str | None

    @property
    def is_fitted(self) -> bool: ...

    @property
    def reference_logit(self) -> float | None:
        """Average log-odds of a calibrated model; None when scores are not probabilities."""

    def item_representations(
        self, coupons: Sequence[CouponFeatures] | CouponTable
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def score(
        self,
        profile: CrowdProfile,
        coupons: Sequence[CouponFeatures] | CouponTable | tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray: ...

    def evaluate(self, impressions: Sequence[CouponImpression]) -> dict[str, float]: ...

    def save(self, path: str | Path) -> Path: ...


def load_coupon_scorer(path: str | Path) -> ClaimModel | CouponModel:
    """Load a published coupon model of either kind; any unreadable file raises ``ValueError``.

    Callers keep the model they have on ``ValueError``/``OSError``: a truncated or foreign file must
    never replace a working model.
    """
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            with np.load(path, allow_pickle=False) as arrays:
                return ClaimModel.from_npz(arrays, path)
        return CouponModel.load(path)
    except (ValueError, OSError):
        raise
    except Exception as exc:  # a corrupt pickle raises anything from EOFError to AttributeError
        raise ValueError(f"{path} is not a readable coupon model ({type(exc).__name__}: {exc})") from exc
