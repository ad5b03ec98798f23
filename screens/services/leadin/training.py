"""``vitrine train coupons``: turn the event log into training impressions, train, publish if better.

The join of impressions, crowds and claims is :func:`recsys.leadin.impressions.impressions_from_events`,
shared with the real-offer evaluation (``vitrine eval coupons --dataset``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.leadin.impressions import EVENT_TYPES, impressions_from_events
from recsys.leadin.model import CouponFeatures, CouponImpression
from recsys.leadin.ope import beats, slates_from_impressions
from recsys.leadin.scorers import CouponScorer
from recsys.leadin.table import discount_depth
from recsys.leadin.training import new_scorer, should_publish, time_split, train_coupon_model
from screens.bus import ConfigChannel
from screens.db.session import as_utc
from screens.db.tables import CatalogItem, Coupon, Store
from screens.services.event_log import TRAINING_DAYS, events_since
from screens.services.leadin.ope import PolicySpec, estimate_specs, weights_in_force
from screens.services.leadin.state import DEFAULT_BASKET, LiveSnapshot
from screens.services.model_pointers import TrainingReport, load_coupon_model, publish_coupon_model

log = logging.getLogger(__name__)


def coupon_features(session: Session) -> dict[str, CouponFeatures]:
    """Model features of every coupon ever uploaded (inactive ones too: they have impressions)."""
    basket = dict(
        session.exec(
            select(CatalogItem.store_id, func.avg(func.coalesce(CatalogItem.sale_price, CatalogItem.price))).group_by(
                col(CatalogItem.store_id)
            )
        ).all()
    )
    rows = session.exec(select(Coupon, Store.category).join(Store, col(Coupon.store_id) == col(Store.id))).all()
    features = {}
    for c, category in rows:
        typical = float(basket.get(c.store_id) or DEFAULT_BASKET)
        features[c.id] = CouponFeatures(
            c.id, c.store_id, category, c.kind, discount_depth(c.kind, c.value, c.min_spend, typical)
        )
    return features


def _events(session: Session, days: int) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
    for event in events_since(session, EVENT_TYPES, days):
        yield event.type, as_utc(event.ts), event.payload


def load_impressions(engine: Engine, window_s: float, days: int = TRAINING_DAYS) -> list[CouponImpression]:
    """Impressions with their crowd profile at impression time and whether they were claimed."""
    with Session(engine) as session:
        return impressions_from_events(_events(session, days), coupon_features(session), window_s)


def train_and_maybe_publish(
    engine: Engine,
    model_dir: Path,
    config: ConfigChannel | None,
    *,
    window_s: float,
    days: int = TRAINING_DAYS,
    test_fraction: float = 0.2,
    min_gain: float = 0.002,
    force: bool = False,
    snapshot: Callable[[], LiveSnapshot] | None = None,
    **model_params: Any,
) -> TrainingReport:
    """Train on the log, compare with the current model on the newest impressions, publish if better.

    "Better" is the held-out AUC rule of :func:`recsys.leadin.training.should_publish` and, when the
    held-out impressions carry propensities and ``snapshot`` gives the live state, the doubly robust
    estimate of the candidate policy's claim rate beating the current policy's on those slates.
    """
    impressions = load_impressions(engine, window_s, days)
    log.info("%d impressions, %d claimed", len(impressions), sum(i.claimed for i in impressions))
    current = load_coupon_model(model_dir)
    model, metrics = train_coupon_model(impressions, current=current, test_fraction=test_fraction, **model_params)
    assert model.version is not None
    better = should_publish(metrics["new"], metrics["current"], min_gain)
    if snapshot is not None:
        metrics["ope"] = _ope_gate(engine, impressions, current, test_fraction, snapshot(), model_params)
        if metrics["ope"] is not None:
            better = better and bool(metrics["ope"]["candidate_beats_current"])
    if better or force:
        return TrainingReport(True, publish_coupon_model(model, model_dir, config), model.version, metrics)
    return TrainingReport(False, current.version if current else None, model.version, metrics)


def _ope_gate(
    engine: Engine,
    impressions: list[CouponImpression],
    current: CouponScorer | None,
    test_fraction: float,
    snap: LiveSnapshot,
    model_params: dict[str, Any],
) -> dict[str, Any] | None:
    """DR/IPS/SNIPS of the current and the candidate policy on the held-out slates; None without propensities."""
    train, test = time_split(impressions, test_fraction)
    slates = slates_from_impressions(test, snap.table)
    if not slates:
        log.info("no held-out impression carries a propensity: publishing on held-out AUC alone")
        return None
    candidate = new_scorer(**model_params).fit(train)
    in_force = weights_in_force(engine)
    specs = [PolicySpec("current", in_force, current), PolicySpec("candidate", in_force, candidate)]
    now, new = estimate_specs(specs, slates, snap, reward_model=candidate)
    not_worse = beats(new, now) or new.values["dr"] == now.values["dr"]  # equal: both show the same slates
    return {"current": now.as_dict(), "candidate": new.as_dict(), "candidate_beats_current": not_worse}
