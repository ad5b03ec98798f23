"""Fixtures for the kiosk SDK tests (helpers live in ``kiosk_server.py``, importable by name)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kiosk_server import RealService

from screens.db.session import upgrade
from screens.tools.demo_mall import load_demo_mall


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small demo mall in a SQLite file (with ``tokens.json`` beside it), loaded once per run."""
    folder = tmp_path_factory.mktemp("demo-mall")
    upgrade(f"sqlite:///{folder}/vitrine.db")
    load_demo_mall(f"sqlite:///{folder}/vitrine.db", "small", folder / "tokens.json")
    return folder / "vitrine.db"


@pytest.fixture(scope="session")
def shared_service(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealService]:
    """One running service for the tests that never stop it (starting one costs seconds)."""
    service = RealService(demo_db, tmp_path_factory.mktemp("shared-service"))
    service.start()
    yield service
    service.kill()


@pytest.fixture
def server(demo_db: Path, tmp_path: Path) -> Iterator[RealService]:
    """A service of this test's own, not yet started: the test may start, kill and restart it."""
    service = RealService(demo_db, tmp_path / "service")
    try:
        yield service
    finally:
        service.kill()


@pytest.fixture(autouse=True)
def empty_model_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Edge mode's defaults come from ``VITRINE_MODEL_DIR``: empty here (the Haar fallback) unless a
    test installs the default set, so a developer's var/models does not change what tests see."""
    folder = tmp_path_factory.mktemp("no-models")
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(folder))
    return folder
