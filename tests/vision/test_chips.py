"""dlib's face-chip geometry: landmarks land where dlib's mean face puts them, for any pose and size."""

from __future__ import annotations

import numpy as np
import pytest

from vision.attributes.chips import MEAN_FACE_5, chip_matrix, extract_chip, similarity, template


def pose(points: np.ndarray, angle_deg: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    a = np.radians(angle_deg)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return points @ rotation.T * scale + shift


def test_template_is_dlibs_mean_face_padded_by_0_2() -> None:
    chip = template(200, 0.2)
    # dlib: (padding + p) / (2·padding + 1) · size; the eyes of its mean face sit at y ≈ 0.216
    assert chip[0] == pytest.approx((0.2 + MEAN_FACE_5[0]) / 1.4 * 200)
    assert chip[0, 1] == pytest.approx(chip[1, 1]) and chip[0, 1] == pytest.approx((0.2 + 0.216) / 1.4 * 200, abs=0.05)
    assert chip[3, 0] < chip[2, 0] < chip[4, 0] and chip[0, 1] < chip[2, 1] < chip[3, 1]


@pytest.mark.parametrize("angle", [-30.0, 0.0, 12.5])
@pytest.mark.parametrize("scale", [0.4, 1.0, 3.7])
def test_a_posed_face_maps_back_onto_the_template(angle: float, scale: float) -> None:
    target = template(64)
    frame_points = pose(target, angle, scale, (311.0, 97.0))
    matrix = chip_matrix(frame_points, 64)
    mapped = frame_points @ matrix[:, :2].T + matrix[:, 2]
    assert mapped == pytest.approx(target, abs=1e-6)
    assert np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])) == pytest.approx(-angle)
    assert np.sqrt(np.linalg.det(matrix[:, :2])) == pytest.approx(1 / scale)


def test_noisy_landmarks_give_the_least_squares_similarity_without_reflection() -> None:
    rng = np.random.default_rng(4)
    src = template(64) + rng.normal(0, 1.5, (5, 2))
    matrix = similarity(src, template(64))
    assert np.linalg.det(matrix[:, :2]) > 0
    residual = np.linalg.norm(src @ matrix[:, :2].T + matrix[:, 2] - template(64), axis=1)
    assert residual.mean() < 3.0


@pytest.mark.parametrize("face_scale", [0.8, 2.0, 6.0])  # chip larger than, similar to, and much smaller than the face
def test_extracted_chip_puts_the_landmark_dots_at_the_template(face_scale: float) -> None:
    size = 64
    points = pose(template(size), 20.0, face_scale, (200.0, 150.0))
    frame = np.zeros((600, 700, 3), np.uint8)
    radius = max(1, round(face_scale))
    for x, y in points:
        xi, yi = round(x), round(y)
        frame[yi - radius : yi + radius + 1, xi - radius : xi + radius + 1] = 255
    chip = extract_chip(frame, chip_matrix(points, size), size)[..., 0].astype(np.float32)
    for x, y in template(size):
        window = chip[round(y) - 3 : round(y) + 4, round(x) - 3 : round(x) + 4]
        ys, xs = np.mgrid[-3:4, -3:4]
        cy, cx = (window * ys).sum() / window.sum(), (window * xs).sum() / window.sum()
        assert abs(cy + round(y) - y) < 0.75 and abs(cx + round(x) - x) < 0.75


def test_outside_the_frame_is_black() -> None:
    frame = np.full((100, 100, 3), 200, np.uint8)
    points = pose(template(32), 0.0, 2.0, (-60.0, -60.0))  # a face mostly left of and above the frame
    chip = extract_chip(frame, chip_matrix(points, 32), 32)
    assert chip[0, 0].tolist() == [0, 0, 0] and chip[-1, -1].tolist() == [200, 200, 200]
