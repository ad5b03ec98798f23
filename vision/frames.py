"""A ring of shared-memory frame slots joining the pipeline's processes.

Each frame is written once by its camera's capture process into a free slot; queues carry only a
small :class:`FrameRef` (slot index + sequence number), and every stage maps the same pixels as a
numpy view. A slot carries a reader count set at write time; each stage releases it when done and the
slot is free again when the count reaches zero ("released when all are done").

The segment lives in ``/dev/shm`` (RAM-backed tmpfs), never on disk, and is unlinked when the
supervisor stops. Two sharp edges, both handled here:

* **Page rounding.** The kernel (and macOS in particular) rounds a segment up to whole pages, so
  ``SharedMemory.size`` can exceed what was asked for. All offsets come from :class:`RingSpec`, never
  from ``shm.size``; a reader attaching by name must not infer the layout from the segment length.
* **The resource tracker.** Before Python 3.13, *attaching* to a segment registers it with the
  resource tracker as if the process owned it; the tracker then unlinks it (or warns of a "leak")
  when that process exits, pulling the pixels from under the other stages. Attaching processes
  therefore skip registration; only the creating supervisor owns — and unlinks — the segment.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from multiprocessing import resource_tracker, shared_memory
from typing import Any

import numpy as np

FREE, WRITING = 0, -1
HEADER = np.dtype(
    [("readers", np.int32), ("height", np.int32), ("width", np.int32), ("pad", np.int32), ("seq", np.int64)]
)


@dataclass(frozen=True, slots=True)
class RingSpec:
    """The layout, shared with every process so none infers it from the (page-rounded) segment."""

    name: str
    slots: int
    max_height: int
    max_width: int

    @property
    def slot_bytes(self) -> int:
        return self.max_height * self.max_width * 3

    @property
    def header_bytes(self) -> int:
        return -(-self.slots * HEADER.itemsize // 64) * 64

    @property
    def total_bytes(self) -> int:
        return self.header_bytes + self.slots * self.slot_bytes


@dataclass(frozen=True, slots=True)
class FrameRef:
    """What travels on the queues instead of pixels."""

    slot: int
    seq: int
    camera: int
    stream_ts: float
    captured_at: float  # time.monotonic(), system-wide on Linux, for latency


def _attach(name: str) -> shared_memory.SharedMemory:
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)  # type: ignore[call-arg]
    register = resource_tracker.register
    resource_tracker.register = lambda *args, **kwargs: None
    try:
        return shared_memory.SharedMemory(name=name)
    finally:
        resource_tracker.register = register


class FrameRing:
    """Fixed slots of ``max_height × max_width × 3`` bytes plus a header row per slot.

    Create it once in the supervisor with :meth:`create`, hand :attr:`handle` to child processes and
    :meth:`attach` there. ``lock`` (a ``multiprocessing.Lock``) guards header updates only; pixels are
    copied outside it into a slot marked ``WRITING`` that no reader can see yet.
    """

    def __init__(self, spec: RingSpec, lock: Any, shm: shared_memory.SharedMemory, owner: bool) -> None:
        self.spec, self.lock, self.shm, self.owner = spec, lock, shm, owner
        self.header = np.ndarray((spec.slots,), HEADER, shm.buf, 0)
        self.pixels = np.ndarray((spec.slots, spec.slot_bytes), np.uint8, shm.buf, spec.header_bytes)
        self._next = 0
        self._seq = 0

    @classmethod
    def create(cls, slots: int, max_height: int, max_width: int, lock: Any) -> FrameRing:
        probe = RingSpec("", slots, max_height, max_width)
        shm = shared_memory.SharedMemory(create=True, size=probe.total_bytes)
        ring = cls(RingSpec(shm.name, slots, max_height, max_width), lock, shm, owner=True)
        ring.header[:] = 0
        return ring

    @classmethod
    def attach(cls, spec: RingSpec, lock: Any) -> FrameRing:
        return cls(spec, lock, _attach(spec.name), owner=False)

    @property
    def handle(self) -> tuple[RingSpec, Any]:
        return self.spec, self.lock

    def reserve(self) -> int | None:
        """A free slot now marked ``WRITING``, or ``None`` when every slot is in use (back-pressure)."""
        with self.lock:
            for step in range(self.spec.slots):
                slot = (self._next + step) % self.spec.slots
                if self.header["readers"][slot] == FREE:
                    self.header["readers"][slot] = WRITING
                    self._next = slot + 1
                    return slot
        return None

    def write(
        self, slot: int, frame: np.ndarray, readers: int, camera: int, stream_ts: float, captured_at: float
    ) -> FrameRef:
        """Copy ``frame`` (BGR uint8, within the slot size) into a reserved slot and publish it."""
        h, w = frame.shape[:2]
        if h > self.spec.max_height or w > self.spec.max_width or frame.ndim != 3:
            self.discard(slot)
            raise ValueError(f"frame {w}×{h} does not fit a {self.spec.max_width}×{self.spec.max_height} slot")
        self.pixels[slot, : h * w * 3].reshape(h, w, 3)[:] = frame
        self._seq += 1
        seq = (camera << 40) | self._seq  # unique per writer without cross-process coordination
        with self.lock:
            row = self.header[slot]
            row["height"], row["width"], row["seq"], row["readers"] = h, w, seq, readers
        return FrameRef(slot, seq, camera, stream_ts, captured_at)

    def view(self, ref: FrameRef) -> np.ndarray | None:
        """Read-only pixels of ``ref``, or ``None`` if its slot has since been recycled."""
        row = self.header[ref.slot]
        if row["seq"] != ref.seq or row["readers"] <= 0:
            return None
        h, w = int(row["height"]), int(row["width"])
        frame = self.pixels[ref.slot, : h * w * 3].reshape(h, w, 3)
        frame.flags.writeable = False
        return frame

    def release(self, ref: FrameRef) -> bool:
        """One reader is done; True when that was the last one and the slot is free."""
        with self.lock:
            row = self.header[ref.slot]
            if row["seq"] != ref.seq or row["readers"] <= 0:
                return False
            row["readers"] -= 1
            return bool(row["readers"] == FREE)

    def discard(self, slot: int, seq: int | None = None) -> None:
        """Free a slot no stage will read (a dropped frame or a failed write)."""
        with self.lock:
            if seq is None or self.header["seq"][slot] == seq:
                self.header["readers"][slot] = FREE

    def free_slots(self) -> int:
        with self.lock:
            return int((self.header["readers"] == FREE).sum())

    def close(self) -> None:
        """Drop this process's mapping; the owner also zeroes the pixels and unlinks the segment."""
        if self.owner:
            self.pixels.fill(0)
        del self.header, self.pixels
        try:
            self.shm.close()
        except BufferError:  # a caller still holds a view; the mapping goes with the process
            return
        if self.owner:
            self.shm.unlink()
