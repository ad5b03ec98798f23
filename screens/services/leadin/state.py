"""What one worker caches to rank coupons in a millisecond or two.

Three layers, each refreshed on its own clock so the request path does almost no I/O:

- the *catalog* (:class:`CouponCatalog`): active coupons as a columnar
  :class:`~recsys.leadin.table.CouponTable`, rebuilt from the database only when a coupon upload
  is announced on the ``coupons`` channel (or after :data:`CATALOG_MAX_AGE_S` as a safety net);
- the *live stats* (:class:`LiveSnapshot`): impressions, claims, claims today and crowding, read
  from the bus at most every ``counters_ttl_s`` (a few round trips for all coupons together);
- the *audiences*: decayed store audiences and their lift, reloaded every ``audience_ttl_s`` by a
  background thread (they move with a half-life of days).

A refresh is done by whichever request finds the snapshot stale, while concurrent requests keep
using the previous one, so at most one request per interval pays for it (a couple of milliseconds).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import numpy as np
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.audience import AudienceLift, StoreAudience
from recsys.leadin.table import CouponCandidate, CouponTable, StoreTable
from screens.bus import LiveCounters
from screens.db.session import as_utc
from screens.db.tables import CatalogItem, Coupon, Store
from screens.services.audience import PublishedCache, load_store_audience
from screens.services.live_state import RECENT_VISITS_S, recent_visits_by_store

log = logging.getLogger(__name__)
CATALOG_MAX_AGE_S: Final = 600.0
MIN_CAPACITY: Final = 10.0
OPEN_HOURS_PER_DAY: Final = 11.0
DEFAULT_BASKET: Final = 50.0


@dataclass(frozen=True)
class CouponCatalog:
    """Coupons that can still be shown (active, not expired when built), with zero counters."""

    table: CouponTable
    store_ids: tuple[str, ...]
    """Every store of the mall (audiences and the mall-wide distribution span all of them)."""
    coupon_store: np.ndarray
    """Per coupon, the row of its store in ``store_ids``."""
    built_at: float


@dataclass
class LiveSnapshot:
    """One consistent view for ranking: the catalog's table with live counters, stats and audiences."""

    catalog: CouponCatalog
    table: CouponTable
    stores: StoreTable
    audience: StoreAudience
    published: PublishedCache
    taken_at: float
    audience_at: float
    _lifts: dict[str, AudienceLift] = field(default_factory=dict)

    def lift(self, daypart: str) -> AudienceLift:
        lift = self._lifts.get(daypart)
        if lift is None:
            lift = self._lifts[daypart] = self.audience.lift(self.published.now, daypart)
        return lift


def load_catalog(engine: Engine, now: datetime) -> CouponCatalog:
    """Active coupons not yet expired, joined to their store's category and typical basket."""
    with Session(engine) as session:
        rows = session.exec(
            select(Coupon, Store.category)
            .join(Store, col(Coupon.store_id) == col(Store.id))
            .where(col(Coupon.active).is_(True), col(Coupon.valid_to) > now)
            .order_by(col(Coupon.id))
        ).all()
        store_ids = tuple(session.exec(select(Store.id).order_by(col(Store.id))).all())
        priced = sorted({c.store_id for c, _ in rows if c.kind != "percent"})
        basket = (
            dict(
                session.exec(
                    select(CatalogItem.store_id, func.avg(func.coalesce(CatalogItem.sale_price, CatalogItem.price)))
                    .where(col(CatalogItem.store_id).in_(priced))
                    .group_by(col(CatalogItem.store_id))
                ).all()
            )
            if priced
            else {}
        )
    candidates = [
        CouponCandidate(
            coupon_id=c.id,
            store_id=c.store_id,
            title=c.title,
            store_category=category,
            kind=c.kind,  # type: ignore[arg-type]
            value=c.value,
            valid_from=as_utc(c.valid_from),
            valid_to=as_utc(c.valid_to),
            min_spend=c.min_spend,
            daily_cap=c.daily_cap,
            total_stock=c.total_stock,
            active=c.active,
            store_median_price=float(basket.get(c.store_id) or DEFAULT_BASKET),
        )
        for c, category in rows
    ]
    table = CouponTable.from_candidates(candidates)
    row = {s: i for i, s in enumerate(store_ids)}
    coupon_store = (
        np.array([row[s] for s in table.store_ids], dtype=np.int64)[table.store_idx]
        if len(table)
        else np.zeros(0, dtype=np.int64)
    )
    return CouponCatalog(table, store_ids, coupon_store, time.monotonic())


def _column(values: dict[str, float], ids: tuple[str, ...]) -> np.ndarray:
    return np.fromiter((values.get(i, 0.0) for i in ids), dtype=np.float64, count=len(ids))


def store_table(
    catalog: CouponCatalog, table: CouponTable, audience: StoreAudience, crowd: dict[str, int], now: float
) -> StoreTable:
    """Per-store stats: decayed visits, claims and impressions of its coupons, crowd and capacity.

    The capacity proxy is twice the store's typical crowd: its decayed visits spread over opening
    hours give a visit rate, times the crowding window (a store is "full" at twice its usual crowd).
    """
    ids = catalog.store_ids
    assert tuple(audience.store_ids) == ids, "audiences are loaded for the catalog's stores, in order"
    visits = audience.visits(now)
    claims = np.bincount(catalog.coupon_store, table.claims_total, minlength=len(ids))
    impressions = np.bincount(catalog.coupon_store, table.impressions, minlength=len(ids))
    rate_per_s = visits * math.log(2) / audience.half_life_s * 24.0 / OPEN_HOURS_PER_DAY
    capacity = np.maximum(MIN_CAPACITY, 2.0 * rate_per_s * RECENT_VISITS_S)
    crowd_now = np.array([float(crowd.get(s, 0)) for s in ids])
    return StoreTable(ids, visits, claims, impressions, crowd_now, capacity)


