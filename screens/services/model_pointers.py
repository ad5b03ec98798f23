"""Versioned model files under ``settings.model_dir`` and the model each worker serves.

Layout: ``{model_dir}/{kind}/{version}.pkl`` plus a ``{model_dir}/{kind}/CURRENT`` pointer holding
the version in force. Publishing writes the model file, then swaps the pointer with an atomic
rename, then announces ``{"kind", "version"}`` on the ``models`` config channel; every worker
loads the file off the request path and swaps one reference, so a request sees either the old or
the new model, never a mix. Workers also notice a changed pointer by themselves (checked at most
every few seconds) for deployments without Redis, where no announcement crosses processes.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from recsys.leadin.model import CouponModel
from screens.bus import ConfigChannel

log = logging.getLogger(__name__)
CHANNEL: Final = "models"
COUPONS: Final = "coupons"
POINTER_CHECK_S: Final = 5.0


def _pointer(model_dir: Path, kind: str) -> Path:
    return model_dir / kind / "CURRENT"


def current_version(model_dir: Path, kind: str) -> str | None:
    try:
        return _pointer(model_dir, kind).read_text().strip() or None
    except FileNotFoundError:
        return None


def load_coupon_model(model_dir: Path, version: str | None = None) -> CouponModel | None:
    """The coupon model in force (or ``version``); None before the first publication."""
    version = version or current_version(model_dir, COUPONS)
    if version is None:
        return None
    return CouponModel.load(model_dir / COUPONS / f"{version}.pkl")


def publish_coupon_model(model: CouponModel, model_dir: Path, config: ConfigChannel | None) -> str:
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "version": self.version,
            "candidate_version": self.candidate_version,
            "metrics": self.metrics,
            **self.counts,
        }


class CouponModelHolder:
    """The coupon model this worker serves; swapped whole when a new version is published."""

    def __init__(self, model_dir: Path, config: ConfigChannel) -> None:
        self._dir = model_dir
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self.model: CouponModel | None = None
        self._load(current_version(model_dir, COUPONS))
        config.subscribe(CHANNEL, self._on_message)

    @property
    def version(self) -> str | None:
        model = self.model
        return model.version if model is not None else None

    def _load(self, version: str | None) -> None:
        with self._lock:
            if version is None or version == self.version:
                return
            try:
                model = load_coupon_model(self._dir, version)
            except (OSError, ValueError) as exc:
                log.error("could not load coupon model %s, keeping %s: %s", version, self.version, exc)
                return
            self.model = model  # one reference swap: readers see the old or the new model
        log.info("coupon model %s in force", version)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("reconnected") or message.get("kind") == COUPONS:
            self._load(current_version(self._dir, COUPONS))

    def current(self) -> CouponModel | None:
        """The model to score with; re-reads the pointer file at most every few seconds."""
        now = time.monotonic()
        if now - self._checked_at > POINTER_CHECK_S:
            self._checked_at = now
            version = current_version(self._dir, COUPONS)
            if version != self.version:
                self._load(version)
        return self.model
