"""Detector adapters read the real models' outputs the way the reference implementations do."""

from __future__ import annotations

import numpy as np
import pytest

from tests.vision import onnx_graphs
from tests.vision.conftest import paint
from vision.detectors import build_detector
from vision.detectors.base import Detection, letterbox, nms
from vision.detectors.haar import HaarConfig, HaarDetector
from vision.detectors.scrfd import ScrfdConfig, ScrfdDetector
from vision.detectors.yunet import YuNetConfig, YuNetDetector
from vision.runtime import ModelError, OnnxModel

BLUE, RED = (255, 0, 0), (0, 0, 255)  # BGR


def yunet(live_stride: int = 32) -> YuNetDetector:
    return YuNetDetector(OnnxModel(onnx_graphs.yunet_probe(live_stride)), YuNetConfig(type="yunet", path="x"))


def scrfd(live_stride: int = 32, batched: bool = False) -> ScrfdDetector:
    model = OnnxModel(onnx_graphs.scrfd_probe(live_stride, batched=batched))
    return ScrfdDetector(model, ScrfdConfig(type="scrfd", path="x"))


def hd_frame() -> np.ndarray:
    return np.zeros((720, 1280, 3), np.uint8)


@pytest.mark.parametrize("stride", [8, 16, 32])
def test_yunet_box_maps_back_to_the_source_frame(stride: int) -> None:
    # 1280×720 letterboxes at scale 0.5, so a 2s-wide patch covers exactly one cell of the stride
    x, y = 20 * stride, 12 * stride
    frame = paint(hd_frame(), (x, y, x + 2 * stride, y + 2 * stride), BLUE)
    [[found]] = yunet(stride).detect([frame])
    assert found.box == pytest.approx((x, y, x + 2 * stride, y + 2 * stride), abs=0.01)
    assert found.score == pytest.approx(1.0)
    assert found.landmarks is not None
    assert found.landmarks[2] == pytest.approx([x + stride, y + 1.1 * stride])  # nose at (0.5, 0.55)
    assert found.facing_screen()


def test_yunet_reads_bgr_without_normalisation() -> None:
    red_in_bgr = paint(hd_frame(), (640, 320, 704, 384), RED)
    assert yunet().detect([red_in_bgr]) == [[]]


def test_yunet_batch_returns_one_list_per_frame() -> None:
    frames = [
        paint(hd_frame(), (0, 0, 64, 64), BLUE),
        hd_frame(),
        paint(hd_frame(), (128, 64, 192, 128), BLUE),
    ]
    found = yunet().detect(frames)
    assert [len(f) for f in found] == [1, 0, 1]
    assert found[2][0].box == pytest.approx((128, 64, 192, 128))


def test_yunet_rejects_a_graph_with_other_outputs() -> None:
    with pytest.raises(ModelError, match="YuNet"):
        YuNetDetector(OnnxModel(onnx_graphs.genderage_probe()), YuNetConfig(type="yunet", path="x"))


@pytest.mark.parametrize("stride", [8, 16, 32])
@pytest.mark.parametrize("batched", [False, True])
def test_scrfd_anchor_decoding_and_nms(stride: int, batched: bool) -> None:
    x, y = 10 * stride, 6 * stride
    frame = paint(hd_frame(), (x, y, x + 2 * stride, y + 2 * stride), RED)
    [[found]] = scrfd(stride, batched).detect([frame])  # two anchors per cell collapse into one box
    assert found.box == pytest.approx((x, y, x + 2 * stride, y + 2 * stride), abs=0.01)
    assert found.landmarks is not None and found.landmarks[0] == pytest.approx([x + 0.6 * stride, y + 0.7 * stride])


def test_scrfd_reads_rgb_and_normalises() -> None:
    blue_in_bgr = paint(hd_frame(), (640, 320, 704, 384), BLUE)
    assert scrfd().detect([blue_in_bgr]) == [[]]


def test_scrfd_batch_of_frames_through_a_batch_one_graph() -> None:
    frames = [paint(hd_frame(), (64, 64, 128, 128), RED), paint(hd_frame(), (640, 320, 704, 384), RED)]
    found = scrfd().detect(frames)
    assert [f[0].box for f in found] == [
        pytest.approx((64, 64, 128, 128)),
        pytest.approx((640, 320, 704, 384)),
    ]


def test_letterbox_keeps_aspect_and_pads_bottom_right() -> None:
    canvas, scale = letterbox(np.full((360, 1280, 3), 9, np.uint8), 640, 640)
    assert scale == 0.5 and canvas[:180].min() == 9 and canvas[180:].max() == 0


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert nms(boxes, np.array([0.8, 0.9, 0.5]), 0.3).tolist() == [1, 2]


def test_turned_head_is_not_looking_at_the_screen() -> None:
    turned = np.array([[10, 10], [20, 10], [24, 15], [11, 20], [19, 20]], np.float32)
    assert not Detection((0, 0, 30, 30), 1.0, turned).facing_screen()


def test_haar_fallback_finds_the_astronaut(astronaut_bgr: np.ndarray) -> None:
    [faces] = HaarDetector().detect([astronaut_bgr])
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0].box
    assert 150 < x1 < 210 and 40 < y1 < 100 and 70 < x2 - x1 < 130  # her face, not the flag or the suit


def test_haar_finds_nobody_in_an_empty_room() -> None:
    assert HaarDetector().detect([np.full((480, 640, 3), 128, np.uint8)]) == [[]]


def test_haar_is_the_default_detector() -> None:
    assert isinstance(build_detector(HaarConfig()), HaarDetector)


def test_a_model_whose_checksum_differs_is_refused(yunet_path) -> None:
    with pytest.raises(ModelError, match="sha256"):
        build_detector(YuNetConfig(type="yunet", path=yunet_path, sha256="0" * 64))


def test_a_missing_model_file_says_how_to_get_it(tmp_path) -> None:
    with pytest.raises(ModelError, match="models fetch"):
        build_detector(YuNetConfig(type="yunet", path=tmp_path / "nope.onnx"))
