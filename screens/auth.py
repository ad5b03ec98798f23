"""Bearer tokens and the access rules.

Tokens are 32 random bytes shown once at creation; only their SHA-256 is stored (a fast hash is
right for high-entropy secrets: there is nothing to brute-force). Roles:

- ``admin``: everything;
- ``ops``: stores, screens, ranking weights, read access to catalogs and analytics;
- ``merchandiser``: catalogs and coupons of the stores bound to its token;
- ``device``: events and recommendations of the one screen bound to its token.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from screens.caching import TtlCache
from screens.db.tables import ApiToken
from screens.errors import Forbidden, Unauthorized

log = logging.getLogger(__name__)
Role = Literal["admin", "ops", "merchandiser", "device"]
ROLES: tuple[Role, ...] = ("admin", "ops", "merchandiser", "device")
TOKEN_PREFIX = "vt_"
SCREEN_COOKIE = "vitrine_screen"  # a screen page's device token (see screens.routes.pages)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and its scope, never the token itself."""

    token_id: int
    role: Role
    store_ids: frozenset[str] = field(default_factory=frozenset)
    screen_id: str | None = None
    expires_at: float | None = None  # epoch seconds

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now if now is not None else time.time()) >= self.expires_at

    @property
    def label(self) -> str:
        return f"{self.role}#{self.token_id}"

    def require(self, *roles: Role) -> None:
        if self.role != "admin" and self.role not in roles:
            raise Forbidden(f"role {self.role!r} may not do this; needs one of: {', '.join(('admin', *roles))}")

    def require_store(self, store_id: str, *roles: Role) -> None:
        """Role check, and merchandisers only for the stores bound to their token."""
        self.require(*roles)
        if self.role == "merchandiser" and store_id not in self.store_ids:
            raise Forbidden(f"this token may not act on store {store_id!r}")

    def require_screen(self, screen_id: str, *roles: Role) -> None:
        """Role check, and devices only for their own screen."""
        self.require("device", *roles)
        if self.role == "device" and screen_id != self.screen_id:
            raise Forbidden(f"this device token is bound to screen {self.screen_id!r}, not {screen_id!r}")


def create_token(
    session: Session,
    role: Role,
    *,
    store_ids: list[str] | None = None,
    screen_id: str | None = None,
    label: str | None = None,
    ttl_s: float | None = None,
) -> str:
    """Store a new token's hash and return the token (the only time it exists in clear).

    ``ttl_s``: seconds until the token expires (none: it lives until revoked)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "merchandiser" and not store_ids:
        raise ValueError("a merchandiser token needs at least one --store")
    if role == "device" and not screen_id:
        raise ValueError("a device token needs --screen")
    if ttl_s is not None and ttl_s <= 0:
        raise ValueError("--ttl must be positive")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            role=role,
            store_ids=sorted(store_ids or []),
            screen_id=screen_id if role == "device" else None,
            label=label,
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_s) if ttl_s is not None else None,
        )
    )
    session.flush()
    return token


def revoke_token(session: Session, token_id: int) -> ApiToken | None:
    """Mark a token revoked (the row stays, for the audit trail); None when there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.revoked = True
        session.add(row)
        session.flush()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return authorization[7:].strip()


TOKEN_TTL_S = 30.0


class TokenCache(TtlCache[str, Principal]):
    """Recently verified tokens (by hash) → their principal, so hot routes skip the database.

    Staleness rule: an entry lives ``ttl_s`` seconds and never past the token's expiry; a revocation
    is announced on the ``tokens`` config channel and every worker drops the token at once
    (:meth:`forget`), as weights changes travel, so ``ttl_s`` only bounds the case where that message
    is lost (docs/api.md, known limits).
    """

    def __init__(self, ttl_s: float = TOKEN_TTL_S, max_entries: int = 10_000) -> None:
        super().__init__(ttl_s, max_entries)

    def get(self, key: str, now: float | None = None) -> Principal | None:
        principal = super().get(key, now)
        return None if principal is None or principal.expired() else principal

    def forget(self, token_id: int | None = None) -> None:
        """Drop one token's entries (it was revoked), or every entry."""
        if token_id is None:
            self.clear()
            return
        for key in [k for k, (_, p) in list(self._entries.items()) if p.token_id == token_id]:
            self.invalidate(key)


class TokenUsage:
    """When each token was last used, written to ``api_token.last_used_at`` once a minute.

    Kept in memory and flushed by a background thread so the request path never writes (a SQLite
    upload holding the write lock would otherwise stall every authentication behind it)."""

    def __init__(self, engine: Engine, interval_s: float = 60.0) -> None:
        self._engine, self.interval_s = engine, interval_s
        self._seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def saw(self, token_id: int) -> None:
        if token_id:  # 0: the claim page acting for a screen, not a token
            self._seen[token_id] = time.time()

    def flush(self) -> None:
        seen, self._seen = self._seen, {}
        if not seen:
            return
        with Session(self._engine) as session:
            for token_id, at in seen.items():
                moment = datetime.fromtimestamp(at, UTC)
                session.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=moment))
            session.commit()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
            except Exception:  # a database hiccup must not end the thread; the next flush retries
                log.warning("token last-use flush failed", exc_info=True)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="token-usage", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def authenticate(session: Session, token_hash: str) -> Principal:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
    if row is None or row.revoked:
        raise Unauthorized("invalid or revoked token")
    assert row.id is not None
    expires = row.expires_at
    principal = Principal(
        token_id=row.id,
        role=cast(Role, row.role),
        store_ids=frozenset(row.store_ids),
        screen_id=row.screen_id,
        expires_at=(expires if expires.tzinfo else expires.replace(tzinfo=UTC)).timestamp() if expires else None,
    )
    if principal.expired():
        raise Unauthorized("this token has expired")
    return principal
