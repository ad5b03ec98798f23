"""Face detectors: YuNet and SCRFD through ONNX Runtime, Haar as the model-free fallback."""

from __future__ import annotations

from collections.abc import Sequence

from vision.config import HaarConfig, ScrfdConfig, YuNetConfig
from vision.detectors.base import Detection, FaceDetector
from vision.detectors.haar import HaarDetector
from vision.detectors.scrfd import ScrfdDetector
from vision.detectors.yunet import YuNetDetector
from vision.runtime import OnnxModel

__all__ = ["Detection", "FaceDetector", "HaarDetector", "ScrfdDetector", "YuNetDetector", "build_detector"]


def build_detector(
    config: YuNetConfig | ScrfdConfig | HaarConfig, providers: Sequence[str] | None = None, threads: int = 0
) -> FaceDetector:
    """The detector a config names; ONNX ones are checksum-verified before loading."""
    if isinstance(config, HaarConfig):
        return HaarDetector(config)
    model = OnnxModel(config.path, providers, config.sha256, threads)
    if isinstance(config, YuNetConfig):
        return YuNetDetector(model, config)
    return ScrfdDetector(model, config)
