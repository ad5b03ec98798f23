"""The FastAPI application factory; everything stateful is built in the lifespan."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from screens.auth import TokenCache, TokenUsage
from screens.bus import make_bus
from screens.db.session import make_engine
from screens.errors import install_error_handlers
from screens.middleware import SecurityHeaders, UnhandledErrors
from screens.observability import configure_logging, install_request_metrics
from screens.routes import (
    analytics,
    api_docs,
    audience,
    console,
    coupons,
    events,
    health,
    mall,
    media,
    mirrors,
    pages,
    privacy,
    templates,
    tokens,
    uploads,
    vision,
    weights,
)
from screens.runtime import Runtime
from screens.services.consumer import EventConsumer
from screens.services.leadin.recommender import CouponRecommender
from screens.services.leadin.state import CouponState
from screens.services.live_state import apply_events
from screens.services.mirror.service import MirrorService
from screens.services.model_pointers import COUPONS, load_coupon_model
from screens.services.model_store import ModelStore
from screens.services.retention import RetentionWorker
from screens.services.screen_directory import ScreenDirectory
from screens.services.session_window import SessionPolicy
from screens.services.weights import WeightsCache
from screens.settings import Settings

log = logging.getLogger(__name__)

DESCRIPTION = """Anonymous, crowd-aware recommendations for the screens of a shopping mall.

Authenticate with `Authorization: Bearer <token>` (create tokens with `vitrine token create`).
Roles: `admin`, `ops`, `merchandiser` (bound to stores), `device` (bound to one screen)."""


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.database_url)
    bus = make_bus(
        settings.redis_url,
        buffer_max=settings.event_buffer_max,
        retry_interval_s=settings.bus_retry_interval_s,
        stream_maxlen=settings.stream_maxlen,
    )
    half_life_s = settings.audience_half_life_days * 86_400.0
    weights = WeightsCache(engine, bus.config)
    state = CouponState(
        engine, bus.counters, half_life_s=half_life_s, k_anonymity=settings.k_anonymity, dp_epsilon=settings.dp_epsilon
    )
    models = ModelStore(settings.model_dir, bus.config)
    coupon_model = models.register(COUPONS, lambda version: load_coupon_model(settings.model_dir, version))
    recommender = CouponRecommender(state, coupon_model, weights, bus.counters, settings.crowd_window_s)
    mirror = MirrorService(engine, bus.counters, bus.config, models, weights, settings.crowd_window_s)

    def apply(batch: Sequence[dict[str, Any]]) -> None:
        apply_events(bus.counters, batch)
        recommender.audience_applied(e["screen_id"] for e in batch if e["type"] == "audience")
        if any(e["type"] == "coupon_claim" for e in batch):
            mirror.coupons.claims_changed()

    consumer = EventConsumer(bus, apply)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        bus=bus,
        weights=weights,
        consumer=consumer,
        coupons=recommender,
        mirror=mirror,
        models=models,
        screens=ScreenDirectory(engine, bus.config),
        retention=RetentionWorker(engine, settings.event_retention_days),
        frame_decodes=asyncio.Semaphore(settings.frame_decodes),
        token_usage=TokenUsage(engine),
        sessions=SessionPolicy(engine, bus.counters, settings.secret_key, settings.mirror_session_window_s),
        # With Redis a revocation is announced to every worker; in-process, a CLI revocation has no
        # channel to this worker, so cached tokens are re-read from the database every second.
        tokens=TokenCache(ttl_s=30.0 if bus.kind == "redis" else 1.0),
    )
    runtime.on_coupons_change.append(state.coupons_changed)
    runtime.on_catalog_change.append(state.coupons_changed)  # typical basket prices come from catalogs
    runtime.on_catalog_change.append(mirror.catalog_changed)
    runtime.on_coupons_change.append(mirror.coupons_changed)
    runtime.on_shutdown.append(mirror.stop)
    return runtime


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = build_runtime(settings)
        app.state.runtime = runtime
        runtime.start()
        # What start-up built (imports, models, audiences) lives as long as the process. Frozen, it
        # is left out of every full collection: at 300 MB those took ~95 ms, every few requests
        # that allocate a lot (a 6,000-link flow answer: its p95 was twice its median).
        gc.collect()
        gc.freeze()
        log.info("vitrine ready", extra={"fields": {"bus": runtime.bus.kind}})
        try:
            yield
        finally:
            runtime.stop()
            gc.unfreeze()  # collectable again: a process that builds apps one after another (tests) frees each

    # /docs is served by api_docs with a vendored Swagger UI; ReDoc would need a CDN.
    app = FastAPI(
        title="Vitrine", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    app.add_middleware(UnhandledErrors)  # innermost: the request metrics still see the 500
    install_request_metrics(app)
    app.add_middleware(SecurityHeaders)
    # Routes are matched in order: the screens' polled coupon route first (it was behind 23 others,
    # a tenth of a millisecond per request); no other route overlaps its paths.
    routers = (
        coupons,
        health,
        mall,
        uploads,
        weights,
        events,
        audience,
        mirrors,
        media,
        vision,
        analytics,
        templates,
        tokens,
        console,
        pages,
        privacy,
        api_docs,
    )
    for module in routers:
        app.include_router(module.router)
    return app
