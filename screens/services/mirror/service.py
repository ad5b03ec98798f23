"""Fitting mirrors: keep a :class:`~recsys.mirror.recommender.MirrorRecommender` current and answer try-ons from it.

Everything slow happens on one background thread (``mirror-loader``), in arrival order, so a model
swap can never publish a store's older catalog over a newer one: the start-up load of every catalog
(the service answers 503 for a store until it is indexed), a store's reload after its catalog upload
is announced, adopting new models (loaded by the :class:`~screens.services.model_store.ModelStore`)
and compatibility-table edits made on another worker. The request path reads the index, two small
sorted sets on the live counters (the mirror's recent faces and the session's earlier try-ons, see
:mod:`~screens.services.mirror.sessions`) and the store's usable coupons
(:mod:`~screens.services.mirror.coupons`); it never waits for a load.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.mirror.artifacts import MirrorModels, load_mirror_models
from recsys.mirror.catalog import StoreItem
from recsys.mirror.recommender import MirrorRecommender, MirrorResult, TriedItem, UnknownItemError
from screens.bus import ConfigChannel, LiveCounters
from screens.db.tables import CatalogItem
from screens.errors import NotFound, VitrineError
from screens.services.live_state import screen_crowd
from screens.services.mirror import compat
from screens.services.mirror.coupons import ShowableCoupons
from screens.services.mirror.sessions import SESSION_TTL_S, TryOnSessions
from screens.services.model_store import ModelStore
from screens.services.weights import WeightsCache

log = logging.getLogger(__name__)
MIRROR: Final = "mirror"
"""The ``kind`` of mirror models on the ``models`` channel and their folder under ``model_dir``."""


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


class MirrorService:
    """What one worker needs to answer mirror requests; built in the lifespan, stopped at shutdown."""

    def __init__(
        self,
        engine: Engine,
        counters: LiveCounters,
        config: ConfigChannel,
        models: ModelStore,
        weights: WeightsCache,
        crowd_window_s: float,
        session_ttl_s: float = SESSION_TTL_S,
    ) -> None:
        self._engine, self._counters, self._weights = engine, counters, weights
        self.crowd_window_s = crowd_window_s
        self.sessions = TryOnSessions(counters, session_ttl_s)
        self.coupons = ShowableCoupons(engine, counters)
        self.recommender = MirrorRecommender()
        self.models_version: str | None = None
        """The models the index is embedded with (adopted on the loader thread)."""
        self.model_parts = MirrorModels.content_only_parts()
        self.compatibility_version = -1
        self._ready = threading.Event()
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mirror-loader")
        self._queued, self._queued_lock = 0, threading.Lock()
        self._store = models
        self._models = models.register(MIRROR, lambda v: load_mirror_models(models.model_dir / MIRROR / v), self._swap)
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
    def models_in_force(self) -> dict[str, Any]:
        """The mirror models this worker serves and which of their parts are on (shown by /readyz).

        ``crowd_taste`` is off for mirrors trained without cameras: they personalise from the
        session's own try-ons (the ``mirror_session`` weight), which needs no model.
        """
        return {"version": self.models_version, "parts": dict(self.model_parts)}

    @property
    def background_tasks(self) -> int:
        """Index rebuilds and model adoptions queued or running (shown by /readyz)."""
        return self._queued

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every model announced and every reload queued so far is published."""
        self._store.settle(timeout)
        self._loader.submit(lambda: None).result(timeout)

    def _load_everything(self) -> None:
        started = time.monotonic()
        self._reload_compatibility()
        models, version = self._models.current(), self._models.version
        if models is not None:
            self._adopt(models, version)
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

    def _swap(self, models: MirrorModels, version: str) -> None:
        """The model store loaded a new version: re-embed with it on the loader thread, in order."""
        self._submit(lambda: self._adopt(models, version))

    def _adopt(self, models: MirrorModels, version: str | None) -> None:
        if version is None or version == self.models_version:
            return
        self.recommender.set_models(models.als, models.taste, models.compatibility)  # re-embeds every store
        self.models_version, self.model_parts = version, models.parts
        log.info("mirror index embedded with models %s", version)

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
        """``on_coupons_change`` listener: the store's usable coupons are re-read (``"*"``: all)."""
        self.coupons.coupons_changed(store_id)

    def stop(self) -> None:
        self._loader.shutdown(wait=True, cancel_futures=True)
        self.recommender.registry.close()

    # -- request path ----------------------------------------------------------------------------

    def locate(self, mirror: MirrorScreen, sku: str) -> TriedItem:
        """The one check of a try-on: 404 unless ``sku`` is in the mirror's own store (503 while indexing)."""
        if self.recommender.registry.get(mirror.store_id) is None:
            if not self._ready.is_set():
                raise IndexLoading("the mirror index is still loading after a restart; retry in a few seconds")
            raise NotFound(f"store {mirror.store_id!r} has no catalog yet; a merchandiser must upload one")
        try:
            return self.recommender.locate(mirror.store_id, sku)
        except UnknownItemError as exc:
            raise NotFound(f"{exc} (a mirror only shows its own store's items)") from exc

    def recommend(self, mirror: MirrorScreen, tried: TriedItem, session_id: str | None, k: int) -> MirrorResult:
        """Similar and complementary items for the located item, for this session and crowd."""
        wall = datetime.now(UTC)
        _, crowd = screen_crowd(self._counters, mirror.screen_id, wall, self.crowd_window_s)
        _, weights = self._weights.snapshot()
        return self.recommender.recommend_for(
            tried,
            self.sessions.skus(mirror.screen_id, session_id, wall.timestamp()),
            None if crowd.is_empty else crowd.as_dict(),
            k,
            weights,
        )
