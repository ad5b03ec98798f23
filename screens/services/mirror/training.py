"""``vitrine train mirror``: turn the event log into mirror sessions, train, publish the models.

A training session is one ``session_id`` *at one mirror* (``"{screen_id}|{session_id}"``), so sessions
are never joined across mirrors. Its crowd profile is the mean, over its try-ons, of the mirror's
profile at try-on time (rebuilt from that screen's ``audience`` events in the crowd window before
it). A purchase naming a ``session_id`` joins the latest mirror session of its store with that id.

A new version is published only when it beats the models in force on the newest sessions (see
:mod:`recsys.mirror.training`), or when forced. Publishing follows :mod:`screens.services.model_pointers`:
the two files go to a fresh folder ``{model_dir}/mirror/{version}/``, the ``mirror/CURRENT`` pointer
is swapped by an atomic rename, and ``{"kind": "mirror", "version"}`` is announced on the ``models``
channel.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from recsys.mirror.artifacts import MirrorModels, load_mirror_models
from recsys.mirror.catalog import Purchase, StoreItem, TryOn
from recsys.mirror.compatibility import DEFAULT_MIN_SUPPORT
from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT
from recsys.mirror.training import DEFAULT_MIN_HIT_RATE_GAIN, should_publish, train_mirror_candidate
from recsys.profile import CrowdWindow, Face
from screens.bus import ConfigChannel
from screens.db.session import as_utc
from screens.db.tables import EventRecord, Screen
from screens.services.event_log import TRAINING_DAYS, events_since
from screens.services.mirror.service import MIRROR, load_items
from screens.services.model_pointers import TrainingReport, current_version, make_current

log = logging.getLogger(__name__)
_TYPES: Final = ("audience", "try_on", "purchase")


class MirrorLog:
    """Try-ons, purchases and session profiles read back from the event log, in time order."""

    def __init__(self, window_s: float) -> None:
        self.tryons: list[TryOn] = []
        self.purchases: list[Purchase] = []
        self._windows: dict[str, CrowdWindow] = defaultdict(lambda: CrowdWindow(window_s=window_s))
        self._profile_sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._profile_counts: dict[str, int] = defaultdict(int)
        self._latest: dict[tuple[str, str], str] = {}

    def add(self, event: EventRecord, mirrors: set[str]) -> None:
        when, payload = as_utc(event.ts), event.payload
        if event.type == "audience" and payload["screen_id"] in mirrors:
            for face in payload["faces"]:
                self._windows[payload["screen_id"]].add(
                    Face(when.timestamp(), face["gender"], face["age"], face["confidence"])
                )
        elif event.type == "try_on" and payload.get("store_id"):
            key = f"{payload['screen_id']}|{payload['session_id']}"
            self._latest[(payload["store_id"], payload["session_id"])] = key
            self.tryons.append(TryOn(key, payload["store_id"], payload["sku"], when.timestamp()))
            profile = self._windows[payload["screen_id"]].profile(when)
            if not profile.is_empty:
                for cell, share in profile.as_dict().items():
                    self._profile_sums[key][cell] += share
                self._profile_counts[key] += 1
        elif event.type == "purchase":
            session = payload.get("session_id")
            joined = self._latest.get((payload["store_id"], session)) if session else None
            self.purchases.append(Purchase(joined, payload["store_id"], tuple(payload["skus"]), when.timestamp()))

    def session_profiles(self) -> dict[str, dict[str, float]]:
        return {
            key: {cell: total / self._profile_counts[key] for cell, total in sums.items()}
            for key, sums in self._profile_sums.items()
        }


def load_mirror_log(engine: Engine, window_s: float, days: int = TRAINING_DAYS) -> tuple[MirrorLog, list[StoreItem]]:
    """The logged mirror traffic and today's catalog (items of every store)."""
    with Session(engine) as session:
        mirrors = set(session.exec(select(Screen.id).where(Screen.kind == "mirror")).all())
        mirror_log = MirrorLog(window_s)
        for event in events_since(session, _TYPES, days):
            mirror_log.add(event, mirrors)
        items = load_items(session)
    return mirror_log, items


def publish(folder: Path, version: str, model_dir: Path, config: ConfigChannel | None) -> None:
    """Move a trained model folder into place, make it current and tell every worker."""
    folder.rename(model_dir / MIRROR / version)
    make_current(model_dir, MIRROR, version, config)


def train_and_maybe_publish(
    engine: Engine,
    model_dir: Path,
    config: ConfigChannel | None,
    *,
    window_s: float,
    days: int = TRAINING_DAYS,
    test_fraction: float = 0.2,
    min_gain: float = DEFAULT_MIN_HIT_RATE_GAIN,
    force: bool = False,
    factors: int = 32,
    iterations: int = 12,
    purchase_weight: float = DEFAULT_PURCHASE_WEIGHT,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> TrainingReport:
    """Train on the log, compare with the models in force on the newest sessions, publish if better."""
    mirror_log, items = load_mirror_log(engine, window_s, days)
    profiles = mirror_log.session_profiles()
    counts = {
        "try_ons": len(mirror_log.tryons),
        "purchases": len(mirror_log.purchases),
        "sessions": len({t.session_id for t in mirror_log.tryons}),
        "sessions_with_profile": len(profiles),
    }
    log.info("mirror log: %s", counts)
    current_version_now = current_version(model_dir, MIRROR)
    current = load_mirror_models(model_dir / MIRROR / current_version_now) if current_version_now else None
    (model_dir / MIRROR).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=model_dir / MIRROR, prefix=".training-"))
    try:
        models, metrics = train_mirror_candidate(
            mirror_log.tryons,
            mirror_log.purchases,
            items,
            profiles,
            folder,
            current=current,
            test_fraction=test_fraction,
            factors=factors,
            iterations=iterations,
            purchase_weight=purchase_weight,
            min_support=min_support,
        )
        version = _unused_version(model_dir, models.version)
        if not (force or should_publish(metrics["new"], metrics["current"], min_gain)):
            shutil.rmtree(folder, ignore_errors=True)
            in_force = current.parts if current is not None else MirrorModels.content_only_parts()
            return TrainingReport(False, current_version_now, version, metrics, counts, in_force)
        publish(folder, version, model_dir, config)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return TrainingReport(True, version, version, metrics, counts, models.parts)


def _unused_version(model_dir: Path, version: str) -> str:
    """``version``, suffixed when a forced retrain in the same second already used that folder name."""
    candidate, n = version, 1
    while (model_dir / MIRROR / candidate).exists():
        candidate, n = f"{version}-{n}", n + 1
    return candidate
