"""Which library for the claim model: the measurement behind the choice in ``docs/evaluation.md``.

Three models of the same inputs — the coupon's features (:meth:`FeatureSpace.item_feature_names`)
and the context vector (:mod:`recsys.leadin.context`) — trained on the same impressions and scored
on the same held-out ones, on real coupon offers (seeded split of ``--dataset``) and on the mall
simulator's history (time split):

- ``logistic``: :class:`~recsys.leadin.claim_model.ClaimModel`, coupon features × context, L-BFGS.
- ``vowpal-wabbit``: Vowpal Wabbit 9 (``vowpalwabbit``, optional: ``pip install vowpalwabbit``),
  logistic loss with the coupon × context quadratic interactions (``-q ci``), the regression mode of
  its contextual-bandit reductions, ten shuffled online passes.
- ``lightfm``: :class:`~recsys.leadin.model.CouponModel` whose user features are the context vector
  (the richer user features of issue 12) instead of the cell shares alone.

Usage: ``python -m recsys.lab.leadin_models --dataset PATH [--seed 1]``
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recsys.lab import leadin_offers as offers_mod
from recsys.lab.leadin_sim import Mall, SimConfig
from recsys.leadin.claim_model import ClaimModel, probability_metrics, sigmoid
from recsys.leadin.context import CONTEXT_FEATURES, context_matrix
from recsys.leadin.impressions import impressions_from_events
from recsys.leadin.model import CouponImpression, CouponModel, FeatureSpace
from recsys.leadin.training import time_split
from recsys.profile import CrowdProfile

logger = logging.getLogger(__name__)
VW_PASSES = 10
VW_ARGS = "--loss_function logistic --link logistic -q ci -b 20 -l 0.1 --l2 1e-6 --quiet --random_seed 0"
"""Learning rate and L2 chosen on an inner validation split of seed 2's training offers (default -l 0.5: AUC -0.014)."""


@dataclass
class ContextFeatureSpace(FeatureSpace):
    """LightFM user features = the claim model's context vector (rows normalised, as LightFM likes)."""

    user_index: dict[str, int] = field(default_factory=lambda: {f: i for i, f in enumerate(CONTEXT_FEATURES)})

    def user_dense(self, profiles: Sequence[CrowdProfile]) -> np.ndarray:
        dense = context_matrix(profiles).astype(np.float32)
        return dense / dense.sum(axis=1, keepdims=True)


class LightFMContextModel(CouponModel):
    space_type = ContextFeatureSpace


def _fit_lightfm(train: Sequence[CouponImpression]) -> Callable[[Sequence[CouponImpression]], np.ndarray]:
    model = LightFMContextModel(random_state=0).fit(train)
    return lambda test: sigmoid(model.score_impressions(test))


def _fit_logistic(train: Sequence[CouponImpression]) -> Callable[[Sequence[CouponImpression]], np.ndarray]:
    model = ClaimModel().fit(train)
    return lambda test: sigmoid(model.score_impressions(test))


def _vw_line(impression: CouponImpression, context: np.ndarray, label: bool | None) -> str:
    ctx = " ".join(f"{CONTEXT_FEATURES[j].replace(':', '=')}:{context[j]:.4g}" for j in np.flatnonzero(context))
    item = " ".join(n.replace(":", "=") for n in FeatureSpace.item_feature_names(impression.coupon))
    head = "" if label is None else ("1 " if label else "-1 ")
    return f"{head}|c {ctx} |i {item}"


def _fit_vw(train: Sequence[CouponImpression]) -> Callable[[Sequence[CouponImpression]], np.ndarray]:
    from vowpalwabbit import Workspace

    vw = Workspace(VW_ARGS)
    contexts = context_matrix([i.profile for i in train])
    lines = [_vw_line(i, c, i.claimed) for i, c in zip(train, contexts, strict=True)]
    order = np.random.default_rng(0)
    for _ in range(VW_PASSES):
        for j in order.permutation(len(lines)):
            vw.learn(lines[j])

    def predict(test: Sequence[CouponImpression]) -> np.ndarray:
        ctx = context_matrix([i.profile for i in test])
        return np.array([vw.predict(_vw_line(i, c, None)) for i, c in zip(test, ctx, strict=True)])

    return predict


MODELS: dict[str, Callable[[Sequence[CouponImpression]], Callable[[Sequence[CouponImpression]], np.ndarray]]] = {
    "logistic": _fit_logistic,
    "vowpal-wabbit": _fit_vw,
    "lightfm": _fit_lightfm,
}


def compare(train: Sequence[CouponImpression], test: Sequence[CouponImpression]) -> list[dict[str, Any]]:
    """Held-out AUC, log loss, calibration error, fit seconds and µs per scored impression of each model."""
    labels = np.array([i.claimed for i in test], dtype=bool)
    rows = []
    for name, fit in MODELS.items():
        started = time.perf_counter()
        try:
            predict = fit(train)
        except ImportError as exc:
            logger.warning("%s skipped: %s", name, exc)
            continue
        fitted = time.perf_counter()
        probabilities = predict(test)
        scored = time.perf_counter()
        row = probability_metrics(labels, probabilities)
        rows.append(
            {
                "model": name,
                **row,
                "fit_s": fitted - started,
                "us_per_score": 1e6 * (scored - fitted) / max(len(test), 1),
            }
        )
    return rows


def offer_split(path: Path, seed: int) -> tuple[list[CouponImpression], list[CouponImpression]]:
    log = offers_mod.offer_log(offers_mod.load_offers(path), seed)
    return time_split(impressions_from_events(log.events, offers_mod.coupon_features(), 10.0), 0.3)


def sim_split(seed: int) -> tuple[list[CouponImpression], list[CouponImpression]]:
    mall = Mall.generate(SimConfig(seed=seed)).simulate_history()
    return time_split(mall.impressions, 0.2)


def markdown_table(title: str, rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"| {title} | AUC | log loss | calibration error | fit (s) | µs per impression, batch scoring |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['auc']:.3f} | {r['log_loss']:.3f} | {r['calibration_error']:.3f} "
            f"| {r['fit_s']:.1f} | {r['us_per_score']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    train, test = offer_split(args.dataset, args.seed)
    sys.stdout.write(markdown_table(f"real offers, seed {args.seed}", compare(train, test)) + "\n\n")
    train, test = sim_split(args.seed)
    sys.stdout.write(markdown_table(f"simulator, seed {args.seed}", compare(train, test)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
