"""Entry points of the pipeline's processes: one per camera, one detector, one attribute stage.

Each is a top-level function so the ``spawn`` start method can import it; each builds its own ONNX
Runtime session after the process starts (sessions and CUDA contexts do not survive ``fork``).
Only :class:`~vision.frames.FrameRef`, detections and anonymous results cross the queues.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import cv2

from vision.attributes import UNKNOWN_ATTRIBUTES, build_attributes
from vision.batching import STOP, gather
from vision.config import CameraConfig, VisionConfig
from vision.detectors import build_detector
from vision.frames import FrameRef, FrameRing, RingSpec
from vision.runtime import choose_providers
from vision.sources import fit, read_frames
from vision.tracking import Observation

log = logging.getLogger(__name__)
READERS = 2  # the detector and the attribute stage both read every frame


@dataclass(frozen=True, slots=True)
class FrameResult:
    camera: int
    stream_ts: float
    captured_at: float
    observations: list[Observation]


def _setup_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(processName)s %(levelname)s %(message)s")


def capture_main(
    ring_handle: tuple[RingSpec, Any],
    camera_index: int,
    camera: CameraConfig,
    detect_q: Any,
    drops: Any,
    max_frames: int | None,
    stop: Any,
    log_level: int,
    detect_every: int = 1,
) -> None:
    """Read one source into the ring; when every slot is busy, drop the oldest queued frame.

    With ``detect_every`` n > 1 only every n-th frame enters the ring: the stream is still decoded
    (a video stream must be), but the frames between detections cost no copy, no queue hop and no
    inference. The tracker carries each face across the gap (it forgets a face only after
    ``forget_after_s`` without a detection), so counts, dwell and attention stay right while the
    detector, the dominant cost on a CPU, runs n times less often. Camera i detects frames i, i + n,
    …, so the cameras take turns and the detector sees an even load rather than every camera's
    frame at the same instant (a burst that would queue behind itself).
    """
    _setup_logging(log_level)
    cv2.setNumThreads(1)
    ring = FrameRing.attach(*ring_handle)
    spec = ring.spec
    try:
        for n, (stream_ts, frame) in enumerate(read_frames(camera, max_frames)):
            if stop.is_set():
                break
            if (n + camera_index) % detect_every:
                continue
            captured_at = time.monotonic()
            slot = _reserve(ring, camera_index, camera.drops_frames, detect_q, drops, stop)
            if slot is None:
                continue
            ref = ring.write(
                slot,
                fit(frame, spec.max_height, spec.max_width),
                READERS,
                camera_index,
                stream_ts,
                captured_at,
            )
            del frame
            detect_q.put(ref)
    finally:
        ring.close()


def _reserve(ring: FrameRing, camera_index: int, may_drop: bool, detect_q: Any, drops: Any, stop: Any) -> int | None:
    """Back-pressure: live cameras evict the oldest unread frame; files wait for a slot."""
    while not stop.is_set():
        slot = ring.reserve()
        if slot is not None:
            return slot
        if not may_drop:
            time.sleep(0.002)
            continue
        try:
            oldest: FrameRef = detect_q.get_nowait()
        except queue.Empty:
            with drops.get_lock():
                drops[camera_index] += 1  # every slot is deep in the stages: drop this frame instead
            return None
        ring.discard(oldest.slot, oldest.seq)
        with drops.get_lock():
            drops[oldest.camera] += 1
    return None


def detector_main(
    ring_handle: tuple[RingSpec, Any],
    config: VisionConfig,
    detect_q: Any,
    attr_q: Any,
    ready: Any,
    log_level: int,
) -> None:
    """Batch frames from every camera, detect faces, pass refs and boxes on."""
    _setup_logging(log_level)
    detector = build_detector(config.models.detector, choose_providers(config.providers), config.threads)
    _serve_stage(ring_handle, config, detector, 640, detect_q, attr_q, ready, _detect_batch)


def _serve_stage(
    ring_handle: tuple[RingSpec, Any],
    config: VisionConfig,
    model: Any,
    warm_up_size: int,
    in_q: Any,
    out_q: Any,
    ready: Any,
    process: Callable[[FrameRing, Any, list[Any]], list[Any]],
) -> None:
    """The loop every model stage runs: warm up, then batch with the latency bound, forward, stop.

    Warming up before ``ready`` matters: the first inference compiles kernels (seconds on CUDA) and
    would otherwise count as frame latency.
    """
    ring = FrameRing.attach(*ring_handle)
    if hasattr(model, "warm_up"):
        model.warm_up()
    elif hasattr(model, "model"):
        model.model.warm_up(warm_up_size)
    ready.set()
    max_latency = config.batching.max_latency_ms / 1000
    try:
        while True:
            batch, stopped = gather(in_q, config.batching.max_batch, max_latency)
            for item in process(ring, model, batch):
                out_q.put(item)
            if stopped:
                out_q.put(STOP)
                return
    finally:
        ring.close()


def _detect_batch(ring: FrameRing, detector: Any, batch: list[FrameRef]) -> list[tuple[FrameRef, list[Any]]]:
    """Views stay local so no pixel reference outlives the batch."""
    live = [(ref, frame) for ref in batch if (frame := ring.view(ref)) is not None]
    found = detector.detect([frame for _, frame in live]) if live else []
    for ref, _ in live:
        ring.release(ref)
    return [(ref, detections) for (ref, _), detections in zip(live, found, strict=True)]


def attributes_main(
    ring_handle: tuple[RingSpec, Any],
    config: VisionConfig,
    attr_q: Any,
    result_q: Any,
    ready: Any,
    log_level: int,
) -> None:
    """Batch faces across frames and cameras, estimate attributes, release the frames' slots."""
    _setup_logging(log_level)
    model = build_attributes(config.models.attributes, choose_providers(config.providers), config.threads)
    sampler = AttributeSampler(config.attribute_every_n_frames)
    _serve_stage(ring_handle, config, model, 96, attr_q, result_q, ready, partial(_attribute_batch, sampler=sampler))


