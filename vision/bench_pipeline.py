"""``vitrine vision bench --pipeline``: the real multi-process pipeline, streams sustained.

:mod:`vision.bench` runs decode, detection and attributes one after the other in one process: a
lower bound, because ``vitrine vision run`` puts the detector and the attribute stage in their own
processes (and each camera in its own), so on two cores they overlap. This bench runs that very
pipeline — :class:`vision.process.VisionSupervisor` with its ring, queues, stage processes,
tracking and events — on ``streams`` cameras that each play a generated 720p video in real time
(``realtime: true``: frames arrive on the camera's clock and are dropped when the pipeline is
behind, as a live camera's would), and reports what came out and how late.

The video is written to a temporary folder and deleted afterwards: a textured hall with two faces
walking across it, cut from scikit-image's public-domain astronaut portrait (no evaluation data is
used). MJPG, so decoding every frame in the capture processes is real work, as a camera's H.264
stream is.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from vision.bench import StreamResult, with_detector_size
from vision.config import CameraConfig, ModelsConfig, RingConfig, VisionConfig
from vision.process import VisionSupervisor
from vision.publisher import ListSink
from vision.stages import FrameResult

log = logging.getLogger(__name__)
WIDTH, HEIGHT = 1280, 720
TICKS = os.sysconf("SC_CLK_TCK")


class MeteredSupervisor(VisionSupervisor):
    """The supervisor, plus the CPU time each role (captures, detector, attributes, supervisor) spent
    between the first and the last result: steady state, start-up and model loading excluded. On a
    machine shared with other jobs the per-frame costs are the figures their load disturbs least."""

    def _observe(self, result: FrameResult) -> None:
        if not self.stats.frames:
            self.cpu_first = self._cpu_seconds({})
        self.cpu_last = self._cpu_seconds(getattr(self, "cpu_last", {}))
        super()._observe(result)

    def _cpu_seconds(self, before: dict[str, float]) -> dict[str, float]:
        """CPU seconds per process; one that has exited keeps its last reading."""
        seconds = {"vision.supervisor": time.process_time()}
        for name, process in self.processes.items():
            try:
                fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
                seconds[name] = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
            except (OSError, IndexError):
                seconds[name] = before.get(name, 0.0)  # not Linux, or the process has exited
        return seconds

    def cpu_spent(self) -> dict[str, float]:
        """CPU seconds between the first and the last result, by role."""
        first, last = getattr(self, "cpu_first", {}), getattr(self, "cpu_last", {})
        roles = dict.fromkeys(("capture", "detector", "attributes", "supervisor"), 0.0)
        for name, spent in last.items():
            roles[name.split(".", 1)[1].split(":", 1)[0]] += spent - first.get(name, spent)
        return roles


def face_patch(side: int = 180) -> np.ndarray | None:
    """The astronaut's head (a real face, public domain) at ``side`` px, or None without scikit-image."""
    try:
        from skimage import data
    except ImportError:
        return None
    head = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[10:230, 110:330]  # type: ignore[no-untyped-call]
    return cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA)


