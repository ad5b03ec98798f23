"""The fallback detector: OpenCV's Viola–Jones frontal-face cascade (``cv2.data.haarcascades``).

It needs no model file, so a box without downloaded weights still counts faces. It is frontal-only,
which is also why every Haar detection counts as looking at the screen. OpenCV 5 dropped the cascade
classifier and its data files; the fallback therefore needs ``opencv-python-headless < 5``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from vision.detectors.base import Detection
from vision.plugins import Plugin
from vision.runtime import ModelError
from vision.schema import StrictModel

CASCADE = "haarcascade_frontalface_default.xml"
WORK_SIDE = 640  # Haar cost grows with pixels; faces worth counting survive this downscale


class HaarConfig(StrictModel):
    """OpenCV's frontal-face cascade: no file to configure, it ships with ``opencv-python``."""

    type: Literal["haar"] = "haar"
    min_face_px: int = Field(40, gt=0)
    min_neighbors: int = Field(5, gt=0)


class HaarDetector:
    name = "haar"

    def __init__(self, config: HaarConfig | None = None) -> None:
        self.config = config or HaarConfig()
        data = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not hasattr(cv2, "CascadeClassifier") or not data or not (Path(data) / CASCADE).is_file():
            raise ModelError(
                f"OpenCV {cv2.__version__} has no Haar cascades (OpenCV 5 removed them); "
                "install opencv-python-headless<5 or configure a YuNet/SCRFD detector"
            )
        self.cascade = cv2.CascadeClassifier(str(Path(data) / CASCADE))

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: np.ndarray) -> list[Detection]:
        h, w = frame.shape[:2]
        scale = min(1.0, WORK_SIDE / max(h, w))
        small = cv2.resize(frame, (round(w * scale), round(h * scale))) if scale < 1 else frame
        grey = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY))
        min_side = max(12, round(self.config.min_face_px * scale))
        rects = self.cascade.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=self.config.min_neighbors, minSize=(min_side, min_side)
        )
        return [
            Detection((x / scale, y / scale, (x + fw) / scale, (y + fh) / scale), 1.0)
            for x, y, fw, fh in (rects if len(rects) else [])
        ]


PLUGIN = Plugin("haar", HaarConfig, lambda config, providers, threads: HaarDetector(config))
