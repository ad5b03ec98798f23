"""InsightFace ``genderage.onnx`` (the ``buffalo_*`` packs): ``data`` N×3×96×96 → ``fc1`` N×3.

Output columns are (female, male, age / 100), as read by InsightFace's ``Attribute.get``: gender is
the argmax of the first two, age is ``round(100 · fc1[2])``. Input is RGB; the released MXNet-converted
model starts with a ``bn_data`` node and takes raw 0–255 values, other exports take (x − 127.5) / 128 —
the same rule InsightFace applies by looking at the first graph nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from vision.attributes.base import FaceAttributes, age_in_years, centre_crop, gender_call
from vision.detectors.base import Detection
from vision.plugins import Plugin
from vision.runtime import ModelError, OnnxModel
from vision.schema import ModelFile


class GenderAgeConfig(ModelFile):
    """InsightFace ``genderage.onnx``: ``data`` N×3×96×96 → ``fc1`` N×3 (female, male, age/100)."""

    type: Literal["genderage"]
    min_gender_confidence: float = Field(0.6, ge=0.5, le=1)


def raw_pixel_input(model_path: str) -> bool:
    """InsightFace's rule: an MXNet export (``bn_data`` or Sub+Mul up front) normalises internally."""
    import onnx  # only needed to read node names, once at load time

    graph = onnx.load(model_path, load_external_data=False).graph
    names = [node.name for node in graph.node[:8]]
    has_sub = any(n.startswith(("Sub", "_minus")) for n in names)
    has_mul = any(n.startswith(("Mul", "_mul")) for n in names)
    return "bn_data" in names[:3] or (has_sub and has_mul)


class GenderAgeModel:
    name = "genderage"

    def __init__(self, model: OnnxModel, config: GenderAgeConfig, raw_pixels: bool) -> None:
        width = model.output_shapes[0][-1]
        if isinstance(width, int) and width != 3:
            raise ModelError(f"genderage output must be N×3 (female, male, age/100), got {model.output_shapes[0]}")
        self.model = model
        self.config = config
        self.size = model.spatial_size(96)[0]
        self.mean, self.std = (0.0, 1.0) if raw_pixels else (127.5, 128.0)

    def predict(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> list[FaceAttributes]:
        if not faces:
            return []
        crops = np.stack([centre_crop(frame, det, self.size)[..., ::-1] for frame, det in faces])
        blob = ((crops.astype(np.float32) - self.mean) / self.std).transpose(0, 3, 1, 2)
        fc1 = self.model.run(np.ascontiguousarray(blob))[0].reshape(len(faces), -1)
        results = []
        for row in fc1:
            gender, confidence = gender_call(row[:2], ("female", "male"), self.config.min_gender_confidence)
            results.append(FaceAttributes(gender, age_in_years(float(row[2]) * 100), confidence))
        return results


def _build(config: GenderAgeConfig, providers: Sequence[str] | None, threads: int) -> GenderAgeModel:
    model = OnnxModel(config.path, providers, config.sha256, threads)
    return GenderAgeModel(model, config, raw_pixel_input(str(config.path)))


PLUGIN = Plugin("genderage", GenderAgeConfig, _build)
