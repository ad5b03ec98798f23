"""Issue 13, row 13: after a 500 the same keep-alive connection still serves the next request."""

from __future__ import annotations

import http.client
import threading
import time

import uvicorn

from screens.app import create_app
from screens.settings import Settings
from screens.tools.launcher import free_port
from tests.conftest import make_settings


def _serve(settings: Settings) -> tuple[uvicorn.Server, threading.Thread, int]:
    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError("a bug, not bad input")

    app.add_api_route("/boom", boom)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    return server, thread, port


def test_the_connection_survives_a_500(sqlite_url: str) -> None:
    server, thread, port = _serve(make_settings(sqlite_url))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/boom")
        first = conn.getresponse()
        body = first.read()
        assert first.status == 500 and b"internal error" in body
        assert first.getheader("content-type") == "application/json"
        assert first.getheader("x-content-type-options") == "nosniff"
        sock = conn.sock
        conn.request("GET", "/healthz")
        second = conn.getresponse()
        assert second.status == 200 and second.read() == b'{"status":"ok"}'
        assert conn.sock is sock, "the second request went over the same connection"
        conn.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
