"""Cydral gender + age: manifest normalisation, softmax confidence, Σ p·w ages, batched over faces."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.vision import onnx_graphs
from tests.vision.shared import DATA, MODELS, needs_data, needs_models
from vision.attributes import build_attributes
from vision.attributes.chips import template
from vision.attributes.cydral import CydralAttributes, CydralConfig
from vision.detectors.base import Detection
from vision.runtime import ModelError


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cydral")
    (folder / "gender-v1.onnx").write_bytes(onnx_graphs.cydral_gender_probe())
    (folder / "age-v1.onnx").write_bytes(onnx_graphs.cydral_age_probe((20, 40)))
    (folder / "manifest.json").write_text(json.dumps(onnx_graphs.cydral_manifest()))
    return folder


def cydral(folder: Path, **options: object) -> CydralAttributes:
    config = CydralConfig.model_validate(
        {
            "type": "cydral",
            "gender": {"path": folder / "gender-v1.onnx"},
            "age": {"path": folder / "age-v1.onnx"},
            "manifest": folder / "manifest.json",
            **options,
        }
    )
    return build_attributes(config)  # type: ignore[return-value]


def face_in(frame: np.ndarray, x: float, y: float, side: float) -> Detection:
    """A detection whose landmarks are the chip template scaled into the square (x, y, side)."""
    points = template(1, 0.2) * side + [x, y]
    return Detection((x, y, x + side, y + side), 0.9, points.astype(np.float32))


def coloured(bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((240, 320, 3), bgr, np.uint8)


def test_gender_reads_rgb_with_the_manifests_means(probe_dir: Path) -> None:
    model = cydral(probe_dir, flip=False)
    red, blue = coloured((0, 0, 255)), coloured((255, 0, 0))
    [female, male] = model.predict([(red, face_in(red, 100, 60, 80)), (blue, face_in(blue, 100, 60, 80))])
    assert (female.gender, male.gender) == ("female", "male")
    grey = coloured((120, 120, 120))  # R = B, but the means differ: (B − 104.3) − (R − 122.8) ≠ 0
    gender, _ = model.probabilities([(grey, face_in(grey, 100, 60, 80))])
    diff = ((120 - onnx_graphs.CYDRAL_MEANS[0]) - (120 - onnx_graphs.CYDRAL_MEANS[2])) / 256
    assert gender[0, 0] == pytest.approx(1 / (1 + np.exp(-8 * diff)), abs=1e-5)


def test_age_is_the_expectation_over_the_manifests_weights(probe_dir: Path) -> None:
    frame = coloured((90, 90, 90))
    [result] = cydral(probe_dir).predict([(frame, face_in(frame, 10, 10, 100))])
    assert result.age == 30 and result.age_bucket == "25-34"  # half of the mass at 20, half at 40


def test_unsure_gender_is_unknown_below_the_threshold(probe_dir: Path) -> None:
    grey = coloured((120, 120, 120))  # the means make R − B < 0: p(male) ≈ 0.64
    face = (grey, face_in(grey, 100, 60, 80))
    assert cydral(probe_dir, min_gender_confidence=0.9).predict([face])[0].gender == "unknown"
    assert cydral(probe_dir, min_gender_confidence=0.6).predict([face])[0].gender == "male"


def test_all_faces_of_all_frames_in_one_batch_match_one_by_one(probe_dir: Path) -> None:
    model = cydral(probe_dir)
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, 255, (240, 320, 3), np.uint8) for _ in range(3)]
    faces = [(f, face_in(f, float(x), 40.0, 90.0)) for f in frames for x in (10, 150)]
    together = model.probabilities(faces)
    one_by_one = [model.probabilities([face]) for face in faces]
    assert together[0] == pytest.approx(np.concatenate([g for g, _ in one_by_one]), abs=1e-6)


def test_flip_averages_a_face_with_its_mirror_image(probe_dir: Path, tmp_path: Path) -> None:
    for name in ("age-v1.onnx", "manifest.json"):
        (tmp_path / name).write_bytes((probe_dir / name).read_bytes())
    (tmp_path / "gender-v1.onnx").write_bytes(onnx_graphs.cydral_gender_probe(left_half=True))
    frame = np.zeros((240, 320, 3), np.uint8)
    frame[:, :160], frame[:, 160:] = (0, 0, 255), (255, 0, 0)  # red | blue at the chip's centre line
    face = (frame, face_in(frame, 80, 40, 160))
    assert cydral(tmp_path, flip=False).probabilities([face])[0][0, 0] > 0.9
    assert cydral(tmp_path, flip=True).probabilities([face])[0][0] == pytest.approx([0.5, 0.5], abs=0.02)


def test_a_detection_without_landmarks_is_aligned_from_its_box(probe_dir: Path) -> None:
    red = coloured((0, 0, 255))
    [result] = cydral(probe_dir).predict([(red, Detection((100, 60, 180, 140), 1.0))])
    assert result.gender == "female"


def test_a_manifest_that_is_not_age_and_genders_is_refused(probe_dir: Path, tmp_path: Path) -> None:
    for name in ("gender-v1.onnx", "age-v1.onnx"):
        (tmp_path / name).write_bytes((probe_dir / name).read_bytes())
    (tmp_path / "manifest.json").write_text('{"models": {}}')
    with pytest.raises(ModelError, match="manifest"):
        cydral(tmp_path)


@needs_models
@needs_data
def test_real_models_on_real_photos() -> None:
    from vision.detectors import build_detector
    from vision.detectors.centerface import CenterFaceConfig

    detector = build_detector(CenterFaceConfig(type="centerface", path=MODELS / "centerface.onnx"))
    model = cydral(MODELS)
    expected = {"2008_002506.jpg": "male", "2008_001009.jpg": "female", "Tom_Cruise_avp_2014_4.jpg": "male"}
    for name, gender in expected.items():
        frame = cv2.imread(str(DATA / "faces-group-dlib" / name))
        results = model.predict([(frame, d) for d in detector.detect([frame])[0]])
        genders = {r.gender for r in results}
        assert gender in genders and genders <= {gender, "unknown"}, (name, results)  # unsure is fine, wrong is not
        assert all(r.age is not None and 18 <= r.age <= 60 for r in results)
