"""The supervisor: boots the ring, the stage processes and the cameras, then aggregates.

Reads like a boot script (``start`` → ``init_ring`` → ``start_stages`` → ``start_cameras``), then
``serve`` turns results into events and hands them to the sink, the only I/O. Tracking and
aggregation live here, in one process, so ephemeral track ids never cross a process boundary.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vision.batching import STOP
from vision.config import VisionConfig
from vision.events import CameraAggregator
from vision.frames import FrameRing
from vision.publisher import EventSink
from vision.stages import FrameResult, attributes_main, capture_main, detector_main

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 120.0  # first CUDA/TensorRT inference compiles kernels


@dataclass
class RunStats:
    frames: int = 0
    faces: int = 0
    tracks: int = 0  # confirmed tracks (people seen for at least min_hits frames)
    events: int = 0
    drops: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    segment: str = ""  # the ring's /dev/shm name, gone after the run
    first_result_at: float = 0.0  # monotonic times of the first and last frame result: the span the
    last_result_at: float = 0.0  # throughput is measured over (start-up and drain excluded)

    def p(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def summary(self) -> str:
        return (
            f"{self.frames} frames, {self.faces} faces, {self.tracks} tracks, {self.events} events, "
            f"drops {self.drops}, latency p50 {self.p(50):.1f} ms p99 {self.p(99):.1f} ms"
        )


class VisionSupervisor:
    def __init__(
        self,
        config: VisionConfig,
        sink: EventSink,
        max_frames: int | None = None,
        flush_interval_s: float = 1.0,
    ) -> None:
        self.config, self.sink, self.max_frames = config, sink, max_frames
        self.flush_interval_s = flush_interval_s
        self.ctx = mp.get_context("spawn")
        self.stats = RunStats(drops=[0] * len(config.cameras))
        self.aggregators = [CameraAggregator(c, config.tracking) for c in config.cameras]
        self.processes: dict[str, Any] = {}
        self.pending: list[dict[str, Any]] = []
        self.ring: FrameRing | None = None

    def run(self) -> RunStats:
        """Start everything, serve until every camera is exhausted (or ``stop``), then clean up."""
        try:
            self.start()
            self.serve()
        finally:
            self.shutdown()
        log.info("vision run finished: %s", self.stats.summary())
        return self.stats

    def start(self) -> None:
        self.init_ring()
        self.init_queues()
        self.start_stages()
        self.start_cameras()

    def init_ring(self) -> None:
        r = self.config.ring
        self.ring = FrameRing.create(r.slots, r.max_height, r.max_width, self.ctx.Lock())
        self.stats.segment = self.ring.spec.name

    def init_queues(self) -> None:
        depth = self.config.ring.slots
        self.detect_q, self.attr_q, self.result_q = (
            self.ctx.Queue(depth),
            self.ctx.Queue(depth),
            self.ctx.Queue(),
        )
        self.stop_event = self.ctx.Event()
        self.drops = self.ctx.Array("q", len(self.config.cameras))

    def start_stages(self) -> None:
        assert self.ring is not None
        level = logging.getLogger().getEffectiveLevel()
        readies = []
        for name, target, args in (
            ("vision.detector", detector_main, (self.detect_q, self.attr_q)),
            ("vision.attributes", attributes_main, (self.attr_q, self.result_q)),
        ):
            ready = self.ctx.Event()
            self._spawn(name, target, (self.ring.handle, self.config, *args, ready, level))
            readies.append((name, ready))
        for name, ready in readies:
            if not ready.wait(READY_TIMEOUT_S) or not self.processes[name].is_alive():
                raise RuntimeError(f"{name} did not become ready; see its log above")

    def start_cameras(self) -> None:
        assert self.ring is not None
        level = logging.getLogger().getEffectiveLevel()
        for i, camera in enumerate(self.config.cameras):
            self._spawn(
                f"vision.capture:{camera.screen_id}#{i}",
                capture_main,
                (
                    self.ring.handle,
                    i,
                    camera,
                    self.detect_q,
                    self.drops,
                    self.max_frames,
                    self.stop_event,
                    level,
                    self.config.detect_every_n_frames,
                ),
            )

    def _spawn(self, name: str, target: Any, args: tuple[Any, ...]) -> None:
        process = self.ctx.Process(target=target, name=name, args=args, daemon=True)
        process.start()
        self.processes[name] = process
        log.info("started %s (pid %s)", name, process.pid)

    def serve(self) -> None:
        stop_sent, last_flush = False, time.monotonic()
        while True:
            try:
                item = self.result_q.get(timeout=0.2)
            except queue.Empty:
                item = None
            if item == STOP:
                break
            if isinstance(item, FrameResult):
                self._observe(item)
            if not stop_sent and self._cameras_done():
                self.detect_q.put(STOP)
                stop_sent = True
            self._watchdog()
            if time.monotonic() - last_flush >= self.flush_interval_s:
                self._flush()
                last_flush = time.monotonic()
        for aggregator in self.aggregators:
            self.pending += aggregator.flush()
        self.stats.tracks = sum(a.tracks_confirmed for a in self.aggregators)
        self._flush()

    def stop(self) -> None:
        """Ask the cameras to stop; ``serve`` then drains the stages and returns."""
        self.stop_event.set()

    def _observe(self, result: FrameResult) -> None:
        self.stats.last_result_at = time.monotonic()
        self.stats.first_result_at = self.stats.first_result_at or self.stats.last_result_at
        self.stats.frames += 1
        self.stats.faces += len(result.observations)
        self.stats.latencies_ms.append((time.monotonic() - result.captured_at) * 1000)
        self.pending += self.aggregators[result.camera].observe(result.stream_ts, result.observations)

    def _flush(self) -> None:
        if self.pending:
            self.sink.send(self.pending)
            self.stats.events += len(self.pending)
            self.pending = []

    def _cameras_done(self) -> bool:
        return all(not p.is_alive() for n, p in self.processes.items() if n.startswith("vision.capture"))

    def _watchdog(self) -> None:
        for name, process in self.processes.items():
            if process.exitcode not in (None, 0):
                raise RuntimeError(f"{name} exited with code {process.exitcode}")

    def shutdown(self) -> None:
        if hasattr(self, "stop_event"):
            self.stop_event.set()
        for process in self.processes.values():
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=2)
        if hasattr(self, "drops"):
            self.stats.drops = list(self.drops[:])
        if self.ring is not None:
            self.ring.close()
            self.ring = None


def run_pipeline(config: VisionConfig, sink: EventSink, max_frames: int | None = None) -> RunStats:
    """Run the configured cameras to the end of their sources (or ``max_frames`` each)."""
    return VisionSupervisor(config, sink, max_frames).run()
