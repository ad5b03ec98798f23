"""Crowd profile of a screen: who is standing in front of it right now, as shares of attribute cells.

A lead-in screen never identifies anyone. The vision pipeline reports anonymous faces as
``(ts, gender, age, confidence)`` and optionally the group type it inferred from tracking; the
profile is the confidence-weighted distribution of those faces over the cells of
:mod:`recsys.attributes` within the last few seconds. Attributes the camera could not estimate stay
in the explicit ``unknown`` cells: a face of unknown age counts toward ``"female:unknown"``, never
toward a guessed bucket. Downstream, the audience match reads a partial cell through the marginal of
the store distribution (see :mod:`recsys.audience`), so unknowns carry exactly the information they have.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, NamedTuple

import numpy as np

from recsys.attributes import (
    AGE_BUCKETS,
    CELL_INDEX,
    CELLS,
    GENDERS,
    GROUP_TYPES,
    UNKNOWN,
    age_bucket,
    daypart,
)

N_CELLS: Final = len(CELLS)
GROUP_INDEX: Final = {g: i for i, g in enumerate(GROUP_TYPES)}
DEFAULT_WINDOW_S: Final = 10.0
DEFAULT_MAX_FACES: Final = 512


class Face(NamedTuple):
    """One anonymous face sighting; ``age`` may be years or an age-bucket label."""

    ts: float
    gender: str | None
    age: float | str | None
    confidence: float = 1.0
    group: str | None = None


def cell_index(gender: str | None, age: float | str | None) -> int:
    """Index into :data:`recsys.attributes.CELLS`; unrecognised values fall into unknown cells."""
    g = gender if gender in GENDERS else UNKNOWN
    bucket = (age if age in AGE_BUCKETS else UNKNOWN) if isinstance(age, str) else age_bucket(age)
    return CELL_INDEX[f"{g}:{bucket}"]


@dataclass(frozen=True)
class TimeContext:
    """Time context shared by every face of one request (mall-local time).

    ``hour`` and ``weekday`` (Monday = 0) feed the claim model; ``daypart`` and ``weekend`` are the
    coarse versions the store audiences are kept by.
    """

    daypart: str
    weekend: bool
    hour: int = 12
    weekday: int = 0

    @classmethod
    def at(cls, now: datetime) -> TimeContext:
        return cls(daypart=daypart(now.hour), weekend=now.weekday() >= 5, hour=now.hour, weekday=now.weekday())


@dataclass(frozen=True)
class CrowdProfile:
    """Distribution of the faces in front of a screen over attribute cells, plus group and time context.

    ``shares`` is aligned with :data:`CELLS` and sums to 1, or is all zeros when nobody was seen (an
    empty profile ranks on store-level components only). ``group_shares`` holds the share of faces
    per group type among faces whose group type is known; it may be empty.
    """

    shares: np.ndarray
    context: TimeContext
    group_shares: Mapping[str, float] = field(default_factory=dict)
    n_faces: float = 0.0

    @property
    def is_empty(self) -> bool:
        return self.n_faces <= 0.0

    def key(self) -> tuple[object, ...]:
        """Equal for profiles that rank the same (same shares, faces, groups and time context)."""
        return (self.shares.tobytes(), self.n_faces, tuple(sorted(self.group_shares.items())), self.context)

    def as_dict(self) -> dict[str, float]:
        """``{cell: share}`` for the non-zero cells, the shape of the API's ``profile`` field."""
        nz = np.flatnonzero(self.shares)
        return {CELLS[i]: float(self.shares[i]) for i in nz}

    @classmethod
    def empty(cls, now: datetime) -> CrowdProfile:
        return cls(np.zeros(N_CELLS), TimeContext.at(now))

    @classmethod
    def from_shares(
        cls, shares: Mapping[str, float], now: datetime, group_shares: Mapping[str, float] | None = None
    ) -> CrowdProfile:
        """Build from ``{cell: weight}``; weights are renormalised. Raises ``ValueError`` on a bad cell."""
        vec = np.zeros(N_CELLS)
        for cell, weight in shares.items():
            if cell not in CELL_INDEX:
                raise ValueError(f"unknown attribute cell {cell!r}; expected e.g. 'female:25-34' or 'male:unknown'")
            vec[CELL_INDEX[cell]] += max(float(weight), 0.0)
        total = float(vec.sum())
        if total > 0:
            vec /= total
        return cls(vec, TimeContext.at(now), _normalised_groups(group_shares or {}), total)

    @classmethod
    def from_faces(cls, faces: Iterable[Face], now: datetime, window_s: float = DEFAULT_WINDOW_S) -> CrowdProfile:
        """Confidence-weighted profile of the faces seen in ``(now - window_s, now]``."""
        window = CrowdWindow(window_s=window_s)
        for face in faces:
            window.add(face)
        return window.profile(now)

    @classmethod
    def from_explicit(cls, payload: Mapping[str, Any], now: datetime) -> CrowdProfile:
        """Profile from an explicit request body, for tests and previews.

        Accepts ``{"faces": [{"gender", "age", "confidence"?}], "group"?: "pair"}`` or
        ``{"shares": {cell: share}}``; faces count regardless of time since they carry none.
        """
        groups = {str(payload["group"]): 1.0} if payload.get("group") else {}
        if "shares" in payload:
            return cls.from_shares(payload["shares"], now, groups)
        vec = np.zeros(N_CELLS)
        for face in payload.get("faces", []):
            weight = float(np.clip(face.get("confidence", 1.0), 0.0, 1.0))
            vec[cell_index(face.get("gender"), face.get("age"))] += weight
        total = float(vec.sum())
        if total > 0:
            vec /= total
        return cls(vec, TimeContext.at(now), _normalised_groups(groups), total)


