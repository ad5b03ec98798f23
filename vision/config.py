"""``cameras.yaml``: the one file that says what a store-side vision box runs.

Every model forbids unknown keys (a misspelt ``max_latncy_ms`` must fail at start-up, not silently
fall back to a default), and the detector / attribute sections are unions discriminated on ``type``
so each adapter declares exactly the options it understands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

CameraKind = Literal["lead_in", "mirror", "entrance_camera"]
Provider = Literal["tensorrt", "cuda", "cpu"]


class StrictModel(BaseModel):
    """Shared base: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class ModelFile(StrictModel):
    """A model file on disk, pinned by its sha256; ``url`` is only used by ``models fetch``."""

    path: Path
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    url: str | None = None


class YuNetConfig(ModelFile):
    type: Literal["yunet"]
    score_threshold: float = Field(0.6, ge=0, le=1)
    nms_threshold: float = Field(0.3, ge=0, le=1)


class ScrfdConfig(ModelFile):
    type: Literal["scrfd"]
    input_size: int = Field(640, gt=0, multiple_of=32)
    score_threshold: float = Field(0.5, ge=0, le=1)
    nms_threshold: float = Field(0.4, ge=0, le=1)


class HaarConfig(StrictModel):
    """OpenCV's frontal-face cascade: no file to configure, it ships with ``opencv-python``."""

    type: Literal["haar"] = "haar"
    min_face_px: int = Field(40, gt=0)
    min_neighbors: int = Field(5, gt=0)


DetectorConfig = Annotated[YuNetConfig | ScrfdConfig | HaarConfig, Field(discriminator="type")]


class GenderAgeConfig(ModelFile):
    """InsightFace ``genderage.onnx``: ``data`` N×3×96×96 → ``fc1`` N×3 (female, male, age/100)."""

    type: Literal["genderage"]
    min_gender_confidence: float = Field(0.6, ge=0.5, le=1)


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


AttributesConfig = Annotated[GenderAgeConfig | GenericHeadConfig, Field(discriminator="type")]


class ModelsConfig(StrictModel):
    detector: DetectorConfig = Field(default_factory=HaarConfig)
    attributes: AttributesConfig | None = None


class CameraConfig(StrictModel):
    """One camera; ``screen_id`` is what events carry (the screen or entrance the camera serves)."""

    screen_id: str = Field(min_length=1)
    kind: CameraKind = "lead_in"
    source: str | int
    fps: float = Field(15.0, gt=0, le=120)
    drop_when_behind: bool | None = None  # None: live sources drop, files wait

    @property
    def is_live(self) -> bool:
        """Files can wait for the pipeline; cameras cannot, so only they drop frames."""
        if isinstance(self.source, int) or str(self.source).isdigit():
            return True
        return "://" in str(self.source)

    @property
    def drops_frames(self) -> bool:
        return self.is_live if self.drop_when_behind is None else self.drop_when_behind


class BatchingConfig(StrictModel):
    max_batch: int = Field(16, ge=1, le=1024)
    max_latency_ms: float = Field(20.0, ge=0, le=1000)


class RingConfig(StrictModel):
    slots: int = Field(32, ge=2, le=4096)
    max_width: int = Field(1280, ge=32)
    max_height: int = Field(720, ge=32)


class TrackingConfig(StrictModel):
    iou_threshold: float = Field(0.3, ge=0, le=1)
    forget_after_s: float = Field(2.0, gt=0, le=30)
    min_hits: int = Field(2, ge=1)
    emit_interval_s: float = Field(2.0, gt=0)


class SinkConfig(StrictModel):
    url: str
    token: str
    timeout_s: float = Field(5.0, gt=0)


class VisionConfig(StrictModel):
    cameras: list[CameraConfig] = Field(min_length=1)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    providers: list[Provider] | None = None  # None: TensorRT > CUDA > CPU, whichever is installed
    batching: BatchingConfig = Field(default_factory=BatchingConfig)
    ring: RingConfig = Field(default_factory=RingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    sink: SinkConfig | None = None
    threads: int = Field(0, ge=0, le=256)  # ONNX Runtime intra-op threads per stage; 0: its default

    @field_validator("cameras")
    @classmethod
    def _unique_cameras(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        pairs = [(c.screen_id, str(c.source)) for c in cameras]
        if len(set(pairs)) != len(pairs):
            raise ValueError("a camera is listed twice (same screen_id and source); remove the duplicate")
        return cameras


def load_config(path: str | Path) -> VisionConfig:
    """Read and validate ``cameras.yaml``; relative model paths are resolved against its folder."""
    path = Path(path)
    raw = yaml.safe_load(path.read_text()) or {}
    config = VisionConfig.model_validate(raw)
    for model in (config.models.detector, config.models.attributes):
        if isinstance(model, ModelFile) and not model.path.is_absolute():
            model.path = (path.parent / model.path).resolve()
    return config
