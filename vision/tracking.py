"""Short-lived, per-camera face tracking by box overlap.

Tracks exist so one person standing in front of a screen for ten seconds counts as one face with a
dwell time, not 150 faces. Identity is positional only: a track is matched by IoU (or, when a fast
walker's boxes stop overlapping between frames, by centroid distance), never by appearance, so no
embedding that could re-identify anyone is ever computed. Track ids are process-local counters that
never leave this module's callers and are dropped ``forget_after_s`` after the face was last seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

import numpy as np

from recsys.attributes import Gender
from vision.attributes.base import FaceAttributes
from vision.detectors.base import iou_matrix


@dataclass(frozen=True, slots=True)
class Observation:
    """One face in one frame: where (for matching only), what the model said, and its gaze."""

    box: tuple[float, float, float, float]
    attributes: FaceAttributes
    facing: bool


@dataclass(slots=True)
class Track:
    """A face followed over a few seconds; votes are aggregated so one bad frame does not flip it."""

    local_id: int
    box: tuple[float, float, float, float]
    first_ts: float
    last_ts: float
    hits: int = 0
    facing_hits: int = 0
    gender_votes: dict[str, float] = field(default_factory=dict)
    ages: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)

    def add(self, ts: float, obs: Observation) -> None:
        self.box, self.last_ts = obs.box, ts
        self.hits += 1
        self.facing_hits += obs.facing
        attrs = obs.attributes
        if attrs.gender != "unknown":
            self.gender_votes[attrs.gender] = self.gender_votes.get(attrs.gender, 0.0) + attrs.confidence
            self.confidences.append(attrs.confidence)
        if attrs.age is not None:
            self.ages = (self.ages + [attrs.age])[-32:]

    @property
    def dwell_s(self) -> float:
        return self.last_ts - self.first_ts

    @property
    def attention(self) -> float:
        return self.facing_hits / self.hits if self.hits else 0.0

    def summary(self) -> FaceAttributes:
        """Confidence-weighted gender vote and median age; unknown stays unknown."""
        gender: Gender = "unknown"
        confidence = 0.0
        if self.gender_votes:
            top, weight = max(self.gender_votes.items(), key=lambda vote: vote[1])
            share = weight / sum(self.gender_votes.values())
            if share >= 0.6:
                gender = "female" if top == "female" else "male"
                confidence = round(share * float(np.mean(self.confidences)), 4)
        age = int(round(median(self.ages))) if self.ages else None
        return FaceAttributes(gender, age, confidence)


class Tracker:
    """Greedy IoU matching with a centroid fallback; returns tracks it has just forgotten."""

    def __init__(self, iou_threshold: float = 0.3, forget_after_s: float = 2.0) -> None:
        self.iou_threshold = iou_threshold
        self.forget_after_s = forget_after_s
        self.tracks: dict[int, Track] = {}
        self._next_id = 0

    def update(self, ts: float, observations: list[Observation]) -> list[Track]:
        unmatched = set(range(len(observations)))
        live = list(self.tracks.values())
        if live and observations:
            for t_idx, o_idx in self._match(live, observations):
                live[t_idx].add(ts, observations[o_idx])
                unmatched.discard(o_idx)
        for o_idx in sorted(unmatched):
            self._next_id += 1
            track = Track(self._next_id, observations[o_idx].box, ts, ts)
            track.add(ts, observations[o_idx])
            self.tracks[track.local_id] = track
        return self.expire(ts)

    def expire(self, ts: float) -> list[Track]:
        gone = [t for t in self.tracks.values() if ts - t.last_ts > self.forget_after_s]
        for track in gone:
            del self.tracks[track.local_id]
        return gone

    def forget_all(self) -> list[Track]:
        gone, self.tracks = list(self.tracks.values()), {}
        return gone

    def _match(self, live: list[Track], observations: list[Observation]) -> list[tuple[int, int]]:
        track_boxes = np.array([t.box for t in live], np.float32)
        obs_boxes = np.array([o.box for o in observations], np.float32)
        score = iou_matrix(track_boxes, obs_boxes)
        centre_t = (track_boxes[:, :2] + track_boxes[:, 2:]) / 2
        centre_o = (obs_boxes[:, :2] + obs_boxes[:, 2:]) / 2
        distance = np.linalg.norm(centre_t[:, None] - centre_o[None], axis=2)
        side = np.maximum(track_boxes[:, 2] - track_boxes[:, 0], track_boxes[:, 3] - track_boxes[:, 1])
        near = distance < side[:, None]  # moved less than one face width: same person
        score = np.where(
            (score < self.iou_threshold) & near,
            self.iou_threshold * (1 - distance / side[:, None]),
            np.where(score >= self.iou_threshold, score, 0.0),
        )
        pairs = []
        while score.size and score.max() > 0:
            t_idx, o_idx = np.unravel_index(int(np.argmax(score)), score.shape)
            pairs.append((int(t_idx), int(o_idx)))
            score[t_idx, :] = 0
            score[:, o_idx] = 0
        return pairs
