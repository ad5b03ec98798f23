"""A generic attribute head: one gender-logits output (N×2) and one age output.

The age output is either N×1 (years × ``age_scale``) or N×K class scores read as the expected value
over ages 0..K−1 (DEX-style heads). Outputs are told apart by shape, so the head can be any export.
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


class GenericHeadConfig(ModelFile):
    """Any head with a gender-logits output (N×2) and an age output (N×1 years, or N×K classes)."""

    type: Literal["generic"]
    input_size: int = Field(112, gt=0)
    channel_order: Literal["rgb", "bgr"] = "rgb"
    mean: float = 127.5
    std: float = 128.0
    gender_labels: tuple[Literal["female", "male"], Literal["female", "male"]] = ("female", "male")
    age_scale: float = 1.0
    crop_scale: float = Field(1.5, gt=0)
    min_gender_confidence: float = Field(0.6, ge=0.5, le=1)


class GenericHeadModel:
    name = "generic"

    def __init__(self, model: OnnxModel, config: GenericHeadConfig) -> None:
        widths = [shape[-1] if len(shape) > 1 else 1 for shape in model.output_shapes]
        if len(widths) != 2 or 2 not in widths:
            raise ModelError(f"generic head needs outputs (N×2 gender logits, N×1|K age), got {model.output_shapes}")
        self.gender_index = widths.index(2) if widths.count(2) == 1 else 0
        self.model = model
        self.config = config

    def predict(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> list[FaceAttributes]:
        if not faces:
            return []
        cfg = self.config
        crops = np.stack([centre_crop(f, d, cfg.input_size, cfg.crop_scale) for f, d in faces])
        if cfg.channel_order == "rgb":
            crops = crops[..., ::-1]
        blob = ((crops.astype(np.float32) - cfg.mean) / cfg.std).transpose(0, 3, 1, 2)
        outputs = self.model.run(np.ascontiguousarray(blob))
        gender_logits = outputs[self.gender_index].reshape(len(faces), 2)
        ages = self._ages(outputs[1 - self.gender_index].reshape(len(faces), -1))
        results = []
        for logits, age in zip(gender_logits, ages, strict=True):
            gender, confidence = gender_call(logits, cfg.gender_labels, cfg.min_gender_confidence)
            results.append(FaceAttributes(gender, age_in_years(float(age)), confidence))
        return results

    def _ages(self, raw: np.ndarray) -> np.ndarray:
        if raw.shape[1] == 1:
            return raw[:, 0] * self.config.age_scale
        probs = np.exp(raw - raw.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        return np.asarray(probs @ np.arange(raw.shape[1], dtype=np.float32))


PLUGIN = Plugin(
    "generic",
    GenericHeadConfig,
    lambda config, providers, threads: GenericHeadModel(
        OnnxModel(config.path, providers, config.sha256, threads), config
    ),
)
