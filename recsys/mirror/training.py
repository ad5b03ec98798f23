"""What ``vitrine train mirror`` calls: time-split training, evaluation against the current models,
and the publish decision (the mirror counterpart of :mod:`recsys.leadin.training`).

Logged try-ons become sessions ordered by their first try-on; the newest ``test_fraction`` of them
are held out. Candidate models are trained on the older sessions only, and both they and the models
in force are scored on the held-out ones with the metric of :mod:`recsys.mirror.metrics`: next
try-on hit-rate@10 of the blended recommender with default weights. Before the first training the
models in force are none at all, i.e. the content-only recommender.

The models in force were usually trained on every session logged until then, held-out ones
included, so the comparison leans towards keeping them: a new version is published when new
traffic has really changed what the mirror should show, not on every nightly retrain.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from recsys.mirror.artifacts import MirrorModels, save_mirror_models
from recsys.mirror.catalog import Purchase, StoreItem, TryOn, TryOnSession
from recsys.mirror.compatibility import DEFAULT_MIN_SUPPORT, learn_compatibility
from recsys.mirror.metrics import next_tryon_hit_rate
from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT, CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel
from recsys.mirror.models.lightfm_taste import KIND as LIGHTFM
from recsys.mirror.models.lightfm_taste import LightFMProfileModel

logger = logging.getLogger(__name__)
DEFAULT_MIN_HIT_RATE_GAIN = 0.005
PROFILE_MODELS: dict[str, Callable[[], CellTasteModel | LightFMProfileModel]] = {
    "taste": CellTasteModel,
    LIGHTFM: LightFMProfileModel,
}
"""``train_mirror_model(profile=...)``: ``taste`` (the default, it wins the evaluation) or ``lightfm``."""


def train_mirror_model(
    tryons: Sequence[TryOn],
    purchases: Sequence[Purchase],
    items: Sequence[StoreItem],
    session_profiles: Mapping[str, Mapping[str, float]],
    out_dir: str | Path | None = None,
    factors: int = 32,
    iterations: int = 12,
    profile: str = "taste",
    purchase_weight: float = DEFAULT_PURCHASE_WEIGHT,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> MirrorModels:
    """Fit what the log supports; saves ``mirror_als.npz``, ``mirror_compat.json`` (and ``mirror_taste.npz``).

    The co-try-on/co-purchase ALS needs only try-ons and purchases; the crowd-profile model is
    trained only when some try-on's session has a crowd profile (a mirror with a camera). Without
    one the mirror personalises from the session's own try-ons, which needs no model at all.
    """
    if profile not in PROFILE_MODELS:
        raise ValueError(f"unknown profile model {profile!r}; expected one of {', '.join(PROFILE_MODELS)}")
    als = CoTryOnALS(factors=factors, iterations=iterations, purchase_weight=purchase_weight).fit(tryons, purchases)
    profiles = {k: dict(v) for k, v in session_profiles.items() if v}
    has_profiles = any(t.session_id in profiles for t in tryons)
    taste = PROFILE_MODELS[profile]().fit(tryons, profiles, items) if has_profiles else None
    if taste is None:
        logger.info("no try-on has a crowd profile: training the co-try-on model only (a mirror without a camera)")
    category_of = {it.key: it.category for it in items}
    compatibility = learn_compatibility(tryons, purchases, category_of, purchase_weight, min_support)
    models = MirrorModels(als, taste, compatibility)
    if out_dir is not None:
        save_mirror_models(models, out_dir)
    return models


def logged_sessions(
    tryons: Sequence[TryOn], purchases: Sequence[Purchase], profiles: Mapping[str, Mapping[str, float]]
) -> list[TryOnSession]:
    """One session per ``session_id``, try-ons in time order, ordered by first try-on."""
    tried: dict[str, list[TryOn]] = defaultdict(list)
    for event in tryons:
        tried[event.session_id].append(event)
    bought: dict[str, list[str]] = defaultdict(list)
    for purchase in purchases:
        if purchase.session_id is not None:
            bought[purchase.session_id].extend(purchase.skus)
    sessions = []
    for session_id, events in tried.items():
        events.sort(key=lambda t: t.ts)
        skus = tuple(dict.fromkeys(t.sku for t in events))
        profile = dict(profiles.get(session_id, {}))
        sessions.append(
            (events[0].ts, TryOnSession(session_id, events[0].store_id, skus, tuple(bought[session_id]), profile))
        )
    return [s for _, s in sorted(sessions, key=lambda pair: pair[0])]


def train_mirror_candidate(
    tryons: Sequence[TryOn],
    purchases: Sequence[Purchase],
    items: Sequence[StoreItem],
    profiles: Mapping[str, Mapping[str, float]],
    out_dir: str | Path,
    current: MirrorModels | None = None,
    test_fraction: float = 0.2,
    **model_params: Any,
) -> tuple[MirrorModels, dict[str, Any]]:
    """Train on the older sessions, score new and current models on the newest ones, refit on all.

    Returns ``(models, {"new", "current", "n_train_sessions", "n_test_sessions"})``; the returned
    models are trained on every session (saved in ``out_dir``), their metrics are those of the
    split-trained candidate.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    sessions = logged_sessions(tryons, purchases, profiles)
    cut = int(round(len(sessions) * (1.0 - test_fraction)))
    train_ids = {s.session_id for s in sessions[:cut]}
    test = sessions[cut:]
    cut_ts = min((t.ts for t in tryons if t.session_id not in train_ids), default=math.inf)
    candidate = train_mirror_model(
        [t for t in tryons if t.session_id in train_ids],
        [p for p in purchases if p.session_id in train_ids or (p.session_id is None and p.ts < cut_ts)],
        items,
        {k: dict(v) for k, v in profiles.items() if k in train_ids},
        **model_params,
    )
    metrics: dict[str, Any] = {
        "new": next_tryon_hit_rate(candidate, items, test),
        "current": next_tryon_hit_rate(current, items, test),
        "current_is": current.version if current is not None else "content-only",
        "n_train_sessions": len(train_ids),
        "n_test_sessions": len(test),
    }
    logger.info("mirror models held-out metrics: %s", metrics)
    models = train_mirror_model(
        tryons, purchases, items, {k: dict(v) for k, v in profiles.items()}, out_dir, **model_params
    )
    return models, metrics


def should_publish(
    new_metrics: Mapping[str, float],
    current_metrics: Mapping[str, float],
    min_gain: float = DEFAULT_MIN_HIT_RATE_GAIN,
) -> bool:
    """Publish only when the held-out next-try-on hit-rate beats the current models' by ``min_gain``."""
    new, current = float(new_metrics["next_hit@10"]), float(current_metrics["next_hit@10"])
    if not math.isfinite(new):
        return False
    return not math.isfinite(current) or new > current + min_gain
