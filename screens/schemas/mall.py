"""Stores and screens, managed by ops."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from screens.schemas.base import CLEAN, Id, StrictModel, UtcDatetime

ScreenKind = Literal["lead_in", "mirror", "entrance_camera"]


class StoreIn(StrictModel):
    name: Annotated[str, Field(min_length=1, max_length=200), CLEAN]
    floor: Annotated[int, Field(ge=-10, le=200, strict=True)]
    zone: Annotated[str, Field(min_length=1, max_length=64), CLEAN]
    category: Annotated[str, Field(min_length=1, max_length=64), CLEAN]

    model_config = {
        "json_schema_extra": {
            "examples": [{"name": "Nordic Threads", "floor": 1, "zone": "north", "category": "fashion"}]
        }
    }


class StorePublic(StoreIn):
    id: str


class ScreenIn(StrictModel):
    kind: ScreenKind
    store_id: Id | None = None
    zone: Annotated[str, Field(min_length=1, max_length=64), CLEAN] | None = None
    camera: Annotated[bool, Field(strict=True)] = Field(
        True, description="a camera beside the screen is on; its page then shows the camera notice"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"kind": "mirror", "store_id": "s01", "zone": "north", "camera": True}]}
    }

    @model_validator(mode="after")
    def _store_matches_kind(self) -> ScreenIn:
        if self.kind in ("mirror", "entrance_camera") and not self.store_id:
            raise ValueError(f"a {self.kind} screen needs a store_id")
        return self


class ScreenPublic(StrictModel):
    id: str
    kind: ScreenKind
    store_id: str | None
    zone: str | None
    camera: bool
    last_seen: UtcDatetime | None
    stale: bool
