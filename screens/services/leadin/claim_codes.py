"""Signed coupon claim codes: what the QR code on a lead-in screen points at (``/c/{code}``).

A code names a coupon, the screen that showed it, when it was issued and a random nonce, and carries
an HMAC-SHA256 of all four under the server's ``secret_key``. Without the key nobody can mint a code
for an arbitrary coupon or screen; the issue time lets old codes expire, and the nonce makes every
rendering's code different, so a photographed QR code stops working after :data:`CODE_TTL_S`.

The claim's ``event_id`` is derived from the code and an anonymous per-phone cookie
(:func:`claim_event_id`): a phone reloading the claim page counts once, two phones scanning the same
code count twice, and the cookie itself is never stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Final

CODE_TTL_S: Final = 24 * 3600.0
_SIG_BYTES: Final = 12
_CLAIM_NAMESPACE: Final = uuid.UUID("6f1d8c57-2a0e-4a63-9a55-3c1b8e2f7d10")


class InvalidClaimCode(ValueError):
    """The code was not made by this service, was altered, or has expired."""


@dataclass(frozen=True)
class ClaimCode:
    coupon_id: str
    screen_id: str
    issued_at: int
    nonce: str


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_SIG_BYTES]


def make_code(secret: str, coupon_id: str, screen_id: str, now: float | None = None) -> str:
    """A fresh URL-safe code for ``coupon_id`` shown on ``screen_id`` (ids never contain ``|``)."""
    issued = int(now if now is not None else time.time())
    payload = f"{coupon_id}|{screen_id}|{issued:x}|{secrets.token_urlsafe(6)}".encode()
    return f"{_b64(payload)}.{_b64(_sign(secret, payload))}"


def read_code(secret: str, code: str, now: float | None = None) -> ClaimCode:
    """Check the signature and age of ``code``; raise :class:`InvalidClaimCode` otherwise."""
    try:
        payload_b64, sig_b64 = code.split(".")
        payload = _unb64(payload_b64)
        good = hmac.compare_digest(_unb64(sig_b64), _sign(secret, payload))
        coupon_id, screen_id, issued_hex, nonce = payload.decode().split("|")
        issued = int(issued_hex, 16)
    except ValueError as exc:  # also binascii.Error and UnicodeDecodeError
        raise InvalidClaimCode("malformed claim code") from exc
    if not good:
        raise InvalidClaimCode("claim code signature does not match")
    if (now if now is not None else time.time()) - issued > CODE_TTL_S:
        raise InvalidClaimCode("claim code has expired")
    return ClaimCode(coupon_id, screen_id, issued, nonce)


def claim_event_id(code: str, phone_cookie: str) -> str:
    """The same phone and code always give the same ``event_id`` (the service dedupes on it)."""
    return str(uuid.uuid5(_CLAIM_NAMESPACE, f"{code}/{phone_cookie}"))
