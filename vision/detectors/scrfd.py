"""SCRFD (InsightFace ``det_500m.onnx`` / ``det_10g.onnx``) through ONNX Runtime.

Signature: input ``input.1`` 1×3×640×640 (dynamic H×W in some exports), RGB, (x − 127.5) / 128;
nine outputs in order score×3, bbox×3, kps×3 for strides 8, 16, 32, two anchors per cell, shaped
(N, k) or (1, N, k) with N = (640/s)²·2. Scores are already sigmoid; boxes are distances
(left, top, right, bottom) from the anchor centre (col·s, row·s) in stride units, as in InsightFace's
``scrfd.py`` (``distance2bbox`` / ``distance2kps``).
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
ANCHORS = 2


class ScrfdConfig(ModelFile):
    type: Literal["scrfd"]
    input_size: int = Field(640, gt=0, multiple_of=32)
    score_threshold: float = Field(0.5, ge=0, le=1)
    nms_threshold: float = Field(0.4, ge=0, le=1)


class ScrfdDetector:
    name = "scrfd"

    def __init__(self, model: OnnxModel, config: ScrfdConfig) -> None:
        if len(model.output_names) != 9:
            raise ModelError(
                f"SCRFD with keypoints has 9 outputs, this graph has {len(model.output_names)}; "
                "det_500m/det_10g exports are expected"
            )
        self.model = model
        self.config = config
        self.height, self.width = model.spatial_size(config.input_size)
        self._centres = {s: self._anchor_centres(s) for s in STRIDES}

    def _anchor_centres(self, stride: int) -> np.ndarray:
        rows, cols = self.height // stride, self.width // stride
        grid = np.stack(list(np.mgrid[:rows, :cols][::-1]), axis=-1).reshape(-1, 2).astype(np.float32) * stride
        return np.repeat(grid, ANCHORS, axis=0)

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not frames:
            return []
        boxed = [letterbox(f, self.height, self.width) for f in frames]
        rgb = np.stack([canvas[..., ::-1] for canvas, _ in boxed]).transpose(0, 3, 1, 2)
        blob = (rgb.astype(np.float32) - 127.5) / 128.0
        # Batch-1 exports with 2-D outputs come back concatenated as (B·N, k); per_frame splits them.
        outputs = self.model.run(np.ascontiguousarray(blob))
        return [
            self._decode(outputs, i, scale, frame.shape, len(frames))
            for i, ((_, scale), frame) in enumerate(zip(boxed, frames, strict=True))
        ]

    def _decode(
        self, outputs: list[np.ndarray], i: int, scale: float, shape: tuple[int, ...], batch: int
    ) -> list[Detection]:
        def per_frame(k: int) -> np.ndarray:
            out = outputs[k]
            if out.ndim == 3:
                return np.asarray(out[i])
            return out if batch == 1 else out.reshape(batch, -1, out.shape[-1])[i]

        all_boxes, all_scores, all_kps = [], [], []
        for level, s in enumerate(STRIDES):
            scores = per_frame(level).reshape(-1)
            idx = np.flatnonzero(scores >= self.config.score_threshold)
            if not len(idx):
                continue
            centres = self._centres[s][idx]
            dist = per_frame(level + 3).reshape(-1, 4)[idx] * s
            all_boxes.append(np.concatenate([centres - dist[:, :2], centres + dist[:, 2:]], axis=1))
            all_scores.append(scores[idx])
            kps = per_frame(level + 6).reshape(-1, 5, 2)[idx] * s + centres[:, None, :]
            all_kps.append(kps.reshape(-1, 10))
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
    "scrfd",
    ScrfdConfig,
    lambda config, providers, threads: ScrfdDetector(OnnxModel(config.path, providers, config.sha256, threads), config),
)
