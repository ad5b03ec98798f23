"""The background consumer that turns streamed events into live counters.

Each worker runs one consumer in the same consumer group, so with Redis every event is applied
exactly once across workers; events are acknowledged only after their counters were written, and
a failed write leaves them pending for redelivery.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence

from screens.bus import Bus
from screens.bus.base import Event, LiveStateUnavailable

log = logging.getLogger(__name__)
GROUP = "live-counters"

Apply = Callable[[Sequence[Event]], None]


class EventConsumer:
    def __init__(self, bus: Bus, apply: Apply, *, batch: int = 500) -> None:
        self._bus, self._apply, self._batch = bus, apply, batch
        self._name = f"{socket.gethostname()}-{os.getpid()}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vitrine-consumer", daemon=True)
        self.applied = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        stream = self._bus.events
        while not self._stop.is_set():
            messages = stream.read(GROUP, self._name, count=self._batch, block_ms=200)
            if not messages:
                continue
            try:
                self._apply([event for _, event in messages])
            except LiveStateUnavailable:
                stream.retry_unacked(GROUP, self._name)
                continue
            except Exception:
                log.exception("applying %d events failed; they stay pending", len(messages))
                stream.retry_unacked(GROUP, self._name)
                self._stop.wait(1.0)
                continue
            stream.ack(GROUP, [mid for mid, _ in messages])
            self.applied += len(messages)
