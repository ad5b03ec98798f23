"""The one exception tree of the SDK, and the one place httpx errors are translated into it.

Callers decide what to do from the class alone::

    KioskError
    ├── ServerUnavailable   network down, timeout, 5xx, 429: try again later (events stay queued)
    ├── AuthError           401/403: the device token is wrong or revoked; retrying will not help
    ├── RejectedError       another 4xx: the request itself is wrong; retrying will not help
    └── ProtocolError       a 2xx whose body is not what the API contract says

Like httpx's own tree, this keeps transport details (sockets, h11, TLS) out of kiosk code.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx


class KioskError(Exception):
    """Base class of every error the SDK raises on purpose."""


class ServerUnavailable(KioskError):
    """The service could not be reached or asked us to come back later; safe to retry.

    ``retry_after`` carries the server's ``Retry-After`` hint in seconds, when it sent one.
    """

    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after


class AuthError(KioskError):
    """The device token was refused (401/403). Needs an operator, not a retry."""

    def __init__(self, message: str, *, status_code: int):
        super().__init__(message)
        self.status_code = status_code


class RejectedError(KioskError):
    """The service refused the request as malformed or not allowed (4xx other than auth)."""

    def __init__(self, message: str, *, status_code: int, detail: Any = None):
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class ProtocolError(KioskError):
    """A successful response did not match the API contract (wrong shape, not JSON)."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    return body.get("detail", body) if isinstance(body, dict) else body


def raise_for_status(response: httpx.Response) -> None:
    """Raise the matching :class:`KioskError` for a non-2xx response."""
    status = response.status_code
    if status < 400:
        return
    where = f"{response.request.method} {response.request.url.path}"
    if status in (401, 403):
        raise AuthError(f"{where}: device token refused ({status})", status_code=status)
    if status == 429 or status >= 500:
        raise ServerUnavailable(
            f"{where}: service answered {status}", status_code=status, retry_after=_retry_after(response)
        )
    detail = _detail(response)
    raise RejectedError(f"{where}: rejected with {status}: {detail}", status_code=status, detail=detail)


@contextmanager
def translate_httpx_errors() -> Iterator[None]:
    """Map httpx transport errors onto :class:`ServerUnavailable` (the only place that does)."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ServerUnavailable(f"timed out talking to the service: {exc!r}") from exc
    except httpx.TransportError as exc:
        raise ServerUnavailable(f"cannot reach the service: {exc!r}") from exc


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or :class:`ProtocolError`."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ProtocolError(f"{response.request.url.path}: response is not JSON") from exc
    if not isinstance(body, dict):
        raise ProtocolError(f"{response.request.url.path}: expected a JSON object, got {type(body).__name__}")
    return body
