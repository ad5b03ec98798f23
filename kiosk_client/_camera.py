"""The camera loop of a screen: read frames, then either upload them or analyse them on the device.

* ``upload`` mode JPEG-encodes each sampled frame **in memory** and posts it to
  ``/v1/vision/frames``; the service answers with anonymous attributes and keeps no image.
* ``edge`` mode analyses each frame on the device with ``vision.analyze.FrameAnalyzer`` (or any
  object with its ``analyze_array``) and queues only the anonymous events it makes — ``audience``
  for screens, ``store_visit`` for entrance cameras — in the durable outbox; no pixel ever leaves
  the kiosk. ``vision`` is imported only when an edge loop is built: a device that uploads frames
  does not need it (or its model files) installed.

Privacy rule for both: a frame is never written to disk, never queued in the outbox and never
retried. When the service is away, the frame is dropped and counted; the crowd moves on anyway.
Cameras get unplugged by cleaners too, so a failed read releases and reopens the device with
back-off instead of ending the loop.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import cv2
import numpy as np

from kiosk_client._client import KioskClient
from kiosk_client._exceptions import KioskError, ServerUnavailable
from kiosk_client._retry import RetryPolicy

logger = logging.getLogger(__name__)

ScreenKind = Literal["lead_in", "mirror", "entrance_camera"]
"""What the camera looks at; mirrors ``vision.config.CameraKind`` (kept literal: no ``vision`` import)."""


class EdgeResult(Protocol):
    """The part of ``vision.analyze.AnalysisResult`` edge mode uses."""

    def to_events(self, screen_id: str) -> list[dict[str, Any]]: ...


class EdgeAnalyzer(Protocol):
    """The part of ``vision.analyze.FrameAnalyzer`` edge mode uses: BGR frame → anonymous events."""

    def analyze_array(self, frame: np.ndarray, screen_kind: ScreenKind) -> EdgeResult: ...


def load_edge_analyzer(vision_config: str | Path | None = None, model_dir: str | Path | None = None) -> EdgeAnalyzer:
    """``vision``'s :class:`FrameAnalyzer`: the models of ``cameras.yaml`` when given, else the default
    set (CenterFace + Cydral) when installed in ``model_dir`` (default ``$VITRINE_MODEL_DIR`` or
    ``var/models``; ``vitrine vision models fetch``), else the Haar fallback (faces counted, attributes
    unknown). Imported here, not at module import."""
    try:
        from vision.analyze import FrameAnalyzer
        from vision.config import load_config
    except ImportError as exc:
        raise RuntimeError("edge mode needs the vision package on the device; use mode='upload' without it") from exc
    if vision_config is None:
        return FrameAnalyzer.default(Path(model_dir) if model_dir is not None else None)
    return FrameAnalyzer.from_config(load_config(vision_config).models)


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the loop uses (so tests can pass a fake camera)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def release(self) -> None: ...


def open_capture(source: int | str) -> Capture:
    """``cv2.VideoCapture`` for a device index, file or RTSP URL."""
    return cast(Capture, cv2.VideoCapture(source))


@dataclass
class CameraStats:
    frames: int = 0
    uploaded: int = 0
    dropped: int = 0
    events: int = 0
    reopens: int = 0


class CameraLoop:
    """Sample a camera at ``fps`` and feed the service, in ``upload`` or ``edge`` mode.

    In edge mode ``analyzer`` defaults to :func:`load_edge_analyzer` of ``vision_config``. An
    entrance camera makes one ``store_visit`` per face *per analysed frame* (a single frame cannot be
    tracked), so sample it only on a door trigger, or run the tracking pipeline (``python -m vision``).
    """

    def __init__(
        self,
        client: KioskClient,
        source: int | str = 0,
        *,
        mode: Literal["upload", "edge"] = "upload",
        screen_kind: ScreenKind = "lead_in",
        analyzer: EdgeAnalyzer | None = None,
        vision_config: str | Path | None = None,
        fps: float = 2.0,
        jpeg_quality: int = 80,
        capture_factory: Callable[[int | str], Capture] = open_capture,
        reopen: RetryPolicy | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be > 0")
        if mode == "edge" and analyzer is None:
            analyzer = load_edge_analyzer(vision_config)
        self.client, self.source, self.mode, self.screen_kind = client, source, mode, screen_kind
        self.analyzer = analyzer
        self.period = 1.0 / fps
        self.jpeg_params = [int(cv2.IMWRITE_JPEG_QUALITY), int(jpeg_quality)]
        self.capture_factory = capture_factory
        self.reopen = reopen or RetryPolicy(max_attempts=1_000_000, base_delay=1.0, max_delay=30.0)
        self.stats = CameraStats()
        self._sleep = sleep
        self._rng = random.Random()

    def run(self, stop: threading.Event | None = None, max_frames: int | None = None) -> CameraStats:
        """Loop until ``stop`` is set or ``max_frames`` frames were read; returns the counters."""
        stop = stop or threading.Event()
        capture: Capture | None = None
        failures = 0
        try:
            while not stop.is_set() and (max_frames is None or self.stats.frames < max_frames):
                started = time.monotonic()
                if capture is None:
                    capture = self.capture_factory(self.source)
                ok, frame = capture.read() if capture.isOpened() else (False, None)
                if not ok or frame is None:
                    capture.release()
                    capture, failures = None, failures + 1
                    self.stats.reopens += 1
                    wait = self.reopen.delay(min(failures - 1, 30), self._rng)
                    logger.warning("camera %r gave no frame; reopening in %.1fs", self.source, wait)
                    self._sleep(wait)
                    continue
                failures = 0
                self.stats.frames += 1
                self.process(frame)
                self._sleep(max(0.0, self.period - (time.monotonic() - started)))
        finally:
            if capture is not None:
                capture.release()
        return self.stats

    def process(self, frame: np.ndarray) -> None:
        """Handle one frame according to the mode; service errors drop the frame, never raise."""
        try:
            if self.mode == "edge":
                self._process_on_device(frame)
            else:
                self._upload(frame)
        except ServerUnavailable as exc:
            self.stats.dropped += 1
            logger.debug("frame dropped, service unavailable: %s", exc)
        except KioskError:
            self.stats.dropped += 1
            logger.exception("frame dropped")

    def _upload(self, frame: np.ndarray) -> None:
        ok, jpeg = cv2.imencode(".jpg", frame, self.jpeg_params)
        if not ok:
            self.stats.dropped += 1
            return
        self.client.analyse_frame(jpeg.tobytes())
        self.stats.uploaded += 1

    def _process_on_device(self, frame: np.ndarray) -> None:
        assert self.analyzer is not None
        for event in self.analyzer.analyze_array(frame, self.screen_kind).to_events(self.client.screen_id):
            self.client.record(event.pop("type"), **event)  # keeps vision's event_id and ts
            self.stats.events += 1
