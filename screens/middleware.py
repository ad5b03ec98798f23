"""Two pure-ASGI middlewares: security headers on every answer, and a clean 500 for a crash.

Pure ASGI rather than ``BaseHTTPMiddleware``: they wrap the ``send`` callable only, so streamed
answers (the screens' live feed) pass through untouched.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

# No inline script anywhere (every page loads its scripts from /console/static or /screens/static);
# inline *styles* stay allowed for Swagger UI and ECharts, which set element styles as they render.
# Images: data: for the QR codes, https: for catalog image URLs. Nobody may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP answer (JSON too: a sniffed JSON body is a page)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class UnhandledErrors:
    """Answer an unexpected exception with a JSON 500 and keep the connection usable.

    Starlette's outermost error middleware sends its 500 and then re-raises, and uvicorn closes a
    connection whose application raised, so the client's next request on that keep-alive
    connection was dropped (issue 13). Here the exception is logged and swallowed once the 500 is
    sent; when the answer had already started there is nothing to send, and it is re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            route = getattr(scope.get("route"), "path", "unmatched")  # the template: no ids, no query
            log.exception("unhandled error", extra={"fields": {"method": scope.get("method"), "route": route}})
            body = json.dumps({"detail": "internal error; it has been logged"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
