"""``vitrine vision bench``: attribute faces/s by batch size, and camera streams one box sustains.

Two questions decide how many GPU boxes a mall needs:

1. *Attribute throughput*: faces/s of the attribute model at batch 1/16/64/256 (model call only,
   on prepared crops), so the batching bound can be chosen.
2. *Stream capacity*: how many 720p streams at 15 fps one machine sustains through decode →
   detection → attributes with p99 frame latency ≤ 100 ms. Frames arrive on each stream's clock as
   JPEG bytes (decode is real work a camera box does), are decoded by a thread pool, batched by
   :func:`vision.batching.gather` and run through the same adapters as the pipeline.

It measures ``--config``'s models, else the default set (CenterFace + Cydral) when it is installed
in the model directory, else the random-weight stand-ins of :mod:`vision.bench_models`. Faces the
detector does not find in the synthetic frames are added (with landmarks) so every frame carries
``faces_per_frame`` faces through the attribute stage.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np

from vision.attributes import UNKNOWN_ATTRIBUTES, AttributeModel, build_attributes
from vision.attributes.genderage import GenderAgeConfig, GenderAgeModel
from vision.batching import STOP, gather
from vision.config import ModelsConfig
from vision.detectors import Detection, FaceDetector, build_detector
from vision.detectors.yunet import YuNetConfig, YuNetDetector
from vision.runtime import OnnxModel, choose_providers
from vision.tracking import Observation, Tracker

log = logging.getLogger(__name__)
P99_BOUND_MS = 100.0


@dataclass(frozen=True)
class StreamResult:
    streams: int
    offered_fps: float
    processed_fps: float
    p50_ms: float
    p99_ms: float
    stage_ms: dict[str, float] = field(default_factory=dict)  # mean ms per frame spent in each stage
    drops: int = 0  # frames a live camera dropped because the pipeline was behind (pipeline mode)
    cpu_cores: float = 0.0  # CPU seconds per second of all pipeline processes, steady state (pipeline mode)
    cores_needed: float = 0.0  # the offered load at the measured per-frame CPU costs (pipeline mode)

    @property
    def sustained(self) -> bool:
        return self.p99_ms <= P99_BOUND_MS and self.processed_fps >= 0.95 * self.offered_fps

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "sustained": self.sustained}


def build_models(
    models: ModelsConfig | None, providers: list[str], threads: int = 0
) -> tuple[FaceDetector, AttributeModel, str]:
    """The configured models, else the default set when installed, else random-weight stand-ins."""
    from vision.bench_models import genderage_like, yunet_like
    from vision.model_set import default_model_dir, default_models

    which = "configured models"
    if models is None or models.attributes is None:
        models, which = default_models(), f"default set from {default_model_dir()}"
    if models is not None and models.attributes is not None:
        attributes = build_attributes(models.attributes, providers, threads)
        detector = build_detector(models.detector, providers, threads)
        size = getattr(detector, "width", None), getattr(detector, "height", None)
        where = f", detector input {size[0]}×{size[1]}" if size[0] else ""
        return detector, attributes, f"{which}: {detector.name} + {attributes.name}{where}"
    det_cfg = YuNetConfig(type="yunet", path="bench.onnx", score_threshold=1.0)
    detector = YuNetDetector(OnnxModel(yunet_like()[0], providers, threads=threads), det_cfg)
    ga_cfg = GenderAgeConfig(type="genderage", path="bench.onnx")
    attributes = GenderAgeModel(OnnxModel(genderage_like()[0], providers, threads=threads), ga_cfg, True)
    return detector, attributes, "random-weight stand-ins (YuNet-like 133 MMAC, genderage-like 52 MMAC)"


def with_detector_size(models: ModelsConfig, size: tuple[int, int] | None) -> ModelsConfig:
    """``models`` with the detector's ``input_size`` replaced (``--detector-size``)."""
    if size is None:
        return models
    if not hasattr(models.detector, "input_size"):
        raise ValueError(f"--detector-size: the {models.detector.type} detector has no input_size")
    return models.model_copy(update={"detector": models.detector.model_copy(update={"input_size": size})})


def bench_faces(count: int, frame: np.ndarray, side: float = 96.0) -> list[tuple[np.ndarray, Detection]]:
    """``count`` faces of ``side`` px on one frame, with template landmarks (what CenterFace gives)."""
    from vision.attributes.chips import template

    h, w = frame.shape[:2]
    faces = []
    for i in range(count):
        x, y = (i * 37) % max(1, int(w - side)), (i * 53) % max(1, int(h - side))
        points = (template(1) * side + [x, y]).astype(np.float32)
        faces.append((frame, Detection((x, y, x + side, y + side), 0.9, points)))
    return faces


def attribute_throughput(attributes: AttributeModel, batch: int, min_seconds: float = 1.0) -> tuple[float, float]:
    """(faces/s, p99 ms per call) of ``predict`` on ``batch`` faces: alignment and every model call."""
    faces = bench_faces(batch, decode(synthetic_frame()))
    attributes.predict(faces)
    timings: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < min_seconds or len(timings) < 3:
        t0 = time.perf_counter()
        attributes.predict(faces)
        timings.append(time.perf_counter() - t0)
    return batch * len(timings) / sum(timings), float(np.percentile(timings, 99) * 1000)


