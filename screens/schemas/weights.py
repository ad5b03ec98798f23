"""Ranking-weight versions as ops read and write them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from screens.schemas.base import CLEAN, StrictModel, UtcDatetime


class WeightsUpdate(StrictModel):
    """Weights to change; keys left out keep their current value."""

    weights: Annotated[dict[str, Annotated[float, Field(strict=True)]], Field(min_length=1)]
    comment: Annotated[str, Field(max_length=500), CLEAN] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"weights": {"audience_match": 1.5, "crowding": 0.8}, "comment": "push crowd matching"}]
        }
    }


class WeightsVersion(StrictModel):
    version: int
    weights: dict[str, float]
    diff: dict[str, Any]
    author: str
    comment: str | None
    created_at: UtcDatetime | None
