"""The anonymous attribute space every recommendation is expressed in.

A *cell* is one (gender, age bucket) pair, e.g. ``"female:25-34"``. Cameras only ever report
these coarse attributes; anything they could not estimate stays ``unknown`` and is never guessed,
so the cell list has explicit unknown members instead of imputing a value.
"""

from __future__ import annotations

from typing import Final, Literal

Gender = Literal["female", "male", "unknown"]
GroupType = Literal["solo", "pair", "family"]

GENDERS: Final = ("female", "male")
# Lower bounds (inclusive) of each age bucket; the last one is open-ended.
AGE_BUCKET_EDGES: Final = (0, 13, 18, 25, 35, 45, 55, 65)
AGE_BUCKETS: Final = ("0-12", "13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GROUP_TYPES: Final = ("solo", "pair", "family")
UNKNOWN: Final = "unknown"

# Known cells first (16), then the cells where one or both attributes are unknown.
KNOWN_CELLS: Final = tuple(f"{g}:{a}" for g in GENDERS for a in AGE_BUCKETS)
CELLS: Final = (
    KNOWN_CELLS
    + tuple(f"{UNKNOWN}:{a}" for a in AGE_BUCKETS)
    + tuple(f"{g}:{UNKNOWN}" for g in GENDERS)
    + (f"{UNKNOWN}:{UNKNOWN}",)
)
CELL_INDEX: Final = {cell: i for i, cell in enumerate(CELLS)}


def age_bucket(age: float | None) -> str:
    """Map an estimated age in years to its bucket label, or ``unknown`` when there is none."""
    if age is None or age < 0:
        return UNKNOWN
    label = AGE_BUCKETS[0]
    for edge, name in zip(AGE_BUCKET_EDGES, AGE_BUCKETS, strict=True):
        if age >= edge:
            label = name
    return label


def cell_of(gender: str | None, age: float | None) -> str:
    """The cell of one face; an unrecognised gender counts as unknown."""
    g = gender if gender in GENDERS else UNKNOWN
    return f"{g}:{age_bucket(age)}"


def split_cell(cell: str) -> tuple[str, str]:
    """``"female:25-34"`` → ``("female", "25-34")``; raises ``ValueError`` on a malformed cell."""
    if cell not in CELL_INDEX:
        raise ValueError(f"unknown attribute cell {cell!r}; expected one of {', '.join(KNOWN_CELLS)}")
    gender, bucket = cell.split(":", 1)
    return gender, bucket


def daypart(hour: int) -> str:
    """Coarse time of day used as context: morning (<12), afternoon (<17), evening."""
    if hour < 12:
        return "morning"
    if hour < 17:
        return "afternoon"
    return "evening"


DAYPARTS: Final = ("morning", "afternoon", "evening")