def synthetic_frame(width: int = 1280, height: int = 720, seed: int = 0) -> bytes:
    """A JPEG with camera-like texture (noise compresses to realistic sizes; flat colour would not)."""
    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.integers(0, 255, (height // 16, width // 16, 3), np.uint8), (width, height))
    noisy = np.clip(base.astype(np.int16) + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def decode(jpeg: bytes) -> np.ndarray:
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert frame is not None
    return frame


def stream_capacity(
    detector: FaceDetector,
    attributes: AttributeModel,
    streams: int,
    fps: float = 15.0,
    seconds: float = 4.0,
    faces_per_frame: int = 2,
    max_batch: int = 16,
    max_latency_ms: float = 20.0,
    decode_workers: int = 4,
    attribute_every: int = 1,
) -> StreamResult:
    """Offer ``streams × fps`` frames/s for ``seconds`` and measure what comes out, and how late.

    ``attribute_every`` > 1 runs the attribute models on every n-th frame only, as the pipeline's
    ``attribute_every_n_frames`` does (the other frames' faces are tracked without a vote)."""
    jpeg = synthetic_frame()
    arrivals: queue.Queue[float | str] = queue.Queue()
    faces = [d for _, d in bench_faces(faces_per_frame, np.zeros((720, 1280, 3), np.uint8))]
    latencies: list[float] = []
    stages = dict.fromkeys(("decode", "detect", "attributes", "track"), 0.0)
    trackers = [Tracker() for _ in range(streams)]
    frame_count = 0

    def produce() -> None:
        start, period = time.monotonic(), 1 / (streams * fps)
        for n in range(int(seconds * streams * fps)):
            delay = start + n * period - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            arrivals.put(time.monotonic())
        arrivals.put(STOP)

    producer = threading.Thread(target=produce, daemon=True)
    started = time.monotonic()
    producer.start()
    with ThreadPoolExecutor(decode_workers) as pool:
        while True:
            batch, stopped = gather(arrivals, max_batch, max_latency_ms / 1000)
            if batch:
                t0 = time.perf_counter()
                frames = list(pool.map(lambda _: decode(jpeg), batch))
                t1 = time.perf_counter()
                found = [dets or faces for dets in detector.detect(frames)]
                t2 = time.perf_counter()
                sampled = [(n + frame_count) % attribute_every == 0 for n in range(len(frames))]
                frame_count += len(frames)
                pairs = [(f, d) for f, dets, s in zip(frames, found, sampled, strict=True) if s for d in dets]
                predicted = iter(attributes.predict(pairs))
                votes = [s for dets, s in zip(found, sampled, strict=True) for _ in dets]
                attrs = iter([next(predicted) if s else UNKNOWN_ATTRIBUTES for s in votes])
                t3 = time.perf_counter()
                for (t, dets), tracker in zip(zip(batch, found, strict=True), itertools.cycle(trackers), strict=False):
                    tracker.update(t, [Observation(d.box, next(attrs), d.facing_screen()) for d in dets])
                done = time.monotonic()
                for stage, spent in zip(stages, (t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t3), strict=True):
                    stages[stage] += spent * 1000
                latencies += [(done - t) * 1000 for t in batch]
            if stopped:
                break
    elapsed = time.monotonic() - started
    offered = streams * fps
    return StreamResult(
        streams,
        offered,
        len(latencies) / elapsed,
        float(np.percentile(latencies, 50)),
        float(np.percentile(latencies, 99)),
        {k: round(v / max(len(latencies), 1), 2) for k, v in stages.items()},
    )


def max_streams(
    detector: FaceDetector, attributes: AttributeModel, candidates: list[int], **kwargs: float
) -> tuple[int, list[StreamResult]]:
    """Try stream counts in increasing order; stop at the first one that is not sustained."""
    results, best = [], 0
    for streams in sorted(candidates):
        result = stream_capacity(detector, attributes, streams, **kwargs)  # type: ignore[arg-type]
        results.append(result)
        log.info(
            "%3d streams: %.0f/%.0f frames/s, p50 %.1f ms, p99 %.1f ms → %s",
            streams,
            result.processed_fps,
            result.offered_fps,
            result.p50_ms,
            result.p99_ms,
            "sustained" if result.sustained else "not sustained",
        )
        if not result.sustained:
            break
        best = streams
    return best, results


def run_bench(
    device: str = "auto",
    batches: tuple[int, ...] = (1, 16, 64, 256),
    streams: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
    seconds: float = 4.0,
    models: ModelsConfig | None = None,
    threads: int = 0,
    decode_workers: int = 4,
    faces_per_frame: int = 2,
    attribute_every: int = 1,
) -> str:
    """Run both measurements and return a Markdown report."""
    providers = choose_providers(device=device)
    detector, attributes, which = build_models(models, providers, threads)
    lines = [
        f"providers: {', '.join(providers)}; models: {which}",
        "",
        "| attribute batch | faces/s (alignment + models) | p99 ms per call |",
        "|---|---|---|",
    ]
    for batch in batches:
        rate, p99 = attribute_throughput(attributes, batch, min_seconds=min(seconds, 2.0))
        log.info("attributes batch %d: %.0f faces/s", batch, rate)
        lines.append(f"| {batch} | {rate:,.0f} | {p99:.1f} |")
    best, results = max_streams(
        detector,
        attributes,
        list(streams),
        seconds=seconds,
        decode_workers=decode_workers,
        faces_per_frame=faces_per_frame,
        attribute_every=attribute_every,
    )
    lines += [
        "",
        f"| 720p streams @ 15 fps ({faces_per_frame} faces/frame, attributes every {attribute_every} frame) "
        "| offered fps | processed fps | p50 ms | p99 ms | sustained "
        "| ms/frame: decode / detect / attributes / track |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.streams} | {r.offered_fps:.0f} | {r.processed_fps:.1f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
        f"| {'yes' if r.sustained else 'no'} | {' / '.join(f'{v:.1f}' for v in r.stage_ms.values())} |"
        for r in results
    ]
    lines += ["", f"**sustained streams (p99 ≤ {P99_BOUND_MS:.0f} ms): {best}**"]
    return "\n".join(lines)
