"""Which screens exist, of which kind, in which store: the one place a missing screen becomes a 404.

Every device request names its screen, so a worker keeps what it looked up in a :class:`TtlCache`.
Staleness rule: screens are never deleted, and their kind or store change only when ops re-register
one (``PUT /v1/screens/{id}``), which announces it on the ``screens`` config channel; every worker
drops that entry when it hears it (the writing worker at once), and after a pub/sub reconnect drops
them all. Without Redis, other processes see the change within :data:`SCREEN_TTL_S`. Unknown ids are
never cached, so a newly registered screen is served on its first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.engine import Engine
from sqlmodel import Session

from screens.bus import ConfigChannel
from screens.caching import TtlCache
from screens.db.tables import Screen
from screens.errors import NotFound
from screens.services.events import ScreenInfo

CHANNEL: Final = "screens"
SCREEN_TTL_S: Final = 60.0
KIND_NAMES: Final = {
    "lead_in": "lead-in display",
    "mirror": "fitting mirror of a store",
    "entrance_camera": "entrance camera",
}


@dataclass(frozen=True)
class KnownScreen:
    id: str
    kind: str
    store_id: str | None
    camera: bool = True

    @property
    def info(self) -> ScreenInfo:
        """What event ingestion needs to know of the screen."""
        return ScreenInfo(self.kind, self.store_id)


def find_screen(session: Session, screen_id: str) -> Screen:
    """The screen's row; the 404 for a screen that does not exist."""
    row = session.get(Screen, screen_id)
    if row is None:
        raise NotFound(f"no screen {screen_id!r}")
    return row


def require_kind(screen: KnownScreen, kinds: tuple[str, ...]) -> KnownScreen:
    """404 unless the screen is of one of ``kinds`` (a mirror also needs its store)."""
    if kinds and (screen.kind not in kinds or (screen.kind == "mirror" and screen.store_id is None)):
        wanted = " or ".join(KIND_NAMES.get(k, k) for k in kinds)
        raise NotFound(f"screen {screen.id!r} is a {screen.kind} screen, not a {wanted}")
    return screen


class ScreenDirectory:
    """Screens by id for this worker; see the module docstring for how entries go stale."""

    def __init__(self, engine: Engine, config: ConfigChannel) -> None:
        self._engine = engine
        self._cache: TtlCache[str, KnownScreen] = TtlCache(SCREEN_TTL_S)
        config.subscribe(CHANNEL, self._on_message)

    def cached(self, screen_id: str) -> KnownScreen | None:
        """The screen if this worker knows it already (no I/O: safe on the event loop)."""
        return self._cache.get(screen_id)

    def get(self, screen_id: str, kinds: tuple[str, ...] = ()) -> KnownScreen:
        """The screen (404 if unknown or not of ``kinds``); reads the database on a cache miss."""
        return require_kind(self._cache.get_or_load(screen_id, lambda: self._load(screen_id)), kinds)

    def _load(self, screen_id: str) -> KnownScreen:
        with Session(self._engine) as session:
            row = find_screen(session, screen_id)
            return KnownScreen(row.id, row.kind, row.store_id, row.camera)

    def changed(self, screen_id: str) -> None:
        self._cache.invalidate(screen_id)

    def _on_message(self, message: dict[str, Any]) -> None:
        screen_id = message.get("screen_id")
        if message.get("reconnected") or not isinstance(screen_id, str):
            self._cache.clear()
        else:
            self._cache.invalidate(screen_id)
