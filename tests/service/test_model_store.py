"""One model store for every kind: loads on its own thread, swaps on announcement or by itself, keeps
the old model when a version is broken, and never loads on the caller's thread (issue 10)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from screens.bus.memory import MemoryConfigChannel
from screens.services.model_pointers import make_current
from screens.services.model_store import ModelStore
from tests.builders import wait_for

KIND = "toy"


class TextModels:
    """Real files on disk: a version's model is its text; records which thread read it."""

    def __init__(self, model_dir: Path) -> None:
        self.folder = model_dir / KIND
        self.folder.mkdir(parents=True)
        self.threads: list[str] = []

    def write(self, version: str, text: str | None = None) -> None:
        if text is not None:
            (self.folder / f"{version}.txt").write_text(text)

    def load(self, version: str) -> str | None:
        self.threads.append(threading.current_thread().name)
        path = self.folder / f"{version}.txt"
        return path.read_text() if path.exists() else None


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = MemoryConfigChannel()
    models = TextModels(tmp_path)
    models.write("v1", "first")
    make_current(tmp_path, KIND, "v1", None)
    store = ModelStore(tmp_path, config, check_s=0.05)
    yield store, models, config
    store.stop()


def test_the_version_in_force_is_loaded_at_registration_and_reported(store) -> None:  # type: ignore[no-untyped-def]
    models_store, models, _ = store
    slot = models_store.register(KIND, models.load)
    assert slot.current() == "first" and models_store.status() == {KIND: "v1"}


def test_an_announced_version_is_loaded_on_the_store_thread_and_adopted(store) -> None:  # type: ignore[no-untyped-def]
    models_store, models, config = store
    adopted: list[tuple[str, str]] = []
    slot = models_store.register(KIND, models.load, lambda m, v: adopted.append((m, v)))
    models_store.start()
    models.write("v2", "second")
    make_current(models_store.model_dir, KIND, "v2", config)
    models_store.settle()
    assert slot.current() == "second" and adopted == [("second", "v2")]
    assert models.threads[-1] == "model-store", "loads never run on the caller's thread"


def test_without_an_announcement_the_pointer_is_noticed_by_the_store_itself(store) -> None:  # type: ignore[no-untyped-def]
    models_store, models, _ = store
    slot = models_store.register(KIND, models.load)
    models_store.start()
    models.write("v3", "third")
    make_current(models_store.model_dir, KIND, "v3", None)  # no Redis: nobody is told
    wait_for(lambda: slot.current() == "third", timeout=5)
    assert models_store.status() == {KIND: "v3"}


def test_a_broken_version_keeps_the_old_model(store) -> None:  # type: ignore[no-untyped-def]
    models_store, models, config = store
    slot = models_store.register(KIND, models.load)
    models_store.start()
    make_current(models_store.model_dir, KIND, "v-missing", config)  # pointer without its file
    models_store.settle()
    assert slot.current() == "first" and models_store.status() == {KIND: "v1"}
    models.write("v-missing", "late but whole")
    config.publish("models", {"kind": KIND, "version": "v-missing"})  # announced again: retried
    models_store.settle()
    assert slot.current() == "late but whole"
