"""The real Vitrine service for the kiosk SDK tests: ``vitrine serve`` in a process we can SIGKILL.

The service runs on a SQLite file holding the small demo mall (stores, screens, one device token per
screen), so the SDK is tested against the real ``/v1/events`` dedupe, auth and routes. Two helpers
stand in for what a real service cannot be made to do on purpose:

* :class:`LossyProxy` loses the service's answers on the way back (flaky Wi-Fi): the service has
  committed a batch, the kiosk never hears so — the window in which a crash must not double-count;
* :func:`strict_batch_handler` is an ``httpx.MockTransport`` handler that refuses a *whole* batch
  with 422 when one event is bad (as a strict proxy or an older service would). The real service
  answers per event, so the SDK's bisection can only be exercised against a stand-in.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx

from screens.tools.launcher import ServiceProcess, free_port

REPO = Path(__file__).resolve().parents[2]
LEAD_IN = "lead-f1-atrium"
MIRROR = "mirror-s003-1"


class RealService:
    """``vitrine serve`` on its own copy of the demo database, on one port across restarts."""

    def __init__(self, demo_db: Path, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.db_path = workdir / "vitrine.db"
        shutil.copy(demo_db, self.db_path)
        self.tokens: dict[str, Any] = json.loads((demo_db.parent / "tokens.json").read_text())
        env = {
            "VITRINE_DATABASE_URL": f"sqlite:///{self.db_path}",
            "VITRINE_MODEL_DIR": str(workdir / "models"),
            "VITRINE_LOG_LEVEL": "WARNING",
            "VITRINE_REDIS_URL": "",
        }
        self.process = ServiceProcess(env, cwd=REPO)
        self.url = self.process.url
        self.port = self.process.port

    def token(self, screen_id: str) -> str:
        return str(self.tokens["devices"][screen_id])

    @property
    def ops(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['ops']}"}

    def start(self) -> None:
        self.process.start(timeout=60)

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no flushing of anything — a pulled plug."""
        proc = self.process.proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.process.proc = None

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return conn.execute(sql, params).fetchall()

    def has_route(self, path: str) -> bool:
        return path in httpx.get(self.url + "/openapi.json", timeout=10).json()["paths"]


class LossyProxy:
    """A TCP proxy to ``127.0.0.1:upstream_port`` that drops every answer while ``losing`` is set."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port, self.port = upstream_port, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.losing = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
        self._pump(upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while data := source.recv(65536):
                if answers and self.losing.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._listener.close()


def strict_batch_handler(stored: list[str]) -> Any:
    """MockTransport handler: 422 for a batch holding any unknown gender, else accept all of it."""

    def handle(request: httpx.Request) -> httpx.Response:
        events = json.loads(request.content)["events"]
        bad = [
            i
            for i, e in enumerate(events)
            if any(f["gender"] not in ("female", "male", "unknown") for f in e.get("faces", []))
        ]
        if bad:
            return httpx.Response(422, json={"detail": f"events {bad} are invalid"})
        fresh = [e["event_id"] for e in events if e["event_id"] not in stored]
        stored.extend(fresh)
        return httpx.Response(
            200, json={"accepted": len(fresh), "duplicates": len(events) - len(fresh), "rejected": 0, "errors": []}
        )

    return handle
