"""Tracking and aggregation: one person is one face, events are anonymous and schema-shaped."""

from __future__ import annotations

import uuid
from datetime import datetime

from vision.attributes.base import FaceAttributes
from vision.config import CameraConfig, TrackingConfig
from vision.events import CameraAggregator, group_label
from vision.tracking import Observation, Tracker

WOMAN = FaceAttributes("female", 31, 0.9)
MAN = FaceAttributes("male", 40, 0.8)
AUDIENCE_KEYS = {"event_id", "type", "ts", "screen_id", "faces", "dwell_s", "group_size", "attention"}
VISIT_KEYS = {"event_id", "type", "ts", "screen_id", "gender", "age", "group"}


def walk(x0: float, step: float, frames: int, attrs: FaceAttributes, fps: float = 10):
    return [(i / fps, Observation((x0 + i * step, 100, x0 + i * step + 80, 180), attrs, True)) for i in range(frames)]


def test_a_walking_face_keeps_one_track() -> None:
    tracker = Tracker()
    for ts, obs in walk(0, 30, 20, WOMAN):  # 30 px a frame: boxes of 80 px still overlap
        tracker.update(ts, [obs])
    assert len(tracker.tracks) == 1 and next(iter(tracker.tracks.values())).hits == 20


def test_a_fast_walker_is_kept_by_centroid_when_boxes_stop_overlapping() -> None:
    tracker = Tracker()
    for ts, obs in walk(0, 70, 8, WOMAN):
        tracker.update(ts, [obs])
    assert len(tracker.tracks) == 1


def test_tracks_are_forgotten_after_a_few_seconds() -> None:
    tracker = Tracker(forget_after_s=2.0)
    tracker.update(0.0, [walk(0, 0, 1, WOMAN)[0][1]])
    assert tracker.update(1.0, []) == []
    assert len(tracker.update(2.5, [])) == 1 and tracker.tracks == {}


def test_one_bad_frame_does_not_flip_gender() -> None:
    tracker = Tracker()
    for i, (ts, obs) in enumerate(walk(0, 5, 10, WOMAN)):
        tracker.update(ts, [obs if i != 4 else Observation(obs.box, MAN, True)])
    summary = next(iter(tracker.tracks.values())).summary()
    assert summary.gender == "female" and summary.age == 31


def test_lead_in_screen_gets_audience_events_with_dwell_group_and_attention() -> None:
    agg = CameraAggregator(CameraConfig(screen_id="s-1", kind="lead_in", source="x.mp4"), TrackingConfig())
    events = []
    for (ts, a), (_, b) in zip(walk(0, 5, 30, WOMAN), walk(400, -5, 30, MAN), strict=True):
        events += agg.observe(ts, [a, b])
    events += agg.flush()
    assert events and all(e["type"] == "audience" and set(e) <= AUDIENCE_KEYS for e in events)
    first = events[0]
    assert sorted(f["gender"] for f in first["faces"]) == ["female", "male"]
    assert first["group_size"] == 2 and first["attention"] == 1.0 and first["dwell_s"] > 1
    uuid.UUID(first["event_id"], version=4)
    assert datetime.fromisoformat(first["ts"]).utcoffset().total_seconds() == 0


def test_entrance_counts_each_track_once_with_its_group() -> None:
    agg = CameraAggregator(CameraConfig(screen_id="door-1", kind="entrance_camera", source="x.mp4"))
    events = []
    for (ts, a), (_, b) in zip(walk(0, 10, 40, WOMAN), walk(300, 10, 40, MAN), strict=True):
        events += agg.observe(ts, [a, b])
    events += agg.observe(10.0, [])  # both forgotten
    events += agg.flush()
    assert len(events) == 2 and all(set(e) <= VISIT_KEYS for e in events)
    assert {e["gender"] for e in events} == {"female", "male"} and {e["group"] for e in events} == {"pair"}


def test_a_single_detection_is_not_a_visit() -> None:
    agg = CameraAggregator(CameraConfig(screen_id="door-1", kind="entrance_camera", source="x.mp4"))
    agg.observe(0.0, [walk(0, 0, 1, WOMAN)[0][1]])
    assert agg.flush() == []


def test_group_labels() -> None:
    child = FaceAttributes("unknown", 8, 0.0)
    assert group_label([WOMAN]) == "solo"
    assert group_label([WOMAN, MAN]) == "pair"
    assert group_label([WOMAN, child]) == "family"
    assert group_label([WOMAN, MAN, WOMAN]) == "family"


def test_events_carry_no_coordinates_or_ids() -> None:
    agg = CameraAggregator(CameraConfig(screen_id="s-1", source="x.mp4"))
    for ts, obs in walk(0, 5, 30, WOMAN):
        agg.observe(ts, [obs])
    text = repr(agg.flush())
    assert "box" not in text and "local_id" not in text and "track" not in text
