"""Dynamic batching with a latency bound.

Inference cost per item falls steeply with batch size on a GPU (see ``docs/vision.md``), but a frame
must not wait for a full batch while cameras are quiet. ``gather`` returns as soon as ``max_batch``
items are in hand or ``max_latency_s`` has passed since the *first* item arrived — whichever comes
first — so the added latency is bounded whatever the load.
"""

from __future__ import annotations

import queue
import time
from typing import Any, Final, Protocol

STOP: Final = "__stop__"


class _Queue(Protocol):
    def get(self, block: bool = True, timeout: float | None = None) -> Any: ...


def gather(source: _Queue, max_batch: int, max_latency_s: float, idle_timeout_s: float = 0.2) -> tuple[list[Any], bool]:
    """(batch, stopped). An empty batch means nothing arrived within ``idle_timeout_s``."""
    try:
        first = source.get(timeout=idle_timeout_s)
    except queue.Empty:
        return [], False
    if first == STOP:
        return [], True
    batch = [first]
    deadline = time.monotonic() + max_latency_s
    while len(batch) < max_batch:
        remaining = deadline - time.monotonic()
        try:
            item = source.get(timeout=remaining) if remaining > 0 else source.get(block=False)
        except queue.Empty:
            break
        if item == STOP:
            return batch, True
        batch.append(item)
    return batch, False
