"""Crowd profile of a screen: windowed, confidence-weighted, unknowns kept as unknown."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recsys.profile import CrowdProfile, CrowdWindow, Face

NOW = datetime(2024, 6, 15, 14, 0, 5, tzinfo=UTC)  # a Saturday afternoon
T = NOW.timestamp()


def test_profile_is_confidence_weighted_share_of_cells() -> None:
    faces = [Face(T - 1, "female", 22, 0.9), Face(T - 1, "female", 23, 0.9), Face(T - 2, "male", 70, 0.2)]
    profile = CrowdProfile.from_faces(faces, NOW, window_s=10)
    assert profile.as_dict() == pytest.approx({"female:18-24": 0.9, "male:65+": 0.1})
    assert profile.context.daypart == "afternoon" and profile.context.weekend


def test_unknown_attributes_are_kept_as_unknown_never_guessed() -> None:
    faces = [Face(T, "female", None), Face(T, None, 40), Face(T, "robot", -1)]
    profile = CrowdProfile.from_faces(faces, NOW)
    assert set(profile.as_dict()) == {"female:unknown", "unknown:35-44", "unknown:unknown"}


def test_window_forgets_faces_older_than_the_window() -> None:
    window = CrowdWindow(window_s=5)
    window.add(Face(T - 30, "male", 50))
    window.add(Face(T - 1, "female", 30, group="pair"))
    profile = window.profile(NOW)
    assert profile.as_dict() == {"female:25-34": 1.0}
    assert profile.group_shares == {"pair": 1.0}
    assert len(window) == 1


def test_window_memory_is_bounded() -> None:
    window = CrowdWindow(window_s=60, max_faces=8)
    for i in range(100):
        window.add(Face(T - 1 + i * 1e-3, "female", 30))
    assert len(window) == 8


def test_empty_window_gives_empty_profile() -> None:
    profile = CrowdWindow().profile(NOW)
    assert profile.is_empty and profile.as_dict() == {} and not np.any(profile.shares)


def test_explicit_profile_accepts_faces_and_bucket_labels() -> None:
    profile = CrowdProfile.from_explicit(
        {"faces": [{"gender": "female", "age": "18-24"}, {"gender": "male", "age": 8}], "group": "family"},
        NOW,
    )
    assert profile.as_dict() == {"female:18-24": 0.5, "male:0-12": 0.5}
    assert profile.group_shares == {"family": 1.0}


def test_explicit_shares_reject_unknown_cells() -> None:
    with pytest.raises(ValueError, match="unknown attribute cell"):
        CrowdProfile.from_explicit({"shares": {"female:20-30": 1.0}}, NOW)
