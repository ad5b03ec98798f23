"""Face detectors, one plug-in per file (see :mod:`vision.plugins`): CenterFace, YuNet, SCRFD through
ONNX Runtime, and Haar as the model-free fallback."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from vision.detectors.base import Detection, FaceDetector
from vision.plugins import discover

DETECTORS = discover(sys.modules[__name__])

__all__ = ["DETECTORS", "Detection", "FaceDetector", "build_detector"]


def build_detector(config: Any, providers: Sequence[str] | None = None, threads: int = 0) -> FaceDetector:
    """The detector a config section names; ONNX ones are checksum-verified before loading."""
    detector: FaceDetector = DETECTORS[config.type].build(config, providers, threads)
    return detector
