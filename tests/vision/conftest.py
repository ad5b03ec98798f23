"""Fixtures: real photographs from scikit-image and probe ONNX graphs written to a tmp dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision import onnx_graphs


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """Eileen Collins' NASA portrait (public domain), shipped inside scikit-image."""
    data = pytest.importorskip("skimage.data")
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def write_model(model_dir: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, graph: bytes) -> Path:
        path = model_dir / name
        path.write_bytes(graph)
        return path

    return write


@pytest.fixture(scope="session")
def yunet_path(write_model: Callable[[str, bytes], Path]) -> Path:
    return write_model("face_detection_yunet_2023mar.onnx", onnx_graphs.yunet_probe())


@pytest.fixture(scope="session")
def genderage_path(write_model: Callable[[str, bytes], Path]) -> Path:
    return write_model("genderage.onnx", onnx_graphs.genderage_probe())


def paint(frame: np.ndarray, box: tuple[int, int, int, int], bgr: tuple[int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    frame[y1:y2, x1:x2] = bgr
    return frame


def _walking_frames(astronaut: np.ndarray, frames: int) -> list[np.ndarray]:
    """Two people crossing a 640×480 hall: the astronaut's head and its mirror image."""
    head = astronaut[10:230, 110:330]
    mirrored = head[:, ::-1]
    out = []
    for i in range(frames):
        hall = np.full((480, 640, 3), (90, 100, 110), np.uint8)
        x1, x2 = 10 + i * 8, 410 - i * 8
        hall[10:230, x1 : x1 + 220] = head
        hall[250:470, x2 : x2 + 220] = mirrored
        out.append(hall)
    return out


@pytest.fixture(scope="session")
def people_video(tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray) -> Path:
    """An MJPG video of two faces walking past, built from a real photograph at 10 fps."""
    path = tmp_path_factory.mktemp("video") / "people_walking.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    assert writer.isOpened(), "OpenCV was built without a video writer"
    for frame in _walking_frames(astronaut_bgr, 40):
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def probe_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A "face" the probe YuNet sees (blue, raw BGR) walking across a grey hall."""
    path = tmp_path_factory.mktemp("video") / "probe_walking.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (640, 480))
    for i in range(30):
        hall = np.full((480, 640, 3), (90, 100, 110), np.uint8)
        writer.write(paint(hall, (64 + 12 * i, 192, 128 + 12 * i, 256), (255, 89, 20)))
    writer.release()
    return path


@pytest.fixture(autouse=True)
def empty_model_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hermetic defaults: no default model set unless a test installs one (a developer's var/models
    must not change what the tests see)."""
    folder = tmp_path_factory.mktemp("no-models")
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(folder))
    return folder
