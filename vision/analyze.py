"""Single-frame analysis for frames that devices post (``POST /v1/vision/frames``).

The service route hands the request body to :meth:`FrameAnalyzer.analyze` and returns the result;
the frame is decoded in memory, its pixels are zeroed once the faces are read, and nothing of it is
kept. The result holds attributes and counts only — no boxes — because that is all a screen needs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vision.attributes import AttributeModel, FaceAttributes, UnknownAttributes, build_attributes
from vision.config import CameraKind, ModelsConfig, model_files
from vision.detectors import FaceDetector, build_detector
from vision.detectors.haar import HaarDetector
from vision.events import audience_event, group_label, store_visit_event
from vision.runtime import ModelError, sha256_of

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 8 * 1024 * 1024
MAX_SIDE = 4096


class UndecodableImage(ValueError):
    """The bytes are not a JPEG/PNG frame this service accepts (the route answers 422)."""


@dataclass(frozen=True, slots=True)
class FaceResult:
    gender: str
    age: int | None
    age_bucket: str
    confidence: float
    attention: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "gender": self.gender,
            "age": self.age,
            "age_bucket": self.age_bucket,
            "confidence": self.confidence,
            "attention": self.attention,
        }


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """What one frame says about its audience; JSON-ready through :meth:`to_dict`."""

    screen_kind: CameraKind
    faces: list[FaceResult] = field(default_factory=list)

    @property
    def group_size(self) -> int:
        return len(self.faces)

    @property
    def attention(self) -> float:
        return sum(f.attention for f in self.faces) / len(self.faces) if self.faces else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "screen_kind": self.screen_kind,
            "faces": [f.to_dict() for f in self.faces],
            "group_size": self.group_size,
            "attention": round(self.attention, 3),
        }

    def _attributes(self) -> list[FaceAttributes]:
        return [FaceAttributes(f.gender, f.age, f.confidence) for f in self.faces]  # type: ignore[arg-type]

    def to_audience_event(self, screen_id: str) -> dict[str, Any] | None:
        """The ``audience`` event for this frame, or ``None`` when nobody is in it."""
        if not self.faces:
            return None
        return audience_event(screen_id, self._attributes(), group_size=self.group_size, attention=self.attention)

    def to_store_visit_events(self, screen_id: str) -> list[dict[str, Any]]:
        """One ``store_visit`` per face. A single frame cannot be tracked, so a device that posts
        frames from an entrance must post each visitor once (e.g. on a door trigger)."""
        attrs = self._attributes()
        group = group_label(attrs)
        return [store_visit_event(screen_id, a, group) for a in attrs]

    def to_events(self, screen_id: str) -> list[dict[str, Any]]:
        if self.screen_kind == "entrance_camera":
            return self.to_store_visit_events(screen_id)
        event = self.to_audience_event(screen_id)
        return [event] if event else []


def decode_image(image_bytes: bytes) -> np.ndarray:
    """JPEG/PNG bytes → BGR array, in memory; rejects empty, oversized and non-image bodies."""
    if not image_bytes:
        raise UndecodableImage("empty body; send a JPEG or PNG frame")
    if len(image_bytes) > MAX_IMAGE_BYTES:
        raise UndecodableImage(f"frame is {len(image_bytes)} bytes; the limit is {MAX_IMAGE_BYTES}")
    if not (image_bytes[:3] == b"\xff\xd8\xff" or image_bytes[:8] == b"\x89PNG\r\n\x1a\n"):
        raise UndecodableImage("not a JPEG or PNG image")
    frame = cv2.imdecode(np.frombuffer(image_bytes, np.uint8), cv2.IMREAD_COLOR)
    if frame is None or frame.size == 0:
        raise UndecodableImage("the image could not be decoded; it may be truncated")
    if max(frame.shape[:2]) > MAX_SIDE:
        frame.fill(0)
        raise UndecodableImage(f"frame is {frame.shape[1]}×{frame.shape[0]}; the limit is {MAX_SIDE} px a side")
    return frame


def describe_models(models: ModelsConfig) -> list[dict[str, Any]]:
    """What a model set loads — role, type, file name, sha256 — for ``GET /v1/vision/models``."""
    described: list[dict[str, Any]] = []
    for role, section in (("detector", models.detector), ("attributes", models.attributes)):
        if section is None:
            described.append({"role": role, "type": "unknown", "file": None, "sha256": None})
            continue
        files = model_files(section) or [None]
        for f in files:
            digest = None if f is None else (f.sha256 or sha256_of(f.path)).lower()
            described.append({"role": role, "type": section.type, "file": f and f.path.name, "sha256": digest})
    return described


class FrameAnalyzer:
    """Detector + attribute model for one frame at a time (the HTTP path; streams use the pipeline).

    Build it once at service start-up (models load in seconds) and share it; ``analyze`` is
    thread-compatible as ONNX Runtime sessions are, and holds no state between calls.
    """

    def __init__(
        self,
        detector: FaceDetector | None = None,
        attributes: AttributeModel | None = None,
        models: list[dict[str, Any]] | None = None,
    ) -> None:
        self.detector = detector or HaarDetector()
        self.attributes = attributes or UnknownAttributes()
        self.models = models if models is not None else describe_models(ModelsConfig())
        self.problem: str | None = None  # why the default set is not in use, when it is installed but refused

    @classmethod
    def from_config(cls, models: ModelsConfig, providers: list[str] | None = None) -> FrameAnalyzer:
        detector, attributes = (
            build_detector(models.detector, providers),
            build_attributes(models.attributes, providers),
        )
        return cls(detector, attributes, describe_models(models))

    @classmethod
    def default(cls, model_dir: Path | None = None, providers: list[str] | None = None) -> FrameAnalyzer:
        """CenterFace + Cydral when the default set is installed in ``model_dir``, else Haar + unknown.

        A file that fails its pinned sha256 is refused: the fallback serves instead, the error is
        logged and kept in :attr:`problem` (``GET /v1/vision/models`` shows it)."""
        from vision.model_set import default_models

        models = default_models(model_dir)
        if models is None:
            return cls()
        try:
            return cls.from_config(models, providers)
        except ModelError as exc:
            log.error("default vision models refused, using Haar + unknown: %s", exc)
            fallback = cls()
            fallback.problem = str(exc)
            return fallback

    def analyze(self, image_bytes: bytes, screen_kind: CameraKind = "lead_in") -> AnalysisResult:
        """Decode, detect, estimate, then zero the pixels; raises :class:`UndecodableImage`."""
        frame = decode_image(image_bytes)
        try:
            return self.analyze_array(frame, screen_kind)
        finally:
            frame.fill(0)

    def analyze_array(self, frame: np.ndarray, screen_kind: CameraKind = "lead_in") -> AnalysisResult:
        detections = self.detector.detect([frame])[0]
        attrs = self.attributes.predict([(frame, d) for d in detections])
        faces = [
            FaceResult(a.gender, a.age, a.age_bucket, a.confidence, d.facing_screen())
            for a, d in zip(attrs, detections, strict=True)
        ]
        return AnalysisResult(screen_kind, faces)
