"""The frames route's pure function: decode in memory, answer anonymously, keep nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.vision.conftest import paint
from vision.analyze import FrameAnalyzer, UndecodableImage
from vision.attributes.genderage import GenderAgeConfig
from vision.config import ModelsConfig
from vision.detectors.yunet import YuNetConfig


def jpeg(frame: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", frame)[1].tobytes()


def test_posted_astronaut_jpeg_yields_one_unknown_face(astronaut_bgr: np.ndarray) -> None:
    result = FrameAnalyzer().analyze(jpeg(astronaut_bgr), "lead_in")
    assert result.group_size == 1 and result.attention == 1.0
    assert result.to_dict()["faces"] == [
        {"gender": "unknown", "age": None, "age_bucket": "unknown", "confidence": 0.0, "attention": True}
    ]
    event = result.to_audience_event("screen-7")
    assert event is not None and event["faces"] == [{"gender": "unknown", "age": None, "confidence": 0.0}]
    assert set(event) == {"event_id", "type", "ts", "screen_id", "faces", "group_size", "attention"}


def test_png_with_models_reports_gender_and_age(yunet_path, genderage_path) -> None:
    models = ModelsConfig(
        detector=YuNetConfig(type="yunet", path=yunet_path),
        attributes=GenderAgeConfig(type="genderage", path=genderage_path),
    )
    frame = paint(np.zeros((720, 1280, 3), np.uint8), (640, 320, 704, 384), (255, 0, 0))
    result = FrameAnalyzer.from_config(models).analyze(cv2.imencode(".png", frame)[1].tobytes())
    # the probe genderage reads a pure-blue crop as male, age 0 (no green)
    assert [(f.gender, f.age) for f in result.faces] == [("male", 0)]


def test_entrance_frames_become_store_visits(astronaut_bgr: np.ndarray) -> None:
    events = FrameAnalyzer().analyze(jpeg(astronaut_bgr), "entrance_camera").to_events("door-1")
    assert [(e["type"], e["gender"], e["group"]) for e in events] == [("store_visit", "unknown", "solo")]


def test_an_empty_frame_has_no_audience_event() -> None:
    assert FrameAnalyzer().analyze(jpeg(np.zeros((240, 320, 3), np.uint8))).to_audience_event("s") is None


@pytest.mark.parametrize("body", [b"", b"hello", b"\xff\xd8\xff" + b"\0" * 50, b"GIF89a...."])
def test_undecodable_bodies_raise_a_value_error(body: bytes) -> None:
    with pytest.raises(UndecodableImage):
        FrameAnalyzer().analyze(body)
    assert issubclass(UndecodableImage, ValueError)
