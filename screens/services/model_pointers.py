"""Versioned model files under ``settings.model_dir``: how a trainer publishes a model version.

Layout: ``{model_dir}/{kind}/{version}.pkl`` plus a ``{model_dir}/{kind}/CURRENT`` pointer holding
the version in force. Publishing writes the model file, then swaps the pointer with an atomic
rename, then announces ``{"kind", "version"}`` on the ``models`` config channel; each worker's
:class:`~screens.services.model_store.ModelStore` loads it off the request path and swaps one
reference. Workers also re-read the pointers every :data:`POINTER_CHECK_S` by themselves, for
deployments without Redis, where no announcement crosses processes.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from recsys.leadin.scorers import CouponScorer, load_coupon_scorer
from screens.bus import ConfigChannel

log = logging.getLogger(__name__)
CHANNEL: Final = "models"
COUPONS: Final = "coupons"
POINTER_CHECK_S: Final = 1.0
"""How often each worker's model store re-reads the pointers itself (two small files: cheap)."""


def _pointer(model_dir: Path, kind: str) -> Path:
    return model_dir / kind / "CURRENT"


def current_version(model_dir: Path, kind: str) -> str | None:
    try:
        return _pointer(model_dir, kind).read_text().strip() or None
    except FileNotFoundError:
        return None


def load_coupon_model(model_dir: Path, version: str | None = None) -> CouponScorer | None:
    """The coupon model in force (or ``version``); None before the first publication.

    Raises ``ValueError``/``OSError`` for a file that cannot be read: callers keep what they serve.
    """
    version = version or current_version(model_dir, COUPONS)
    if version is None:
        return None
    return load_coupon_scorer(model_dir / COUPONS / f"{version}.pkl")


def publish_coupon_model(model: CouponScorer, model_dir: Path, config: ConfigChannel | None) -> str:
    """Write ``model`` as a new version, make it current and tell every worker."""
    if model.version is None:
        raise ValueError("only a fitted model can be published")
    folder = model_dir / COUPONS
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / f"{model.version}.pkl")
    make_current(model_dir, COUPONS, model.version, config)
    return model.version


def make_current(model_dir: Path, kind: str, version: str, config: ConfigChannel | None) -> None:
    """Point ``{kind}/CURRENT`` at ``version`` atomically (readers never see a half-written pointer)
    and announce it so every worker loads it."""
    fd, tmp = tempfile.mkstemp(dir=model_dir / kind, prefix=".CURRENT.")
    with os.fdopen(fd, "w") as fh:
        fh.write(version + "\n")
    os.replace(tmp, _pointer(model_dir, kind))
    if config is not None:
        config.publish(CHANNEL, {"kind": kind, "version": version})
    log.info("published %s model %s", kind, version)


@dataclass(frozen=True)
class TrainingReport:
    """What `vitrine train …` prints: whether the candidate was published and the held-out metrics."""

    published: bool
    version: str | None
    """The version now in force (the new one when published)."""
    candidate_version: str
    metrics: dict[str, Any]
    counts: dict[str, int] = field(default_factory=dict)
    """Sizes of what was trained on (sessions, try-ons, …), where the trainer reports them."""
    parts: dict[str, bool] = field(default_factory=dict)
    """Which parts of the model are in force after this run, where a model has optional parts."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "version": self.version,
            "candidate_version": self.candidate_version,
            "metrics": self.metrics,
            **({"parts": self.parts} if self.parts else {}),
            **self.counts,
        }
