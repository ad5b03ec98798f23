"""Fixtures for the kiosk SDK tests (helpers live in ``kiosk_server.py``, importable by name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_server import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "service.sqlite3", tmp_path / "service.log")
    try:
        yield proc
    finally:
        proc.kill()
