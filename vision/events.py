"""From tracks to the anonymous events the service accepts (``audience`` and ``store_visit``).

Events are plain dicts in the exact shape the service's schemas validate (extra fields forbidden).
They carry no coordinates and no track ids: a screen learns *who kind of people* are in front of it,
an entrance learns *how many* of which kind came in, and nothing links two events to one person.
"""

from __future__ import annotations

import uuid
from collections import deque
from datetime import UTC, datetime
from typing import Any

from vision.attributes.base import FaceAttributes
from vision.config import CameraConfig, TrackingConfig
from vision.tracking import Observation, Track, Tracker

CHILD_AGE = 13


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def face_dict(attrs: FaceAttributes) -> dict[str, Any]:
    return {"gender": attrs.gender, "age": attrs.age, "confidence": round(float(attrs.confidence), 4)}


def audience_event(
    screen_id: str,
    faces: list[FaceAttributes],
    *,
    dwell_s: float | None = None,
    group_size: int | None = None,
    attention: float | None = None,
) -> dict[str, Any]:
    """An ``audience`` event; ``group_size`` and ``attention`` are the proposed optional fields."""
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": "audience",
        "ts": now_iso(),
        "screen_id": screen_id,
        "faces": [face_dict(f) for f in faces],
    }
    if dwell_s is not None:
        event["dwell_s"] = round(float(dwell_s), 1)
    if group_size is not None:
        event["group_size"] = int(group_size)
    if attention is not None:
        event["attention"] = round(float(attention), 3)
    return event


def store_visit_event(screen_id: str, attrs: FaceAttributes, group: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": "store_visit",
        "ts": now_iso(),
        "screen_id": screen_id,
        "gender": attrs.gender,
        "age": attrs.age,
    }
    if group is not None:
        event["group"] = group
    return event


def group_label(members: list[FaceAttributes]) -> str:
    """solo / pair / family: three or more together, or any group with a child, is a family."""
    if len(members) <= 1:
        return "solo"
    has_child = any(m.age is not None and m.age < CHILD_AGE for m in members)
    return "family" if len(members) >= 3 or has_child else "pair"


class CameraAggregator:
    """Turns one camera's per-frame observations into events.

    Screens (``lead_in``, ``mirror``) get one ``audience`` event per ``emit_interval_s`` while
    confirmed faces are present. Entrances get one ``store_visit`` per confirmed track, emitted when
    the track is forgotten, so a person lingering in the doorway is still one visit.
    """

    def __init__(self, camera: CameraConfig, tracking: TrackingConfig | None = None) -> None:
        self.camera = camera
        self.cfg = tracking or TrackingConfig()
        self.tracker = Tracker(self.cfg.iou_threshold, self.cfg.forget_after_s)
        self.window_start: float | None = None
        self.window_peak = 0
        self.window_tracks: dict[int, Track] = {}
        self.recent_visits: deque[tuple[float, float, FaceAttributes]] = deque(maxlen=64)
        self.tracks_confirmed = 0  # a count for the run's summary; no track outlives its forget window

    def observe(self, ts: float, observations: list[Observation]) -> list[dict[str, Any]]:
        ended = self.tracker.update(ts, observations)
        self._count(ended)
        confirmed = [t for t in self.tracker.tracks.values() if t.hits >= self.cfg.min_hits]
        if self.camera.kind == "entrance_camera":
            return self._visits(ended)
        if self.window_start is None:
            self.window_start = ts
        self.window_peak = max(self.window_peak, len(confirmed))
        self.window_tracks.update({t.local_id: t for t in confirmed})
        if ts - self.window_start >= self.cfg.emit_interval_s:
            return self._close_window(ts)
        return []

    def flush(self) -> list[dict[str, Any]]:
        """End of stream: forget every track and emit what is still pending."""
        ended = self.tracker.forget_all()
        self._count(ended)
        if self.camera.kind == "entrance_camera":
            return self._visits(ended)
        return self._close_window(None)

    def _count(self, ended: list[Track]) -> None:
        self.tracks_confirmed += sum(t.hits >= self.cfg.min_hits for t in ended)

    def _close_window(self, ts: float | None) -> list[dict[str, Any]]:
        tracks = list(self.window_tracks.values())
        self.window_start, self.window_tracks = ts, {}
        peak, self.window_peak = self.window_peak, 0
        if not tracks:
            return []
        attention = sum(t.attention >= 0.5 for t in tracks) / len(tracks)
        dwell = sum(t.dwell_s for t in tracks) / len(tracks)
        return [
            audience_event(
                self.camera.screen_id,
                [t.summary() for t in tracks],
                dwell_s=dwell,
                group_size=max(peak, 1),
                attention=attention,
            )
        ]

    def _visits(self, ended: list[Track]) -> list[dict[str, Any]]:
        """One visit per confirmed track; people whose tracks overlap mostly in time came together."""
        entries = [(t.first_ts, t.last_ts, t.summary()) for t in ended if t.hits >= self.cfg.min_hits]
        self.recent_visits.extend(entries)
        events = []
        for entry in entries:
            start, end, attrs = entry
            companions = [
                a
                for other in self.recent_visits
                if other is not entry
                for (s, e, a) in [other]
                if min(e, end) - max(s, start) > 0.5 * min(e - s, end - start)
            ]
            events.append(store_visit_event(self.camera.screen_id, attrs, group_label([attrs, *companions])))
        return events
