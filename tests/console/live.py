"""The real app on a free port (uvicorn in a thread, SQLite file) and a headless Chromium for it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn
from sqlmodel import Session

from screens.app import create_app
from screens.auth import Role, create_token
from screens.db.session import make_engine, upgrade
from screens.settings import Settings
from screens.tools.launcher import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


class LiveServer:
    def __init__(self, folder: Path, k_anonymity: int) -> None:
        self.database_url = f"sqlite:///{folder}/console.db"
        upgrade(self.database_url)
        settings = Settings(database_url=self.database_url, k_anonymity=k_anonymity, log_level="WARNING")
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings), host="127.0.0.1", port=self.port, log_level="warning", access_log=False
            )
        )
        self.thread = threading.Thread(target=self.server.run, name="console-live-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the console test server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def token(self, role: Role, **scope: object) -> str:
        engine = make_engine(self.database_url)
        with Session(engine) as session:
            token = create_token(session, role, **scope)  # type: ignore[arg-type]
            session.commit()
        engine.dispose()
        return token
