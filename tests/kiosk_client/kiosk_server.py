"""A real HTTP server process that the kiosk SDK tests can SIGKILL and restart.

The server is ``fake_service.py`` under uvicorn until the real service exists (see its docstring);
switching means changing the uvicorn target in :class:`ServerProcess` only.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """uvicorn serving the fake service on a fixed port and SQLite file across restarts."""

    def __init__(self, db_path: Path, log_path: Path) -> None:
        self.db_path, self.log_path = db_path, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, slow_ack_s: float = 0.0, whole_batch_422: bool = False) -> None:
        env = os.environ | {
            "FAKE_SERVICE_DB": str(self.db_path),
            "FAKE_SERVICE_TOKEN": TOKEN,
            "FAKE_SERVICE_SLOW_ACK_S": str(slow_ack_s),
        }
        if whole_batch_422:
            env["FAKE_SERVICE_WHOLE_BATCH_422"] = "1"
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "fake_service:create_app",
            "--factory",
            "--app-dir",
            str(HERE),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fake service exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("fake service did not come up within 30 s")

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, no flushing of anything — a pulled plug."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql).fetchall()
