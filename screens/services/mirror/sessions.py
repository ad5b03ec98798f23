"""Mirror sessions: a fitting room's anonymous try-on history, shared by the workers through Redis.

A session is per mirror: its try-ons live in the mirror's own sorted set (:func:`try_ons_key`), the
session ends after :data:`SESSION_TTL_S` without a try-on, and no other screen ever reads them.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Final

from screens.bus import LiveCounters
from screens.bus.base import LiveStateUnavailable

log = logging.getLogger(__name__)
SESSION_TTL_S: Final = 1800.0
"""A session ends after this long without a try-on."""
SESSION_MAX_S: Final = 4 * 3600.0
"""Try-ons older than this are forgotten even while their session goes on."""


def try_ons_key(screen_id: str) -> str:
    """One sorted set per mirror, members ``"{session_id}|{sku}"`` scored by time: bounded by the few
    sessions a fitting room sees in :data:`SESSION_MAX_S`, and one read answers any session."""
    return f"mirror:{screen_id}:try_ons"


class TryOnSessions:
    """The try-ons of the sessions at each mirror, read and written on the live counters."""

    def __init__(self, counters: LiveCounters, session_ttl_s: float = SESSION_TTL_S) -> None:
        self._counters, self.session_ttl_s = counters, session_ttl_s

    def remember(self, screen_id: str, session_id: str, sku: str) -> None:
        """Add the SKU to the session's try-ons (again: only its time moves); never fails the request."""
        key, now = try_ons_key(screen_id), time.time()
        try:
            self._counters.zadd(key, {f"{session_id}|{sku}": now}, ttl_s=SESSION_MAX_S)
            self._counters.ztrim_below(key, now - SESSION_MAX_S)
        except LiveStateUnavailable:
            log.warning("live state unavailable: try-on of %s not remembered for its session", sku)

    def skus(self, screen_id: str, session_id: str | None, now: float) -> list[str]:
        """The session's earlier try-ons, oldest first; none once it was idle for ``session_ttl_s``."""
        if session_id is None:
            return []
        prefix = session_id + "|"
        recent = self._counters.zrange_by_score(try_ons_key(screen_id), now - SESSION_MAX_S, math.inf)
        tried = [(member.removeprefix(prefix), ts) for member, ts in recent if member.startswith(prefix)]
        if not tried or tried[-1][1] < now - self.session_ttl_s:
            return []
        return [sku for sku, _ in tried]
