"""What an attribute model says about one face, and the crop every model is fed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from recsys.attributes import Gender, age_bucket
from vision.detectors.base import Detection


@dataclass(frozen=True, slots=True)
class FaceAttributes:
    """Gender, age in years and the model's confidence in the gender call.

    Anything the model could not tell stays ``unknown`` / ``None``: the recommendation side has
    explicit unknown cells for it, so a guess would only add noise that looks like signal.
    """

    gender: Gender
    age: int | None
    confidence: float

    @property
    def age_bucket(self) -> str:
        return age_bucket(self.age)


UNKNOWN_ATTRIBUTES = FaceAttributes("unknown", None, 0.0)


class AttributeModel(Protocol):
    """Attributes for a batch of (frame, detection) pairs, possibly from different cameras."""

    name: str

    def predict(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> list[FaceAttributes]: ...


class UnknownAttributes:
    """Used when no attribute model is configured: every face is reported, nothing is invented."""

    name = "unknown"

    def predict(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> list[FaceAttributes]:
        return [UNKNOWN_ATTRIBUTES] * len(faces)


def centre_crop(frame: np.ndarray, detection: Detection, size: int, crop_scale: float = 1.5) -> np.ndarray:
    """A ``size``×``size`` crop centred on the box, ``crop_scale`` times its longer side.

    This is InsightFace's ``face_align.transform`` with no rotation, the crop ``genderage`` was
    trained on; the crop lives in memory only and is dropped with the batch.
    """
    x1, y1, x2, y2 = detection.box
    scale = size / (max(x2 - x1, y2 - y1) * crop_scale)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    matrix = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]], np.float32)
    return cv2.warpAffine(frame, matrix, (size, size), borderValue=(0, 0, 0))


def gender_call(logits: np.ndarray, labels: Sequence[Gender], min_confidence: float) -> tuple[Gender, float]:
    """Softmax over two gender logits; below ``min_confidence`` the answer is ``unknown``."""
    shifted = np.exp(logits - logits.max())
    probs = shifted / shifted.sum()
    best = int(np.argmax(probs))
    confidence = float(probs[best])
    return (labels[best] if confidence >= min_confidence else "unknown"), round(confidence, 4)


def age_in_years(value: float) -> int | None:
    """Round to whole years, refusing values no face can have instead of clipping them into range."""
    if not np.isfinite(value) or value < 0 or value > 110:
        return None
    return int(round(value))
