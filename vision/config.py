"""``cameras.yaml``: the one file that says what a store-side vision box runs.

Every model forbids unknown keys (a misspelt ``max_latncy_ms`` must fail at start-up, not silently
fall back to a default), and the detector / attribute sections are unions discriminated on ``type``
so each adapter declares exactly the options it understands. The sections' classes live in the
plug-ins (one file per model kind, :mod:`vision.plugins`); this module only assembles them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import Field, field_validator

from vision.attributes import ATTRIBUTE_MODELS
from vision.detectors import DETECTORS
from vision.detectors.haar import HaarConfig
from vision.plugins import config_union
from vision.schema import ModelFile, StrictModel

CameraKind = Literal["lead_in", "mirror", "entrance_camera"]
Provider = Literal["tensorrt", "cuda", "cpu"]


if TYPE_CHECKING:  # the unions are built at import time from the plug-ins found
    DetectorConfig = Any
    AttributesConfig = Any
else:
    DetectorConfig = config_union(DETECTORS)
    AttributesConfig = config_union(ATTRIBUTE_MODELS)


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
    realtime: bool = False  # play a file at its own frame rate, as a camera would (benchmarks, rehearsals)

    @property
    def is_live(self) -> bool:
        """Files can wait for the pipeline; cameras cannot, so only they drop frames."""
        if isinstance(self.source, int) or str(self.source).isdigit():
            return True
        return "://" in str(self.source) or self.realtime

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
    detect_every_n_frames: int = Field(1, ge=1, le=30)  # detector on every n-th frame per camera; tracks carry
    attribute_every_n_frames: int = Field(1, ge=1, le=60)  # attribute models on every n-th detected frame

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
    resolve_paths(config.models, path.parent)
    return config


def resolve_paths(section: StrictModel, base: Path) -> None:
    """Make every relative file path of a config section (and its sub-sections) relative to ``base``."""
    for name, value in section:
        if isinstance(value, Path) and not value.is_absolute():
            setattr(section, name, (base / value).resolve())
        elif isinstance(value, StrictModel):
            resolve_paths(value, base)


def model_files(section: Any) -> list[Any]:
    """The ``ModelFile`` entries of a model section (a plug-in may have several), in field order."""
    if isinstance(section, ModelFile):
        return [section]
    if isinstance(section, StrictModel):
        return [f for _, value in section for f in model_files(value)]
    return []
