"""cameras.yaml validation and provider choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vision.config import load_config
from vision.detectors.haar import HaarConfig
from vision.runtime import choose_providers, cuda_available

EXAMPLE = Path(__file__).parents[2] / "docs" / "vision.md"


def test_the_documented_example_config_is_valid(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    yaml_block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "cameras.yaml").write_text(yaml_block)
    config = load_config(tmp_path / "cameras.yaml")
    assert {c.kind for c in config.cameras} == {"lead_in", "mirror", "entrance_camera"}
    assert config.models.detector.path.is_absolute()  # type: ignore[union-attr]


def test_defaults_need_no_model_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("cameras: [{screen_id: s, source: 0}]\n")
    config = load_config(tmp_path / "c.yaml")
    assert isinstance(config.models.detector, HaarConfig) and config.models.attributes is None
    assert config.cameras[0].is_live and config.cameras[0].drops_frames


def test_unknown_keys_and_detector_types_are_refused(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "cameras: [{screen_id: s, source: a.mp4}]\nmodels: {detector: {type: retinaface, path: x.onnx}}\n"
    )
    with pytest.raises(ValidationError):
        load_config(tmp_path / "c.yaml")


def test_files_wait_and_rtsp_streams_drop() -> None:
    from vision.config import CameraConfig

    assert not CameraConfig(screen_id="s", source="walk.mp4").drops_frames
    assert CameraConfig(screen_id="s", source="rtsp://10.0.0.5/stream1").drops_frames


def test_cpu_only_and_unavailable_preferences() -> None:
    assert choose_providers(device="cpu") == ["CPUExecutionProvider"]
    assert choose_providers(["tensorrt", "cpu"])[-1] == "CPUExecutionProvider"


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs onnxruntime-gpu with CUDA")
def test_cuda_is_chosen_when_present() -> None:
    assert choose_providers()[0] in ("TensorrtExecutionProvider", "CUDAExecutionProvider")
