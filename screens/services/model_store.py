"""One store for every model kind a worker serves (coupon ranking, mirror): loaded off the request
thread, swapped whole, reported by ``/readyz``.

Versions reach a worker as :mod:`screens.services.model_pointers` describes: the trainer writes the
files, swaps ``{kind}/CURRENT`` and announces ``{"kind", "version"}`` on the ``models`` channel. One
background thread (``model-store``) does every load: an announcement wakes it at once, and without
Redis (no announcement crosses processes) it re-reads the pointers every :data:`POINTER_CHECK_S`.
Requests only read a slot's reference (:meth:`ModelSlot.current`), so they see the old model or the
new one, never a mix, and never wait for a load. A version that fails to load is logged once and
retried only when it is announced again; the slot keeps serving the previous model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from screens.bus import ConfigChannel
from screens.services.model_pointers import CHANNEL, POINTER_CHECK_S, current_version

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class ModelSlot(Generic[T]):
    """The model of one kind in force in this worker; ``adopt`` hears of each later swap."""

    kind: str
    load: Callable[[str], T | None]
    """``version → model``; None (or an ``OSError``/``ValueError``) when the files are not usable."""
    adopt: Callable[[T, str], None] | None = None
    model: T | None = None
    version: str | None = None
    failed_version: str | None = field(default=None, repr=False)

    def current(self) -> T | None:
        """The model to serve with; never loads (the store's thread does)."""
        return self.model

    def _try(self, version: str) -> bool:
        try:
            model = self.load(version)
        except (OSError, ValueError) as exc:
            model, reason = None, str(exc)
        else:
            reason = "its files are incomplete"
        if model is None:
            self.failed_version = version
            log.error("could not load %s model %s, keeping %s: %s", self.kind, version, self.version, reason)
            return False
        self.model, self.version = model, version  # readers see the old or the new model
        log.info("%s model %s in force", self.kind, version)
        return True


class ModelStore:
    """Every :class:`ModelSlot` of this worker and the thread that keeps them current."""

    def __init__(self, model_dir: Path, config: ConfigChannel, check_s: float = POINTER_CHECK_S) -> None:
        self.model_dir, self.check_s = model_dir, check_s
        self._slots: dict[str, ModelSlot[Any]] = {}
        self._wake, self._stopped = threading.Event(), threading.Event()
        self._passes = threading.Condition()
        self._started, self._finished = 0, 0
        self._thread: threading.Thread | None = None
        config.subscribe(CHANNEL, self._on_message)

    def register(
        self, kind: str, load: Callable[[str], T | None], adopt: Callable[[T, str], None] | None = None
    ) -> ModelSlot[T]:
        """Add a kind and load its current version now (start-up, before any request)."""
        slot: ModelSlot[T] = ModelSlot(kind, load, adopt)
        version = current_version(self.model_dir, kind)
        if version is not None:
            slot._try(version)
        self._slots[kind] = slot
        return slot

    def status(self) -> dict[str, str | None]:
        """``{kind: version in force}`` for ``/readyz``."""
        return {kind: slot.version for kind, slot in self._slots.items()}

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="model-store", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def settle(self, timeout: float = 30.0) -> None:
        """Return once a pass over every pointer that began after this call is done (tests, benchmarks)."""
        with self._passes:
            target = self._started + 1
            self._wake.set()
            self._passes.wait_for(lambda: self._finished >= target or self._stopped.is_set(), timeout)

    def _on_message(self, message: dict[str, Any]) -> None:
        slot = self._slots.get(str(message.get("kind")))
        if slot is not None:
            slot.failed_version = None  # announced again: worth another try
        elif message.get("reconnected"):
            for each in self._slots.values():
                each.failed_version = None
        self._wake.set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._passes:
                self._wake.clear()
                self._started += 1
            for slot in list(self._slots.values()):
                self._refresh(slot)
            with self._passes:
                self._finished += 1
                self._passes.notify_all()
            self._wake.wait(self.check_s)

    def _refresh(self, slot: ModelSlot[Any]) -> None:
        version = current_version(self.model_dir, slot.kind)
        if version is None or version in (slot.version, slot.failed_version):
            return
        if slot._try(version) and slot.adopt is not None:
            try:
                slot.adopt(slot.model, version)
            except Exception:
                log.exception("adopting %s model %s failed", slot.kind, version)