def _normalised_groups(groups: Mapping[str, float]) -> dict[str, float]:
    known = {g: float(w) for g, w in groups.items() if g in GROUP_INDEX and w > 0}
    total = sum(known.values())
    return {g: w / total for g, w in known.items()} if total > 0 else {}


class CrowdWindow:
    """Sliding window of recent faces for one screen, bounded in time and in memory.

    The service keeps one per screen and feeds it ``audience`` events. Only cell indices, weights and
    timestamps are kept, so nothing here can be linked back to a person; ``max_faces`` caps memory
    when a crowd is dense (the oldest faces fall out first).
    """

    def __init__(self, window_s: float = DEFAULT_WINDOW_S, max_faces: int = DEFAULT_MAX_FACES) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive, got {window_s}")
        self.window_s = float(window_s)
        self._faces: deque[tuple[float, int, float, int]] = deque(maxlen=max_faces)

    def __len__(self) -> int:
        return len(self._faces)

    def add(self, face: Face) -> None:
        group = GROUP_INDEX.get(face.group, -1) if face.group is not None else -1
        weight = float(min(max(face.confidence, 0.0), 1.0))
        self._faces.append((float(face.ts), cell_index(face.gender, face.age), weight, group))

    def forget_before(self, ts: float) -> None:
        while self._faces and self._faces[0][0] < ts:
            self._faces.popleft()

    def profile(self, now: datetime) -> CrowdProfile:
        """Profile over the window ending at ``now``; also forgets faces that left the window."""
        start = now.timestamp() - self.window_s
        self.forget_before(start)
        recent = [f for f in self._faces if f[0] >= start]
        if not recent:
            return CrowdProfile.empty(now)
        _, cells, weights, groups = (np.asarray(col) for col in zip(*recent, strict=True))
        vec = np.bincount(cells, weights=weights, minlength=N_CELLS).astype(np.float64)
        total = float(vec.sum())
        if total > 0:
            vec /= total
        has_group = groups >= 0
        group_mass = np.bincount(groups[has_group], weights=weights[has_group], minlength=len(GROUP_TYPES))
        group_shares = _normalised_groups(dict(zip(GROUP_TYPES, group_mass.tolist(), strict=True)))
        return CrowdProfile(vec, TimeContext.at(now), group_shares, total)
