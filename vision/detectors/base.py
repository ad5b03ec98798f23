"""What every face detector returns, and the geometry helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Detection:
    """One face in source-frame pixels: ``box`` is (x1, y1, x2, y2).

    ``landmarks`` are five (x, y) points — two eyes, nose tip, two mouth corners — or ``None`` for
    detectors that give none (Haar). They stay inside the process: events never carry coordinates.
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = field(default=None, compare=False)

    @property
    def size(self) -> float:
        return max(self.box[2] - self.box[0], self.box[3] - self.box[1])

    def facing_screen(self, max_yaw_ratio: float = 0.35) -> bool:
        """Whether the face looks at the camera (the screen it sits on).

        A yaw proxy: the nose tip's horizontal offset from the eyes' midpoint, relative to the eye
        distance, is ~0 for a frontal face and grows as the head turns. Without landmarks the
        detector is frontal-only (Haar's frontal cascade), so a detection is a frontal face.
        """
        if self.landmarks is None:
            return True
        (ex1, _), (ex2, _), (nx, _) = self.landmarks[0], self.landmarks[1], self.landmarks[2]
        eye_distance = abs(ex2 - ex1)
        if eye_distance < 1e-3:
            return False
        return bool(abs(nx - (ex1 + ex2) / 2) / eye_distance <= max_yaw_ratio)


class FaceDetector(Protocol):
    """Batch in, one list of detections per frame out; frames are BGR ``uint8`` H×W×3."""

    name: str

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]: ...


def letterbox(frame: np.ndarray, height: int, width: int) -> tuple[np.ndarray, float]:
    """Resize keeping aspect ratio into the top-left of a zero canvas, as both YuNet's and
    InsightFace's reference code do; returns the canvas and the scale to map boxes back."""
    h, w = frame.shape[:2]
    scale = min(width / w, height / h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    canvas = np.zeros((height, width, 3), np.uint8)
    canvas[:nh, :nw] = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_LINEAR) if scale != 1 else frame
    return canvas, scale


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two (N, 4) and (M, 4) x1y1x2y2 arrays."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return np.asarray(inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9))


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, top_k: int = 750) -> np.ndarray:
    """Greedy non-maximum suppression; indices of the kept boxes, best first."""
    order = np.argsort(-scores, kind="stable")[: top_k * 4]
    keep: list[int] = []
    while len(order) and len(keep) < top_k:
        best, order = order[0], order[1:]
        keep.append(int(best))
        if len(order):
            order = order[iou_matrix(boxes[best : best + 1], boxes[order])[0] <= threshold]
    return np.asarray(keep, np.int64)


def to_detections(
    boxes: np.ndarray,
    scores: np.ndarray,
    kps: np.ndarray | None,
    scale: float,
    nms_threshold: float,
    frame_shape: tuple[int, ...],
) -> list[Detection]:
    """NMS in model space, then map back to the source frame and clip to it."""
    keep = nms(boxes, scores, nms_threshold)
    h, w = frame_shape[:2]
    found = []
    for i in keep:
        x1, y1, x2, y2 = (boxes[i] / scale).tolist()
        box = (max(0.0, x1), max(0.0, y1), min(float(w), x2), min(float(h), y2))
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        points = None if kps is None else (kps[i].reshape(5, 2) / scale).astype(np.float32)
        found.append(Detection(box, float(scores[i]), points))
    return found
