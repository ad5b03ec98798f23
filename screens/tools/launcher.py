"""Run ``vitrine serve`` as a separate process: used by benchmarks, the demo and tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """`vitrine serve` in a subprocess, for tests that need real worker processes or restarts."""

    def __init__(
        self, env: dict[str, str], workers: int = 1, cwd: Path | None = None, log_path: Path | None = None
    ) -> None:
        self.port, self.workers, self.cwd = free_port(), workers, cwd
        self.env = os.environ | env
        self.proc: subprocess.Popen[bytes] | None = None
        # The service's logs go to a file, never to an unread pipe (a full pipe would stall it).
        self.log_path = log_path or Path(tempfile.mkstemp(prefix="vitrine-serve-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "screens.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited: {self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("service did not start")

    def stop(self, kill: bool = False) -> None:
        if self.proc:
            (self.proc.kill if kill else self.proc.terminate)()
            self.proc.wait(timeout=15)
            self.proc = None
