"""Ranking-weight versions as ops read and write them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from screens.schemas.base import StrictModel


class WeightsUpdate(StrictModel):
    """Weights to change; keys left out keep their current value."""

    weights: Annotated[dict[str, float], Field(min_length=1)]
    comment: Annotated[str, Field(max_length=500)] | None = None

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
    created_at: datetime | None
