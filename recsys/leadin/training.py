"""What ``vitrine train coupons`` calls: time-split training, evaluation against the current model,
and the publish decision.

The split is by time, not at random: the model will always be asked about the future, and a random
split would leak tomorrow's coupons and crowds into training and flatter every model.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recsys.leadin.claim_model import ClaimModel
from recsys.leadin.model import CouponImpression, CouponModel
from recsys.leadin.scorers import CouponScorer

logger = logging.getLogger(__name__)
DEFAULT_MIN_AUC_GAIN = 0.002
MODEL_KINDS = ("logistic", "lightfm")
"""``logistic``: :class:`ClaimModel` (the default, see ``docs/evaluation.md``); ``lightfm``: :class:`CouponModel`."""


def new_scorer(kind: str = "logistic", **params: Any) -> ClaimModel | CouponModel:
    """An unfitted scorer of ``kind``; ``ValueError`` naming the kinds for anything else."""
    if kind == "logistic":
        return ClaimModel(**params)
    if kind == "lightfm":
        return CouponModel(**params)
    raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(MODEL_KINDS)}")


def time_split(
    impressions: Sequence[CouponImpression], test_fraction: float = 0.2
) -> tuple[list[CouponImpression], list[CouponImpression]]:
    """Oldest ``1 - test_fraction`` of impressions for training, the newest for testing."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    ordered = sorted(impressions, key=lambda i: i.ts)
    cut = int(round(len(ordered) * (1.0 - test_fraction)))
    return ordered[:cut], ordered[cut:]


def train_coupon_model(
    impressions: Sequence[CouponImpression],
    current: CouponScorer | None = None,
    test_fraction: float = 0.2,
    refit_on_all: bool = True,
    kind: str = "logistic",
    **model_params: Any,
) -> tuple[ClaimModel | CouponModel, dict[str, Any]]:
    """Train on the older impressions, evaluate new and current model on the newest ones.

    Returns ``(model, {"new": metrics, "current": metrics | None, "n_train", "n_test"})``. With
    ``refit_on_all`` the returned model is retrained on every impression (same hyper-parameters)
    once evaluated, so this week's new coupons are in it; its held-out metrics are those of the
    split model.
    """
    train, test = time_split(impressions, test_fraction)
    candidate = new_scorer(kind, **model_params).fit(train)
    metrics: dict[str, Any] = {
        "new": candidate.evaluate(test),
        "current": current.evaluate(test) if current is not None and current.is_fitted else None,
        "n_train": len(train),
        "n_test": len(test),
    }
    logger.info("coupon model held-out metrics: %s", metrics)
    model = new_scorer(kind, **model_params).fit(list(impressions)) if refit_on_all else candidate
    return model, metrics


def should_publish(
    new_metrics: Mapping[str, float],
    current_metrics: Mapping[str, float] | None,
    min_gain: float = DEFAULT_MIN_AUC_GAIN,
) -> bool:
    """Publish only a model whose held-out AUC beats the current one's on the same split by ``min_gain``."""
    new_auc = float(new_metrics.get("auc", math.nan))
    if not np.isfinite(new_auc):
        return False
    if current_metrics is None or not np.isfinite(float(current_metrics.get("auc", math.nan))):
        return True
    return new_auc > float(current_metrics["auc"]) + min_gain
