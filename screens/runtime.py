"""What one worker holds while it serves: engine, live-state bus, caches and background threads.

Built in ``create_app``'s lifespan (never at import) so tests can run apps with their own settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from screens.auth import TokenCache, TokenUsage
from screens.bus import Bus
from screens.services.consumer import EventConsumer
from screens.services.events import IntakeConfig
from screens.services.leadin.recommender import CouponRecommender
from screens.services.mirror.service import MirrorService
from screens.services.model_store import ModelStore
from screens.services.retention import RetentionWorker
from screens.services.screen_directory import CHANNEL as SCREENS_CHANNEL
from screens.services.screen_directory import ScreenDirectory
from screens.services.session_window import SessionPolicy
from screens.services.weights import WeightsCache
from screens.settings import Settings

TOKENS_CHANNEL = "tokens"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    bus: Bus
    weights: WeightsCache
    consumer: EventConsumer
    coupons: CouponRecommender
    mirror: MirrorService
    models: ModelStore
    screens: ScreenDirectory
    retention: RetentionWorker
    token_usage: TokenUsage
    sessions: SessionPolicy
    tokens: TokenCache = field(default_factory=TokenCache)
    frame_decodes: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(2))
    on_catalog_change: list[Callable[[str], None]] = field(default_factory=list)
    on_coupons_change: list[Callable[[str], None]] = field(default_factory=list)
    on_shutdown: list[Callable[[], None]] = field(default_factory=list)

    @property
    def intake(self) -> IntakeConfig:
        """The settings event intake and its rollups work with."""
        return IntakeConfig.from_settings(self.settings)

    def catalog_changed(self, store_id: str) -> None:
        """Announce to every worker that a store's catalog changed (indexes rebuild off-path)."""
        self.bus.config.publish("catalog", {"store_id": store_id})

    def coupons_changed(self, store_id: str) -> None:
        """Announce to every worker that a store's coupons changed (ranking tables rebuild).

        This worker's listeners are told at once as well, so its next request reads its own write
        (pub/sub delivery is asynchronous; listeners only mark caches stale, so twice is harmless).
        """
        for listener in self.on_coupons_change:
            listener(store_id)
        self.bus.config.publish("coupons", {"store_id": store_id})

    def screen_changed(self, screen_id: str) -> None:
        """Announce a re-registered screen (call after the commit): every worker drops its cached copy."""
        self.screens.changed(screen_id)
        self.bus.config.publish(SCREENS_CHANNEL, {"screen_id": screen_id})

    def _on_catalog_message(self, message: dict[str, object]) -> None:
        store_id = message.get("store_id")
        if isinstance(store_id, str):
            for listener in self.on_catalog_change:
                listener(store_id)

    def _on_coupons_message(self, message: dict[str, object]) -> None:
        """Pass the store id on; after a pub/sub reconnect (messages may be lost) say ``"*"``."""
        store_id = "*" if message.get("reconnected") else message.get("store_id")
        if isinstance(store_id, str):
            for listener in self.on_coupons_change:
                listener(store_id)

    def token_revoked(self, token_id: int) -> None:
        """Announce a revocation: every worker drops the token from its cache (this one at once)."""
        self.tokens.forget(token_id)
        self.bus.config.publish(TOKENS_CHANNEL, {"revoked": token_id})

    def _on_tokens_message(self, message: dict[str, object]) -> None:
        """After a pub/sub reconnect a revocation may have been missed: forget every token."""
        revoked = message.get("revoked")
        self.tokens.forget(None if message.get("reconnected") or not isinstance(revoked, int) else revoked)

    def start(self) -> None:
        self.bus.config.subscribe("catalog", self._on_catalog_message)
        self.bus.config.subscribe("coupons", self._on_coupons_message)
        self.models.start()
        self.bus.config.subscribe(TOKENS_CHANNEL, self._on_tokens_message)
        self.consumer.start()
        self.coupons.start()
        self.retention.start()
        self.token_usage.start()

    def stop(self) -> None:
        for hook in self.on_shutdown:
            hook()
        self.token_usage.stop()
        self.consumer.stop()
        self.coupons.stop()
        self.models.stop()
        self.retention.stop()
        self.bus.close()
        self.engine.dispose()
