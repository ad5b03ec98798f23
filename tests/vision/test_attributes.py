"""Attribute adapters: crop, colour order, scaling, age reading and the never-invent rule."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.attributes import age_bucket
from tests.vision import onnx_graphs
from tests.vision.conftest import paint
from vision.attributes import UnknownAttributes, build_attributes
from vision.attributes.base import centre_crop
from vision.attributes.genderage import GenderAgeConfig, GenderAgeModel
from vision.attributes.generic import GenericHeadConfig, GenericHeadModel
from vision.detectors.base import Detection
from vision.runtime import OnnxModel

FACE = Detection((200.0, 100.0, 300.0, 200.0), 0.9)
REDDISH_RGB = (200, 64, 20)  # the probe reads red as female and green/255 as age/100 → 25


def face_frame(rgb: tuple[int, int, int]) -> np.ndarray:
    """A frame whose whole 1.5× crop around FACE has one colour."""
    return paint(np.zeros((480, 640, 3), np.uint8), (150, 50, 350, 250), rgb[::-1])


def genderage(raw_pixels: bool = True, batch: int | str = "N") -> GenderAgeModel:
    model = OnnxModel(onnx_graphs.genderage_probe(raw_pixels, batch))
    return GenderAgeModel(model, GenderAgeConfig(type="genderage", path="x"), raw_pixels)


@pytest.mark.parametrize("raw_pixels", [True, False])
def test_genderage_reads_female_male_and_age_over_100(raw_pixels: bool) -> None:
    [attrs] = genderage(raw_pixels).predict([(face_frame(REDDISH_RGB), FACE)])
    assert attrs.gender == "female" and attrs.age == 25 and attrs.confidence > 0.99
    assert attrs.age_bucket == age_bucket(25) == "25-34"


def test_genderage_feeds_rgb_not_bgr() -> None:
    [attrs] = genderage().predict([(face_frame(REDDISH_RGB[::-1]), FACE)])
    assert attrs.gender == "male"


def test_genderage_normalisation_follows_insightface_node_rule(write_model) -> None:
    from vision.attributes.genderage import raw_pixel_input

    raw = write_model("ga_raw.onnx", onnx_graphs.genderage_probe(raw_pixels=True))
    centred = write_model("ga_centred.onnx", onnx_graphs.genderage_probe(raw_pixels=False))
    assert raw_pixel_input(str(raw)) and not raw_pixel_input(str(centred))


def test_uncertain_gender_is_reported_unknown() -> None:
    grey = (128, 40, 128)  # equal red and blue: 50/50
    [attrs] = genderage().predict([(face_frame(grey), FACE)])
    assert attrs.gender == "unknown" and attrs.confidence == pytest.approx(0.5) and attrs.age == 16


def test_fixed_batch_one_graph_handles_a_batch_of_many_faces() -> None:
    faces = [(face_frame(REDDISH_RGB), FACE), (face_frame((20, 178, 200)), FACE)] * 3
    results = genderage(batch=1).predict(faces)
    assert [(r.gender, r.age) for r in results] == [("female", 25), ("male", 70)] * 3


def test_crop_is_centred_on_the_face_at_one_and_a_half_times_its_size() -> None:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:200, 200:300] = 255  # the face box itself
    crop = centre_crop(frame, FACE, 96)
    assert crop.shape == (96, 96, 3)
    inner = crop[:, :, 0] > 127
    assert inner[48, 48] and not inner[5, 5]
    assert inner[48].sum() == pytest.approx(64, abs=2)  # 96 / 1.5


@pytest.mark.parametrize("age_classes", [1, 101])
def test_generic_head_reads_gender_logits_and_age(age_classes: int) -> None:
    model = OnnxModel(onnx_graphs.generic_probe(age_classes=age_classes))
    head = GenericHeadModel(model, GenericHeadConfig(type="generic", path="x"))
    [attrs] = head.predict([(face_frame(REDDISH_RGB), FACE)])
    assert attrs.gender == "female" and attrs.age == 25


def test_generic_head_label_order_is_configurable() -> None:
    config = GenericHeadConfig(type="generic", path="x", gender_labels=("male", "female"))
    head = GenericHeadModel(OnnxModel(onnx_graphs.generic_probe()), config)
    assert head.predict([(face_frame(REDDISH_RGB), FACE)])[0].gender == "male"


def test_without_a_model_attributes_are_unknown_never_invented() -> None:
    assert build_attributes(None).predict([(face_frame(REDDISH_RGB), FACE)] * 2) == UnknownAttributes().predict(
        [(np.zeros((1, 1, 3), np.uint8), FACE)] * 2
    )
    [attrs] = build_attributes(None).predict([(face_frame(REDDISH_RGB), FACE)])
    assert (attrs.gender, attrs.age, attrs.confidence) == ("unknown", None, 0.0)


def test_build_attributes_loads_a_genderage_file(genderage_path) -> None:
    model = build_attributes(GenderAgeConfig(type="genderage", path=genderage_path))
    assert model.predict([(face_frame(REDDISH_RGB), FACE)])[0].age == 25
