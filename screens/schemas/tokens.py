"""API tokens as admins create and list them; the secret appears once, in the creation answer."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from screens.schemas.base import CLEAN, MAX_INT, Id, StrictModel, UtcDatetime


class TokenCreate(StrictModel):
    role: Literal["admin", "ops", "merchandiser", "device"]
    store_ids: Annotated[list[Id], Field(max_length=500)] = Field(default=[], description="merchandiser: its stores")
    screen_id: Id | None = Field(None, description="device: its screen")
    label: Annotated[str, Field(max_length=200), CLEAN] | None = Field(None, description="a note on who holds it")
    ttl_s: Annotated[int, Field(ge=60, le=MAX_INT, strict=True)] | None = Field(
        None, description="seconds until it expires; none: until revoked"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"role": "device", "screen_id": "lead1", "label": "atrium", "ttl_s": 86400}]}
    }


class TokenPublic(StrictModel):
    """Everything about a token but the secret (never stored) and its hash."""

    id: int
    role: str
    store_ids: list[str]
    screen_id: str | None
    label: str | None
    created_at: UtcDatetime
    expires_at: UtcDatetime | None
    last_used_at: UtcDatetime | None = Field(description="to the minute or so (written in the background)")
    revoked: bool


class TokenIssued(TokenPublic):
    token: str = Field(description="the secret: shown this once, only its SHA-256 is stored")
