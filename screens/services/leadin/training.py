"""``vitrine train coupons``: turn the event log into training impressions, train, publish if better.

An impression is a ``coupon_impression`` event with the crowd profile its screen had at that moment
(rebuilt from the screen's ``audience`` events in the crowd window before it); it is a positive when
a ``coupon_claim`` of the same coupon (and screen, when the claim names one) follows within
:data:`CLAIM_JOIN_S`, joined to the latest such impression, each impression claimed at most once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.leadin.model import CouponFeatures, CouponImpression
from recsys.leadin.table import discount_depth
from recsys.leadin.training import should_publish, train_coupon_model
from recsys.profile import CrowdProfile, CrowdWindow, Face
from screens.bus import ConfigChannel
from screens.db.session import as_utc
from screens.db.tables import CatalogItem, Coupon, EventRecord, Store
from screens.services.leadin.state import DEFAULT_BASKET
from screens.services.model_pointers import TrainingReport, load_coupon_model, publish_coupon_model

log = logging.getLogger(__name__)
CLAIM_JOIN_S: Final = 1800.0
_TYPES: Final = ("audience", "coupon_impression", "coupon_claim")


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


def _events(session: Session) -> Iterator[EventRecord]:
    query = select(EventRecord).where(col(EventRecord.type).in_(_TYPES)).order_by(col(EventRecord.ts))
    yield from session.exec(query.execution_options(yield_per=5000))


def load_impressions(engine: Engine, window_s: float) -> list[CouponImpression]:
    """Impressions with their crowd profile at impression time and whether they were claimed."""
    with Session(engine) as session:
        features = coupon_features(session)
        windows: dict[str, CrowdWindow] = defaultdict(lambda: CrowdWindow(window_s=window_s))
        shown: list[tuple[float, CouponFeatures, CrowdProfile, str]] = []
        claimed: set[int] = set()
        latest: dict[tuple[str, str], list[int]] = defaultdict(list)
        for event in _events(session):
            when, payload = as_utc(event.ts), event.payload
            ts = when.timestamp()
            if event.type == "audience":
                window = windows[payload["screen_id"]]
                for face in payload["faces"]:
                    window.add(Face(ts, face["gender"], face["age"], face["confidence"]))
            elif event.type == "coupon_impression" and payload["coupon_id"] in features:
                screen = payload["screen_id"]
                latest[(payload["coupon_id"], screen)].append(len(shown))
                latest[(payload["coupon_id"], "*")].append(len(shown))
                shown.append((ts, features[payload["coupon_id"]], windows[screen].profile(when), screen))
            elif event.type == "coupon_claim":
                _join_claim(payload, ts, shown, latest, claimed)
    return [CouponImpression(ts, coupon, profile, i in claimed) for i, (ts, coupon, profile, _) in enumerate(shown)]


def _join_claim(
    payload: dict[str, Any],
    ts: float,
    shown: list[tuple[float, CouponFeatures, CrowdProfile, str]],
    latest: dict[tuple[str, str], list[int]],
    claimed: set[int],
) -> None:
    """Mark the latest unclaimed impression of the coupon (on the claim's screen) within the join window."""
    for index in reversed(latest.get((payload["coupon_id"], payload.get("screen_id") or "*"), [])):
        if ts - shown[index][0] > CLAIM_JOIN_S:
            return
        if index not in claimed:
            claimed.add(index)
            return


def train_and_maybe_publish(
    engine: Engine,
    model_dir: Path,
    config: ConfigChannel | None,
    *,
    window_s: float,
    test_fraction: float = 0.2,
    min_gain: float = 0.002,
    force: bool = False,
    **model_params: Any,
) -> TrainingReport:
    """Train on the log, compare with the current model on the newest impressions, publish if better."""
    impressions = load_impressions(engine, window_s)
    log.info("%d impressions, %d claimed", len(impressions), sum(i.claimed for i in impressions))
    current = load_coupon_model(model_dir)
    model, metrics = train_coupon_model(impressions, current=current, test_fraction=test_fraction, **model_params)
    assert model.version is not None
    better = should_publish(metrics["new"], metrics["current"], min_gain)
    if better or force:
        return TrainingReport(True, publish_coupon_model(model, model_dir, config), model.version, metrics)
    return TrainingReport(False, current.version if current else None, model.version, metrics)
