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
import secrets
from dataclasses import dataclass, field
from typing import Literal, cast

from sqlmodel import Session, select

from screens.caching import TtlCache
from screens.db.tables import ApiToken
from screens.errors import Forbidden, Unauthorized

Role = Literal["admin", "ops", "merchandiser", "device"]
ROLES: tuple[Role, ...] = ("admin", "ops", "merchandiser", "device")
TOKEN_PREFIX = "vt_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and its scope, never the token itself."""

    token_id: int
    role: Role
    store_ids: frozenset[str] = field(default_factory=frozenset)
    screen_id: str | None = None

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
) -> str:
    """Store a new token's hash and return the token (the only time it exists in clear)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "merchandiser" and not store_ids:
        raise ValueError("a merchandiser token needs at least one --store")
    if role == "device" and not screen_id:
        raise ValueError("a device token needs --screen")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            role=role,
            store_ids=sorted(store_ids or []),
            screen_id=screen_id if role == "device" else None,
            label=label,
        )
    )
    session.flush()
    return token


def bearer_token(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    return authorization[7:].strip()


TOKEN_TTL_S = 30.0


class TokenCache(TtlCache[str, Principal]):
    """Recently verified tokens (by hash) → their principal, so hot routes skip the database.

    Staleness rule: an entry lives ``ttl_s`` seconds and nothing drops it sooner, which bounds how
    long a revoked token keeps working in a worker (docs/api.md, known limits).
    """

    def __init__(self, ttl_s: float = TOKEN_TTL_S, max_entries: int = 10_000) -> None:
        super().__init__(ttl_s, max_entries)


def authenticate(session: Session, token_hash: str) -> Principal:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()
    if row is None or row.revoked:
        raise Unauthorized("invalid or revoked token")
    assert row.id is not None
    return Principal(
        token_id=row.id,
        role=cast(Role, row.role),
        store_ids=frozenset(row.store_ids),
        screen_id=row.screen_id,
    )
