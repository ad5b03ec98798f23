"""Mirror sessions: a short window, and no raw session id kept (issue 13).

A kiosk's ``session_id`` groups one shopper's try-ons. Accepted forever and stored with every
event, the same id seen 30 days apart is a tracker by another name. So:

- **Window**: a session lives :attr:`SessionPolicy.window_s` (default 2 h) from its first try-on;
  a later event with it is refused (``422``: "start a new session"). The first-seen time lives in
  live state under a keyed hash of the id (never the id), and expires after twice the window.
- **Stored id**: before an event is logged or streamed its ``session_id`` becomes
  ``h:`` + HMAC-SHA256(salt of the day, id). Each day's salt is random, shared by the workers
  through the ``settings_kv`` table and deleted the next day, so once a day is over nobody, not
  even someone holding the database and the server's secret, can tell which raw id a stored hash
  came from or link two days' hashes of one id. Training groups a session's try-ons and purchases
  by this hash; a session running across midnight splits in two.

The service uses the hashed id everywhere after intake (live try-on memory, the mirror page), and
a ``session_id`` that already has the ``h:`` form is taken as such.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from screens.bus.base import LiveCounters, LiveStateUnavailable
from screens.db.tables import SettingValue

log = logging.getLogger(__name__)
HASHED = "h:"
_SALT_KEY = "session_salt:"


class SessionExpired(ValueError):
    """The session started longer ago than the window allows."""


def _salt_key(day: date) -> str:
    return f"{_SALT_KEY}{day.isoformat()}"


class SessionPolicy:
    """The window check and the daily-salted hash, for one worker."""

    def __init__(self, engine: Engine, counters: LiveCounters, secret_key: str, window_s: float) -> None:
        self._engine, self._counters, self.window_s = engine, counters, window_s
        self._key = hashlib.sha256(b"vitrine-session-window/" + secret_key.encode()).digest()
        self._lock = threading.Lock()
        self._salt: tuple[date, bytes] | None = None

    # ---- the window ----
    def _live_key(self, session_id: str) -> str:
        return "mirror_session:" + hmac.new(self._key, session_id.encode(), hashlib.sha256).hexdigest()[:32]

    def check(self, session_id: str, ts: datetime) -> None:
        """Raise :class:`SessionExpired` when ``ts`` is past the window from the first sighting."""
        if session_id.startswith(HASHED):
            return
        key, at = self._live_key(session_id), ts.timestamp()
        try:
            seen = self._counters.zrange_by_score(key, float("-inf"), float("inf"))
            first = min([score for _, score in seen] + [at])
            if at - first > self.window_s:
                raise SessionExpired(
                    f"session_id was first seen more than {self.window_s / 3600:g} h ago; start a new session"
                )
            if not seen or first < seen[0][1]:
                self._counters.zadd(key, {"first": first}, ttl_s=2 * self.window_s)
        except LiveStateUnavailable:
            log.warning("live state unavailable: mirror session window not checked")

    # ---- the stored id ----
    def stored_id(self, session_id: str, now: datetime | None = None) -> str:
        """The form kept in the event log, the stream and live state."""
        if session_id.startswith(HASHED):
            return session_id
        salt = self._salt_of((now or datetime.now(UTC)).date())
        return HASHED + hmac.new(salt, session_id.encode(), hashlib.sha256).hexdigest()[:24]

    def _salt_of(self, day: date) -> bytes:
        with self._lock:
            if self._salt is None or self._salt[0] != day:
                self._salt = (day, self._load_salt(day))
            return self._salt[1]

    def _load_salt(self, day: date) -> bytes:
        """Today's salt from the database, made by the first worker that needs it; older ones go."""
        with Session(self._engine) as session:
            row = session.get(SettingValue, _salt_key(day))
            if row is None:
                session.add(
                    SettingValue(
                        key=_salt_key(day), value={"salt": secrets.token_hex(32)}, version=1, updated_by="service"
                    )
                )
                try:
                    session.commit()
                except IntegrityError:  # another worker made it first
                    session.rollback()
                row = session.get(SettingValue, _salt_key(day))
                assert row is not None
            old = [_salt_key(day - timedelta(days=n)) for n in range(1, 15)]
            session.execute(delete(SettingValue).where(col(SettingValue.key).in_(old)))
            session.commit()
            return bytes.fromhex(row.value["salt"])