def write_video(path: Path, seconds: float, fps: float = 15.0) -> int:
    """A 720p MJPG of two faces crossing a textured hall; returns the faces per frame (0 or 2)."""
    rng = np.random.default_rng(0)
    hall = cv2.resize(rng.integers(60, 200, (HEIGHT // 16, WIDTH // 16, 3), np.uint8), (WIDTH, HEIGHT))
    head = face_patch()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (WIDTH, HEIGHT))  # type: ignore[attr-defined]
    if not writer.isOpened():
        raise RuntimeError("OpenCV was built without a video writer")
    frames = int(seconds * fps)
    for i in range(frames):
        frame = hall.copy()
        if head is not None:
            side = head.shape[0]
            x = int(100 + (WIDTH - side - 200) * i / max(frames - 1, 1))
            frame[120 : 120 + side, x : x + side] = head
            frame[400 : 400 + side, WIDTH - side - x : WIDTH - x] = head[:, ::-1]
        writer.write(frame)
    writer.release()
    return 0 if head is None else 2


def pipeline_capacity(
    models: ModelsConfig,
    streams: int,
    providers: list[str] | None,
    seconds: float = 10.0,
    fps: float = 15.0,
    threads: int = 1,
    detect_every: int = 1,
    attribute_every: int = 1,
    max_batch: int = 16,
    max_latency_ms: float = 20.0,
    video: Path | None = None,
) -> tuple[StreamResult, int]:
    """Run ``streams`` real-time cameras through the pipeline; (result, faces seen per analysed frame).

    ``offered_fps`` counts the frames the cameras hand to the detector (``streams × fps /
    detect_every``); a frame dropped because the pipeline is behind counts against ``sustained``.
    """
    with tempfile.TemporaryDirectory(prefix="vitrine-bench-") as folder:
        if video is None:
            video = Path(folder, "hall.avi")
            write_video(video, seconds, fps)
        cameras = [
            CameraConfig(screen_id=f"bench-{i}", source=str(video), fps=fps, realtime=True) for i in range(streams)
        ]
        config = VisionConfig(
            cameras=cameras,
            models=models,
            providers=providers,
            threads=threads,
            detect_every_n_frames=detect_every,
            attribute_every_n_frames=attribute_every,
            batching={"max_batch": max_batch, "max_latency_ms": max_latency_ms},
            ring=RingConfig(slots=max(8, 4 * streams), max_width=WIDTH, max_height=HEIGHT),
        )
        supervisor = MeteredSupervisor(config, ListSink())
        stats = supervisor.run()
    offered = streams * fps / detect_every
    drops = sum(stats.drops)
    span = stats.last_result_at - stats.first_result_at
    processed = (stats.frames - 1) / span if stats.frames > 1 and span > 0 else 0.0
    spent = supervisor.cpu_spent()
    cores = sum(spent.values()) / span if span > 0 else 0.0
    frames = max(stats.frames - 1, 1)
    per_frame = {role: round(spent[role] * 1000 / frames, 1) for role in ("detector", "attributes", "supervisor")}
    per_frame["capture"] = round(spent["capture"] * 1000 / span / (streams * fps), 1) if span > 0 else 0.0
    # cores the offered load needs at these costs: captures decode every frame, the rest run per analysed one
    needed = per_frame["capture"] * streams * fps + sum(per_frame[r] for r in per_frame if r != "capture") * offered
    result = StreamResult(
        streams,
        offered,
        processed,
        stats.p(50),
        stats.p(99),
        stage_ms=per_frame,
        drops=drops,
        cpu_cores=round(cores, 2),
        cores_needed=round(needed / 1000, 2),
    )
    return result, round(stats.faces / stats.frames) if stats.frames else 0


def max_pipeline_streams(
    models: ModelsConfig, candidates: list[int], providers: list[str] | None, **kwargs: float
) -> tuple[int, list[StreamResult]]:
    """Try stream counts in increasing order; stop at the first one that is not sustained."""
    results, best = [], 0
    for streams in sorted(candidates):
        started = time.monotonic()
        result, faces = pipeline_capacity(models, streams, providers, **kwargs)  # type: ignore[arg-type]
        results.append(result)
        log.info(
            "%3d streams (pipeline): %.1f/%.1f frames/s to the detector, %d dropped, %d faces/frame, "
            "%.2f CPU cores, p50 %.1f ms, p99 %.1f ms → %s (%.0f s)",
            streams,
            result.processed_fps,
            result.offered_fps,
            result.drops,
            faces,
            result.cpu_cores,
            result.p50_ms,
            result.p99_ms,
            "sustained" if result.sustained else "not sustained",
            time.monotonic() - started,
        )
        if not result.sustained:
            break
        best = streams
    return best, results


def run_pipeline_bench(
    models: ModelsConfig | None,
    device: str = "auto",
    streams: tuple[int, ...] = (1, 2, 3, 4),
    seconds: float = 10.0,
    threads: int = 1,
    detect_every: int = 1,
    attribute_every: int = 1,
    detector_size: tuple[int, int] | None = None,
    max_latency_ms: float = 20.0,
) -> str:
    """Streams sustained by the real pipeline; a Markdown report."""
    from vision.model_set import default_models

    models = models if models is not None and models.attributes is not None else default_models()
    if models is None:
        raise RuntimeError(
            "the pipeline bench runs real model files: install the default set "
            "(`vitrine vision models fetch`) or pass --config with a models: section"
        )
    models = with_detector_size(models, detector_size)
    providers = {"cpu": ["cpu"], "cuda": ["cuda", "cpu"]}.get(device)
    size = getattr(models.detector, "input_size", None)
    best, results = max_pipeline_streams(
        models,
        list(streams),
        providers,
        seconds=seconds,
        threads=threads,
        detect_every=detect_every,
        attribute_every=attribute_every,
        max_latency_ms=max_latency_ms,
    )
    where = f" at {size[0]}×{size[1]}" if size else ""
    attributes = models.attributes.type if models.attributes else "none"
    lines = [
        f"pipeline (vitrine vision run's processes), {models.detector.type}{where} + {attributes}, "
        f"ONNX Runtime threads per stage {threads or 'default'}, detector on every {detect_every} frame, "
        f"attributes on every {attribute_every} detected frame, batching wait {max_latency_ms:g} ms, "
        f"{seconds:.0f} s per stream count",
        "",
        "| 720p streams @ 15 fps | frames/s to the detector (offered) | processed | dropped | p50 ms | p99 ms "
        "| sustained | CPU cores used | CPU ms per frame: capture (every camera frame) / detector / attributes "
        "/ supervisor | cores the offered load needs at these costs |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.streams} | {r.offered_fps:.1f} | {r.processed_fps:.1f} | {r.drops} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
        f"| {'yes' if r.sustained else 'no'} | {r.cpu_cores:.2f} "
        f"| {' / '.join(str(r.stage_ms[k]) for k in ('capture', 'detector', 'attributes', 'supervisor'))} "
        f"| {r.cores_needed:.2f} |"
        for r in results
    ]
    lines += ["", f"**sustained streams (p99 ≤ 100 ms, ≥ 95 % of the offered frames processed): {best}**"]
    return "\n".join(lines)