@dataclass(frozen=True)
class _Audiences:
    store_ids: tuple[str, ...]
    audience: StoreAudience
    published: PublishedCache
    loaded_at: float


class CouponState:
    """The per-worker cache behind coupon ranking and store audiences (see the module docstring).

    Audiences are the expensive read (every store's hash, tens of thousands of fields) and change
    slowly (a half-life of days), so once a first set is loaded they are reloaded by a background
    thread and swapped in; ``audience_ttl_s = 0`` loads them inline on every refresh instead (tests).
    """

    def __init__(
        self,
        engine: Engine,
        counters: LiveCounters,
        *,
        half_life_s: float,
        k_anonymity: int,
        dp_epsilon: float | None,
        counters_ttl_s: float = 1.0,
        audience_ttl_s: float = 30.0,
    ) -> None:
        self._engine, self._counters = engine, counters
        self.half_life_s, self.k_anonymity, self.dp_epsilon = half_life_s, k_anonymity, dp_epsilon
        self.counters_ttl_s, self.audience_ttl_s = counters_ttl_s, audience_ttl_s
        self._lock = threading.Lock()
        self._catalog: CouponCatalog | None = None
        self._catalog_dirty = True
        self._snapshot: LiveSnapshot | None = None
        self._audiences: _Audiences | None = None
        self._audience_loader: threading.Thread | None = None

    def coupons_changed(self, _store_id: str | None = None) -> None:
        """Mark the catalog stale; the next request rebuilds it (handlers must stay cheap)."""
        self._catalog_dirty = True

    def snapshot(self) -> LiveSnapshot:
        """The current snapshot, refreshed first when stale (unless another request is refreshing)."""
        snap = self._snapshot
        if snap is not None and not self._stale(snap):
            return snap
        if not self._lock.acquire(blocking=snap is None):
            assert snap is not None
            return snap
        try:
            snap = self._snapshot
            if snap is None or self._stale(snap):
                snap = self._snapshot = self._refresh()
            return snap
        finally:
            self._lock.release()

    def fresh_snapshot(self) -> LiveSnapshot | None:
        """The current snapshot if it needs no refresh (no I/O), else None."""
        snap = self._snapshot
        return snap if snap is not None and not self._stale(snap) else None

    def _stale(self, snap: LiveSnapshot) -> bool:
        now = time.monotonic()
        return (
            self._catalog_dirty
            or now - snap.taken_at >= self.counters_ttl_s
            or now - snap.catalog.built_at >= CATALOG_MAX_AGE_S
            or snap.audience is not self._current_audience()
        )

    def _current_audience(self) -> StoreAudience | None:
        audiences = self._audiences
        return audiences.audience if audiences is not None else None

    def _refresh(self) -> LiveSnapshot:
        started, wall = time.monotonic(), datetime.now(UTC)
        catalog = self._catalog
        if catalog is None or self._catalog_dirty or started - catalog.built_at >= CATALOG_MAX_AGE_S:
            self._catalog_dirty = False  # before loading: an upload announced meanwhile marks it again
            catalog = self._catalog = load_catalog(self._engine, wall)
        audiences = self._audiences_for(catalog.store_ids, started)
        impressions, claims, today = self._counters.get_many(
            ["coupons:impressions", "coupons:claims", f"coupons:claims:{wall.date().isoformat()}"]
        )
        ids = catalog.table.coupon_ids
        table = catalog.table.with_counters(_column(today, ids), _column(claims, ids), _column(impressions, ids))
        now = wall.timestamp()
        crowd = recent_visits_by_store(self._counters, now)
        stores = store_table(catalog, table, audiences.audience, crowd, now)
        log.debug("coupon snapshot refreshed in %.1f ms", (time.monotonic() - started) * 1e3)
        # Lifts are a function of the audiences alone: the next snapshot keeps the same objects, so
        # the ranker's per-crowd scores survive a counters refresh.
        previous = self._snapshot
        lifts = previous._lifts if previous is not None and previous.audience is audiences.audience else {}
        return LiveSnapshot(
            catalog, table, stores, audiences.audience, audiences.published, started, audiences.loaded_at, lifts
        )

    def _audiences_for(self, store_ids: tuple[str, ...], started: float) -> _Audiences:
        """Current audiences for these stores: inline when none fit, else reloaded in the background."""
        audiences = self._audiences
        if audiences is None or audiences.store_ids != store_ids or self.audience_ttl_s <= 0:
            audiences = self._audiences = self._load_audiences(store_ids)
        elif started - audiences.loaded_at >= self.audience_ttl_s:
            loader = self._audience_loader
            if loader is None or not loader.is_alive():
                self._audience_loader = threading.Thread(
                    target=self._reload_audiences, args=(store_ids,), name="vitrine-audiences", daemon=True
                )
                self._audience_loader.start()
        return audiences

    def _load_audiences(self, store_ids: tuple[str, ...]) -> _Audiences:
        started, now = time.monotonic(), time.time()
        audience = load_store_audience(self._engine, store_ids, now, self.half_life_s)
        published = PublishedCache(audience, now, self.k_anonymity, self.dp_epsilon)
        log.debug("store audiences loaded in %.1f ms", (time.monotonic() - started) * 1e3)
        return _Audiences(store_ids, audience, published, started)

    def _reload_audiences(self, store_ids: tuple[str, ...]) -> None:
        try:
            self._audiences = self._load_audiences(store_ids)
        except Exception:
            log.exception("reloading store audiences failed; keeping the previous ones")
