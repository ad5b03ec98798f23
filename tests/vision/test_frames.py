"""The shared-memory ring: written once, read by every stage, freed when all are done."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from vision.batching import STOP, gather
from vision.frames import FrameRing


def frame(value: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


@pytest.fixture
def ring():
    ring = FrameRing.create(3, 72, 128, mp.get_context("spawn").Lock())
    yield ring
    ring.close()


def _child_reads(handle, ref, out) -> None:
    ring = FrameRing.attach(*handle)
    view = ring.view(ref)
    out.put(None if view is None else (view.shape, int(view[0, 0, 0])))
    del view
    ring.release(ref)
    ring.close()


def test_a_frame_written_once_is_read_in_another_process(ring: FrameRing) -> None:
    ctx = mp.get_context("spawn")
    slot = ring.reserve()
    ref = ring.write(slot, frame(7), readers=1, camera=0, stream_ts=0.0, captured_at=0.0)
    out = ctx.Queue()
    child = ctx.Process(target=_child_reads, args=(ring.handle, ref, out))
    child.start()
    assert out.get(timeout=30) == ((48, 64, 3), 7)
    child.join(10)
    assert child.exitcode == 0 and ring.free_slots() == 3  # the child released it; still mapped here
    assert Path("/dev/shm", ring.spec.name).exists()  # a reader exiting must not unlink the owner's segment


def test_slot_is_free_only_when_every_reader_released(ring: FrameRing) -> None:
    ref = ring.write(ring.reserve(), frame(1), readers=2, camera=0, stream_ts=0.0, captured_at=0.0)
    assert ring.free_slots() == 2
    assert ring.release(ref) is False and ring.view(ref) is not None
    assert ring.release(ref) is True and ring.free_slots() == 3
    assert ring.view(ref) is None and ring.release(ref) is False


def test_full_ring_refuses_and_a_recycled_slot_is_not_read_as_the_old_frame(ring: FrameRing) -> None:
    refs = [ring.write(ring.reserve(), frame(i), 1, 0, 0.0, 0.0) for i in range(3)]
    assert ring.reserve() is None
    ring.discard(refs[0].slot, refs[0].seq)  # dropped as the oldest
    newer = ring.write(ring.reserve(), frame(9), 1, 0, 0.0, 0.0)
    assert newer.slot == refs[0].slot and ring.view(refs[0]) is None and ring.view(newer)[0, 0, 0] == 9


def test_oversized_frames_are_refused(ring: FrameRing) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        ring.write(ring.reserve(), frame(1, 720, 1280), 1, 0, 0.0, 0.0)
    assert ring.free_slots() == 3


def test_views_are_read_only(ring: FrameRing) -> None:
    ref = ring.write(ring.reserve(), frame(3), 1, 0, 0.0, 0.0)
    with pytest.raises(ValueError):
        ring.view(ref)[0, 0, 0] = 1


def test_closing_the_owner_unlinks_the_segment() -> None:
    ring = FrameRing.create(2, 32, 32, mp.get_context("spawn").Lock())
    name = ring.spec.name
    ring.close()
    assert not Path("/dev/shm", name).exists()


def test_gather_returns_at_max_batch_or_latency_bound() -> None:
    import queue
    import time

    q: queue.Queue = queue.Queue()
    for i in range(5):
        q.put(i)
    assert gather(q, 3, 1.0) == ([0, 1, 2], False)
    started = time.monotonic()
    assert gather(q, 10, 0.05) == ([3, 4], False)
    assert time.monotonic() - started < 0.5
    q.put(5)
    q.put(STOP)
    assert gather(q, 10, 0.05) == ([5], True)
    assert gather(q, 10, 0.01, idle_timeout_s=0.01) == ([], False)