class AttributeSampler:
    """Which frames of each camera get the attribute models: every n-th one.

    A face stays in view for dozens of frames and its track votes over them (confidence-weighted
    gender, median age), so reading it on every frame buys little; the age network costs about ten
    times the detector per face on a CPU. Faces of skipped frames are still detected and tracked
    (counts, dwell and attention stay per frame); they just bring no vote. Camera i reads frames
    i, i + n, …: the cameras take turns, so the attribute stage's load is even from frame to frame.
    """

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.seen: dict[int, int] = {}

    def wants(self, camera: int) -> bool:
        count = self.seen.get(camera, 0)
        self.seen[camera] = count + 1
        return (count + camera) % self.every == 0


def _attribute_batch(
    ring: FrameRing, model: Any, batch: list[tuple[FrameRef, list[Any]]], sampler: AttributeSampler | None = None
) -> list[FrameResult]:
    """One model call for every face of every sampled frame in the batch; crops never leave here."""
    views = [(ref, dets, ring.view(ref)) for ref, dets in batch]
    faces, owners = [], []
    per_frame: list[list[Observation]] = [[] for _ in views]
    for i, (ref, dets, frame) in enumerate(views):
        if frame is None:
            continue
        if sampler is None or sampler.wants(ref.camera):
            faces += [(frame, d) for d in dets]
            owners += [i] * len(dets)
        else:
            per_frame[i] = [Observation(d.box, UNKNOWN_ATTRIBUTES, d.facing_screen()) for d in dets]
    attrs = model.predict(faces) if faces else []
    for owner, (_, det), a in zip(owners, faces, attrs, strict=True):
        per_frame[owner].append(Observation(det.box, a, det.facing_screen()))
    results = []
    for (ref, _, frame), observations in zip(views, per_frame, strict=True):
        ring.release(ref)
        if frame is not None:
            results.append(FrameResult(ref.camera, ref.stream_ts, ref.captured_at, observations))
    return results
