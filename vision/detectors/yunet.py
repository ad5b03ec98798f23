"""YuNet (OpenCV Zoo ``face_detection_yunet_2023mar.onnx``) through ONNX Runtime.

Signature: input ``input`` 1×3×640×640, BGR ``uint8`` values as float, no mean or scale; twelve
outputs ``cls_{8,16,32}`` (1×N×1), ``obj_{s}`` (1×N×1), ``bbox_{s}`` (1×N×4: dx, dy, log w, log h in
stride units) and ``kps_{s}`` (1×N×10), N = (640/s)². Decoding follows OpenCV's ``FaceDetectorYN``:
score = √(clip(cls)·clip(obj)), centre = (col + dx, row + dy)·s, size = exp(log w/h)·s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from vision.detectors.base import Detection, letterbox, to_detections
from vision.plugins import Plugin
from vision.runtime import ModelError, OnnxModel
from vision.schema import ModelFile

STRIDES = (8, 16, 32)


class YuNetConfig(ModelFile):
    type: Literal["yunet"]
    score_threshold: float = Field(0.6, ge=0, le=1)
    nms_threshold: float = Field(0.3, ge=0, le=1)


class YuNetDetector:
    name = "yunet"

    def __init__(self, model: OnnxModel, config: YuNetConfig) -> None:
        expected = {f"{k}_{s}" for k in ("cls", "obj", "bbox", "kps") for s in STRIDES}
        if not expected <= set(model.output_names):
            raise ModelError(f"not a YuNet 2023mar graph: outputs {model.output_names}, need {sorted(expected)}")
        self.model = model
        self.config = config
        self.height, self.width = model.spatial_size(640)

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not frames:
            return []
        boxed = [letterbox(f, self.height, self.width) for f in frames]
        blob = np.stack([canvas for canvas, _ in boxed]).transpose(0, 3, 1, 2).astype(np.float32)
        outputs = dict(zip(self.model.output_names, self.model.run(blob), strict=True))
        return [
            self._decode(outputs, i, scale, frame.shape)
            for i, ((_, scale), frame) in enumerate(zip(boxed, frames, strict=True))
        ]

    def _decode(self, outputs: dict[str, np.ndarray], i: int, scale: float, shape: tuple[int, ...]) -> list[Detection]:
        all_boxes, all_scores, all_kps = [], [], []
        for s in STRIDES:
            cols = self.width // s
            cls = np.clip(outputs[f"cls_{s}"][i].reshape(-1), 0, 1)
            obj = np.clip(outputs[f"obj_{s}"][i].reshape(-1), 0, 1)
            score = np.sqrt(cls * obj)
            idx = np.flatnonzero(score >= self.config.score_threshold)
            if not len(idx):
                continue
            cell = np.stack([idx % cols, idx // cols], axis=1).astype(np.float32)
            bbox = outputs[f"bbox_{s}"][i].reshape(-1, 4)[idx]
            centre = (cell + bbox[:, :2]) * s
            size = np.exp(bbox[:, 2:]) * s
            all_boxes.append(np.concatenate([centre - size / 2, centre + size / 2], axis=1))
            all_scores.append(score[idx])
            kps = outputs[f"kps_{s}"][i].reshape(-1, 5, 2)[idx]
            all_kps.append(((kps + cell[:, None, :]) * s).reshape(-1, 10))
        if not all_boxes:
            return []
        return to_detections(
            np.concatenate(all_boxes),
            np.concatenate(all_scores),
            np.concatenate(all_kps),
            scale,
            self.config.nms_threshold,
            shape,
        )


PLUGIN = Plugin(
    "yunet",
    YuNetConfig,
    lambda config, providers, threads: YuNetDetector(OnnxModel(config.path, providers, config.sha256, threads), config),
)
