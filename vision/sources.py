"""Camera sources read with OpenCV: RTSP/HTTP URLs, USB indices and video files.

Decoding happens here, in the camera's own capture process; frames never touch the disk on the way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import cv2
import numpy as np

from vision.config import CameraConfig


class SourceError(RuntimeError):
    """A camera source could not be opened."""


def open_source(source: str | int) -> cv2.VideoCapture:
    target: str | int = int(source) if isinstance(source, int) or str(source).isdigit() else str(source)
    capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        raise SourceError(f"cannot open camera source {source!r}; check the URL, device index or file path")
    return capture


def fit(frame: np.ndarray, max_height: int, max_width: int) -> np.ndarray:
    """Downscale (never upscale) into the ring's slot size; faces worth counting survive 720p."""
    h, w = frame.shape[:2]
    scale = min(max_height / h, max_width / w)
    if scale >= 1:
        return frame
    return cv2.resize(frame, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def read_frames(camera: CameraConfig, max_frames: int | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """(stream time in seconds, BGR frame) at the camera's configured ``fps``.

    Files are sampled every n-th frame and timed by their own clock, so a file plays faster than
    real time but dwell stays in real seconds; live sources are sampled by wall clock. A file with
    ``realtime`` is held back to its own frame rate, so it arrives as a camera's frames would.
    """
    capture = open_source(camera.source)
    try:
        source_fps = capture.get(cv2.CAP_PROP_FPS) or camera.fps
        step = max(1, round(source_fps / camera.fps))
        index, sent, last, started = -1, 0, -1e9, time.monotonic()
        while max_frames is None or sent < max_frames:
            if camera.realtime:
                time.sleep(max(0.0, started + (index + 1) / source_fps - time.monotonic()))
            ok, frame = capture.read()
            if not ok:
                return
            index += 1
            if camera.realtime:
                if index % step:
                    continue
                stream_ts = index / source_fps
            elif camera.is_live:
                now = time.monotonic()
                if now - last < 1 / camera.fps:
                    continue
                last, stream_ts = now, now
            elif index % step:
                continue
            else:
                stream_ts = index / source_fps
            sent += 1
            yield stream_ts, frame
    finally:
        capture.release()
