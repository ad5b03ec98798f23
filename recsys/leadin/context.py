"""What a lead-in screen knows about the moment of an impression, as one fixed-vocabulary vector.

The claim model (:mod:`recsys.leadin.claim_model`) crosses this vector with each coupon's features.
Everything here is derived from the anonymous crowd profile and the clock, nothing else: the share
of faces per gender, per age bucket and per (gender, age) cell; the crowd's composition read off
those faces (how many, a child among them, a mixed-gender pair, a group of three or more adults —
what the UCI coupon survey calls "friends"); the tracker's group type where it reported one; the
hour in three-hour blocks, the daypart and the day of the week.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from recsys.attributes import AGE_BUCKETS, CELLS, DAYPARTS, GENDERS, GROUP_TYPES, KNOWN_CELLS, UNKNOWN
from recsys.profile import CrowdProfile

HOUR_BLOCK_H: Final = 3
SIZES: Final = ("empty", "1", "2", "3+")
COMPOSITION: Final = ("child", "mixed_pair", "adult_group")
COMPANY: Final = ("alone", "child", "mixed_pair", "adult_group", "other")
"""The crowd's company as one category (first match in this order after "alone"), for the crosses."""
HOUR_BLOCKS: Final = tuple(f"{h * HOUR_BLOCK_H:02d}" for h in range(24 // HOUR_BLOCK_H))
_MAIN: Final = (
    ("bias",)
    + tuple(f"gender:{g}" for g in GENDERS)
    + tuple(f"age:{a}" for a in AGE_BUCKETS)
    + tuple(f"cell:{c}" for c in KNOWN_CELLS)
    + tuple(f"size:{s}" for s in SIZES)
    + tuple(f"crowd:{c}" for c in COMPOSITION)
    + tuple(f"group:{g}" for g in GROUP_TYPES)
    + tuple(f"hour:{h}" for h in HOUR_BLOCKS)
    + tuple(f"daypart:{d}" for d in DAYPARTS)
    + tuple(f"weekday:{d}" for d in range(7))
)
_PAIRS: Final = (("gender", GENDERS), ("age", AGE_BUCKETS), ("company", COMPANY), ("hour", HOUR_BLOCKS))
"""Pairwise crosses of who × in what company × when (gender × age is the cell, already in the main part)."""
_CROSSES: Final = tuple(
    (a, b) for i, (a, _) in enumerate(_PAIRS) for b, _ in _PAIRS[i + 1 :] if (a, b) != ("gender", "age")
)
_VALUES: Final = dict(_PAIRS)
CONTEXT_FEATURES: Final = _MAIN + tuple(f"{a}:{x}*{b}:{y}" for a, b in _CROSSES for x in _VALUES[a] for y in _VALUES[b])
CONTEXT_INDEX: Final = {name: i for i, name in enumerate(CONTEXT_FEATURES)}


def _masks() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell masks: gender (2 × cells), age bucket (8 × cells), and the known cells' positions."""
    gender = np.zeros((len(GENDERS), len(CELLS)))
    age = np.zeros((len(AGE_BUCKETS), len(CELLS)))
    for c, cell in enumerate(CELLS):
        g, a = cell.split(":")
        if g != UNKNOWN:
            gender[GENDERS.index(g), c] = 1.0
        if a != UNKNOWN:
            age[AGE_BUCKETS.index(a), c] = 1.0
    known = np.array([CELLS.index(c) for c in KNOWN_CELLS])
    return gender, age, known


GENDER_MASK, AGE_MASK, KNOWN_POSITIONS = _masks()
CHILD_MASK: Final = AGE_MASK[0]
"""Cells of faces in the youngest age bucket (0-12)."""


def context_vector(profile: CrowdProfile, out: np.ndarray | None = None) -> np.ndarray:
    """The :data:`CONTEXT_FEATURES` vector of one crowd at its time (float64, length fixed)."""
    vec = np.zeros(len(CONTEXT_FEATURES)) if out is None else out
    vec[0] = 1.0
    shares = profile.shares
    g0 = CONTEXT_INDEX[f"gender:{GENDERS[0]}"]
    vec[g0 : g0 + len(GENDERS)] = GENDER_MASK @ shares
    a0 = CONTEXT_INDEX[f"age:{AGE_BUCKETS[0]}"]
    vec[a0 : a0 + len(AGE_BUCKETS)] = AGE_MASK @ shares
    c0 = CONTEXT_INDEX[f"cell:{KNOWN_CELLS[0]}"]
    vec[c0 : c0 + len(KNOWN_CELLS)] = shares[KNOWN_POSITIONS]
    faces = profile.n_faces
    size = "empty" if faces < 0.5 else "1" if faces < 1.5 else "2" if faces < 2.5 else "3+"
    vec[CONTEXT_INDEX[f"size:{size}"]] = 1.0
    child = float(CHILD_MASK @ shares > 0.0)
    genders = GENDER_MASK @ shares
    vec[CONTEXT_INDEX["crowd:child"]] = child
    vec[CONTEXT_INDEX["crowd:mixed_pair"]] = float(size == "2" and genders.min() > 0.0)
    vec[CONTEXT_INDEX["crowd:adult_group"]] = float(size == "3+" and not child)
    for group, share in profile.group_shares.items():
        vec[CONTEXT_INDEX[f"group:{group}"]] = share
    context = profile.context
    vec[CONTEXT_INDEX[f"hour:{HOUR_BLOCKS[context.hour // HOUR_BLOCK_H]}"]] = 1.0
    vec[CONTEXT_INDEX[f"daypart:{context.daypart}"]] = 1.0
    vec[CONTEXT_INDEX[f"weekday:{context.weekday}"]] = 1.0
    company = np.zeros(len(COMPANY))
    if size == "1":
        company[0] = 1.0
    elif size != "empty":
        flags = vec[CONTEXT_INDEX["crowd:child"] : CONTEXT_INDEX["crowd:adult_group"] + 1]
        first = int(np.argmax(flags)) + 1 if flags.any() else len(COMPANY) - 1
        company[first] = 1.0
    parts = {
        "gender": vec[g0 : g0 + len(GENDERS)],
        "age": vec[a0 : a0 + len(AGE_BUCKETS)],
        "company": company,
        "hour": vec[CONTEXT_INDEX[f"hour:{HOUR_BLOCKS[0]}"] : CONTEXT_INDEX[f"hour:{HOUR_BLOCKS[-1]}"] + 1],
    }
    start = len(_MAIN)
    for a, b in _CROSSES:
        block = np.outer(parts[a], parts[b]).ravel()
        vec[start : start + len(block)] = block
        start += len(block)
    return vec


def context_matrix(profiles: Sequence[CrowdProfile]) -> np.ndarray:
    """Rows of :func:`context_vector`, shape ``(len(profiles), len(CONTEXT_FEATURES))``."""
    out = np.zeros((len(profiles), len(CONTEXT_FEATURES)))
    for row, profile in enumerate(profiles):
        context_vector(profile, out[row])
    return out
