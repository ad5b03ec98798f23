"""The real app under uvicorn in a thread of the test process, on a freshly loaded small demo mall.

Faster than a subprocess (the test process has already paid for the imports) and it exposes the
app's runtime, so tests can compare live counters with what was sent. Tests that must SIGKILL the
service use :class:`screens.tools.launcher.ServiceProcess` instead.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from screens.app import create_app
from screens.db.session import upgrade
from screens.runtime import Runtime
from screens.settings import Settings
from screens.tools.demo_mall import load_demo_mall
from screens.tools.launcher import free_port


class DemoService:
    def __init__(self, workdir: Path, **overrides: Any) -> None:
        self.database_url = f"sqlite:///{workdir}/vitrine.db"
        upgrade(self.database_url)
        self.tokens_path = workdir / "tokens.json"
        self.media_dir = workdir / "media"
        load_demo_mall(self.database_url, "small", self.tokens_path, media_dir=self.media_dir)
        self.tokens: dict[str, Any] = json.loads(self.tokens_path.read_text())
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(
            database_url=self.database_url,
            model_dir=workdir / "models",
            media_dir=self.media_dir,
            log_json=True,
            **({"public_url": self.url} | overrides),
        )
        self.app: FastAPI | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def device(self, screen_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['devices'][screen_id]}"}

    @property
    def runtime(self) -> Runtime:
        assert self.app is not None
        runtime: Runtime = self.app.state.runtime
        return runtime

    def start(self) -> None:
        self.app = create_app(self.settings)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="demo-service", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "service did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(15)
            self._server = self._thread = None

    def post_events(self, screen_id: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        response = httpx.post(f"{self.url}/v1/events", json={"events": events}, headers=self.device(screen_id))
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    def event_counts(self) -> dict[str, int]:
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type, COUNT(*) FROM event_log GROUP BY type")).all()
        engine.dispose()
        return {kind: n for kind, n in rows}

    def payloads(self, event_type: str, screen_id: str | None = None) -> list[dict[str, Any]]:
        """The logged payloads of one event type (of one screen), oldest first."""
        query = "SELECT payload FROM event_log WHERE type = :type AND (:screen IS NULL OR screen_id = :screen)"
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            rows = conn.execute(text(query + " ORDER BY ts"), {"type": event_type, "screen": screen_id}).all()
        engine.dispose()
        return [json.loads(p) if isinstance(p, str) else p for (p,) in rows]
