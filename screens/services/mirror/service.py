"""Fitting mirrors: keep a :class:`~recsys.mirror.recommender.MirrorRecommender` current and answer try-ons from it.

Everything slow happens on one background thread (``mirror-loader``), in arrival order, so a model
swap can never publish a store's older catalog over a newer one: the start-up load of every catalog
(the service answers 503 for a store until it is indexed), a store's reload after its catalog upload
is announced, new models after ``vitrine train mirror`` announces them, and compatibility-table edits
made on another worker. The request path reads the index, two small sorted sets on the live counters
(the mirror's recent faces and the session's earlier try-ons) and caches; it never queries the
database except for the store's coupons, twice a minute.

A mirror session is anonymous and per mirror: its try-ons live in the mirror's own sorted set
(:func:`try_ons_key`, shared by the workers through Redis), the session ends after
:data:`SESSION_TTL_S` without a try-on, and no other screen ever reads them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.mirror.artifacts import load_mirror_models
from recsys.mirror.catalog import StoreItem
from recsys.mirror.recommender import MirrorRecommender, MirrorResult, UnknownItemError
from screens.bus import ConfigChannel, LiveCounters
from screens.bus.base import LiveStateUnavailable
from screens.db.session import as_utc
from screens.db.tables import CatalogItem, Coupon
from screens.errors import NotFound, VitrineError
from screens.services.leadin.state import CouponState
from screens.services.live_state import screen_crowd
from screens.services.mirror import compat
from screens.services.model_pointers import CHANNEL as MODELS_CHANNEL
from screens.services.model_pointers import POINTER_CHECK_S, current_version
from screens.services.weights import WeightsCache

log = logging.getLogger(__name__)
MIRROR: Final = "mirror"
"""The ``kind`` of mirror models on the ``models`` channel and their folder under ``model_dir``."""
SESSION_TTL_S: Final = 1800.0
"""A session ends after this long without a try-on."""
SESSION_MAX_S: Final = 4 * 3600.0
"""Try-ons older than this are forgotten even while their session goes on."""
COUPONS_TTL_S: Final = 30.0


class IndexLoading(VitrineError):
    """The worker is still indexing catalogs after start-up; the kiosk retries shortly."""

    status_code = 503


@dataclass(frozen=True)
class MirrorScreen:
    screen_id: str
    store_id: str


def to_store_item(row: CatalogItem) -> StoreItem:
    return StoreItem(
        store_id=row.store_id,
        sku=row.sku,
        name=row.name,
        category=row.category.lower(),
        subcategory=(row.subcategory or "").lower(),
        gender_target=row.gender_target,
        colors=tuple(c.lower() for c in row.colors),
        style_tags=tuple(s.lower() for s in row.style_tags),
        price=row.price,
        sale_price=row.sale_price,
        stock=row.stock,
        image_url=row.image_url,
        complements=tuple(row.complements),
    )


def load_items(session: Session, store_id: str | None = None) -> list[StoreItem]:
    query = select(CatalogItem).order_by(col(CatalogItem.store_id), col(CatalogItem.id))
    if store_id is not None:
        query = query.where(CatalogItem.store_id == store_id)
    return [to_store_item(row) for row in session.exec(query)]


def try_ons_key(screen_id: str) -> str:
    """One sorted set per mirror, members ``"{session_id}|{sku}"`` scored by time: bounded by the few
    sessions a fitting room sees in :data:`SESSION_MAX_S`, and one read answers any session."""
    return f"mirror:{screen_id}:try_ons"


class MirrorService:
    """What one worker needs to answer mirror requests; built in the lifespan, stopped at shutdown."""

    def __init__(
        self,
        engine: Engine,
        counters: LiveCounters,
        config: ConfigChannel,
        model_dir: Path,
        coupons: CouponState,
        weights: WeightsCache,
        crowd_window_s: float,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        self._engine, self._counters, self._model_dir = engine, counters, model_dir
        self._coupon_state, self._weights = coupons, weights
        self.crowd_window_s, self.session_ttl_s = crowd_window_s, session_ttl_s
        self.recommender = MirrorRecommender()
        self.models_version: str | None = None
        self.compatibility_version = -1
        self._ready = threading.Event()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirror-loader")
        self._queued, self._queued_lock = 0, threading.Lock()
        self._pointer_checked_at = time.monotonic()
        self._coupons: dict[str, tuple[float, list[tuple[float, float, dict[str, Any]]]]] = {}
        self._showable: tuple[object, frozenset[str]] = (None, frozenset())
        config.subscribe(MODELS_CHANNEL, self._on_models_message)
        config.subscribe(compat.CHANNEL, self._on_compatibility_message)
        self._submit(self._load_everything)

    # -- background work -------------------------------------------------------------------------

    def _submit(self, task: Callable[[], None]) -> Future[None]:
        def run() -> None:
            try:
                task()
            except Exception:
                log.exception("mirror background task %s failed", getattr(task, "__name__", task))
            finally:
                with self._queued_lock:
                    self._queued -= 1

        with self._queued_lock:
            self._queued += 1
        return self._loader.submit(run)

    @property
    def background_tasks(self) -> int:
        """Index rebuilds and model loads queued or running (shown by /readyz)."""
        return self._queued

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every reload queued so far is published (each task waits for its own index build)."""
        self._loader.submit(lambda: None).result(timeout)

    def _load_everything(self) -> None:
        started = time.monotonic()
        self._reload_compatibility()
        self._reload_models(current_version(self._model_dir, MIRROR))
        with Session(self._engine) as session:
            items = load_items(session)
        self.recommender.load_catalog(items)
        self._ready.set()
        log.info(
            "mirror index ready: %d items of %d stores in %.1fs",
            len(items),
            len(self.recommender.registry.stores()),
            time.monotonic() - started,
        )

    def catalog_changed(self, store_id: str) -> None:
        """``on_catalog_change`` listener: re-read the store's items and swap its partition in."""
        self._submit(lambda: self._reload_store(store_id))

    def _reload_store(self, store_id: str) -> None:
        with Session(self._engine) as session:
            items = load_items(session, store_id)
        if items:
            self.recommender.update_store_async(store_id, items).result()

    def _on_models_message(self, message: dict[str, Any]) -> None:
        if message.get("reconnected") or message.get("kind") == MIRROR:
            self._submit(lambda: self._reload_models(current_version(self._model_dir, MIRROR)))

    def _reload_models(self, version: str | None) -> None:
        if version is None or version == self.models_version:
            return
        models = load_mirror_models(self._model_dir / MIRROR / version)
        if models is None:
            log.error("mirror models %s are incomplete on disk; keeping %s", version, self.models_version)
            return
        self.recommender.set_models(models.als, models.taste)  # re-embeds every store, on this thread
        self.models_version = version
        log.info("mirror models %s in force", version)

    def _on_compatibility_message(self, message: dict[str, Any]) -> None:
        if message.get("reconnected") or message.get("version") != self.compatibility_version:
            self._submit(self._reload_compatibility)

    def _reload_compatibility(self) -> None:
        with Session(self._engine) as session:
            row = compat.current(session)
        self.set_compatibility(row.version, row.value)

    def set_compatibility(self, version: int, table: dict[str, dict[str, float]]) -> None:
        """Adopt a compatibility table (this worker's own edit, at once; others via the channel)."""
        if version >= self.compatibility_version:
            self.recommender.set_compatibility(table)
            self.compatibility_version = version

    def coupons_changed(self, store_id: str) -> None:
        """``on_coupons_change`` listener: forget the cached coupons of the store (``"*"``: all)."""
        if store_id == "*":
            self._coupons = {}
        else:
            self._coupons.pop(store_id, None)

    def stop(self) -> None:
        self._loader.shutdown(wait=True, cancel_futures=True)
        self.recommender.registry.close()

    # -- request path ----------------------------------------------------------------------------

    def check_item(self, mirror: MirrorScreen, sku: str) -> None:
        """404 unless ``sku`` is in the catalog of the mirror's own store (503 while indexing)."""
        part = self.recommender.registry.get(mirror.store_id)
        if part is None:
            if not self._ready.is_set():
                raise IndexLoading("the mirror index is still loading after a restart; retry in a few seconds")
            raise NotFound(f"store {mirror.store_id!r} has no catalog yet; a merchandiser must upload one")
        if part.row(sku) is None:
            raise NotFound(
                f"sku {sku!r} is not in the catalog of store {mirror.store_id!r} "
                f"(a mirror only shows its own store's items)"
            )

    def remember_try_on(self, mirror: MirrorScreen, session_id: str, sku: str) -> None:
        """Add the SKU to the session's try-ons (again: only its time moves); never fails the request."""
        key, now = try_ons_key(mirror.screen_id), time.time()
        try:
            self._counters.zadd(key, {f"{session_id}|{sku}": now}, ttl_s=SESSION_MAX_S)
            self._counters.ztrim_below(key, now - SESSION_MAX_S)
        except LiveStateUnavailable:
            log.warning("live state unavailable: try-on of %s not remembered for its session", sku)

    def session_skus(self, mirror: MirrorScreen, session_id: str | None, now: float) -> list[str]:
        """The session's earlier try-ons, oldest first; none once it was idle for ``session_ttl_s``."""
        if session_id is None:
            return []
        prefix = session_id + "|"
        recent = self._counters.zrange_by_score(try_ons_key(mirror.screen_id), now - SESSION_MAX_S, math.inf)
        tried = [(member.removeprefix(prefix), ts) for member, ts in recent if member.startswith(prefix)]
        if not tried or tried[-1][1] < now - self.session_ttl_s:
            return []
        return [sku for sku, _ in tried]

    def recommend(self, mirror: MirrorScreen, sku: str, session_id: str | None, k: int) -> MirrorResult:
        self.check_item(mirror, sku)
        self._check_models_pointer()
        wall = datetime.now(UTC)
        now = wall.timestamp()
        _, crowd = screen_crowd(self._counters, mirror.screen_id, wall, self.crowd_window_s)
        _, weights = self._weights.snapshot()
        try:
            return self.recommender.recommend(
                mirror.store_id,
                sku,
                self.session_skus(mirror, session_id, now),
                None if crowd.is_empty else crowd.as_dict(),
                k,
                weights,
                self.store_coupons(mirror.store_id, wall),
            )
        except UnknownItemError as exc:  # the catalog was replaced between the check and now
            raise NotFound(str(exc)) from exc

    def _check_models_pointer(self) -> None:
        """Without Redis no announcement crosses processes: notice a new version on disk by ourselves."""
        now = time.monotonic()
        if now - self._pointer_checked_at > POINTER_CHECK_S:
            self._pointer_checked_at = now
            if current_version(self._model_dir, MIRROR) not in (None, self.models_version):
                self._on_models_message({"kind": MIRROR})

    def store_coupons(self, store_id: str, wall: datetime) -> list[dict[str, Any]]:
        """The store's coupons a shopper can use now: active, valid now, under their caps and stock."""
        now = wall.timestamp()
        cached = self._coupons.get(store_id)
        if cached is None or time.monotonic() - cached[0] >= COUPONS_TTL_S:
            cached = self._coupons[store_id] = (time.monotonic(), self._load_coupons(store_id, wall))
        showable = self._showable_ids(now)
        return [c for start, end, c in cached[1] if start <= now < end and c["coupon_id"] in showable]

    def _load_coupons(self, store_id: str, wall: datetime) -> list[tuple[float, float, dict[str, Any]]]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(Coupon)
                .where(Coupon.store_id == store_id, col(Coupon.active).is_(True), col(Coupon.valid_to) > wall)
                .order_by(col(Coupon.id))
            ).all()
        return [
            (
                as_utc(c.valid_from).timestamp(),
                as_utc(c.valid_to).timestamp(),
                {
                    "coupon_id": c.id,
                    "title": c.title,
                    "kind": c.kind,
                    "value": c.value,
                    "min_spend": c.min_spend,
                    "valid_to": as_utc(c.valid_to).isoformat(),
                },
            )
            for c in rows
        ]

    def _showable_ids(self, now: float) -> frozenset[str]:
        """Coupons with claims left, from the lead-in ranking's snapshot (refreshed every second or so)."""
        table = self._coupon_state.snapshot().table
        cached_table, ids = self._showable
        if cached_table is not table:
            mask = table.valid_mask(now)
            ids = frozenset(c for c, ok in zip(table.coupon_ids, mask.tolist(), strict=True) if ok)
            self._showable = (table, ids)
        return ids
