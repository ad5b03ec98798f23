"""Fitting-mirror requests and answers, and the ops-edited compatibility table."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import Field

from screens.schemas.base import CLEAN, Id, StrictModel, UtcDatetime


class TryOnRequest(StrictModel):
    """A garment scanned at the mirror; ``event_id`` is made by the device so re-sends count once."""

    event_id: UUID
    sku: Id
    session_id: Id
    ts: UtcDatetime | None = Field(
        None, description="when it was scanned (kiosk outbox replays, within the raw-event retention); default: now"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"event_id": "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4", "sku": "C-00042", "session_id": "sess-7f3a"}
            ]
        }
    }


class MirrorCoupon(StrictModel):
    coupon_id: str
    title: str
    kind: str
    value: float
    min_spend: float
    valid_to: UtcDatetime


class MirrorItem(StrictModel):
    sku: str
    name: str
    category: str
    price: float
    sale_price: float | None
    discount_pct: int
    stock: int
    image_url: str | None
    coupons: list[MirrorCoupon] = Field(description="the store's coupons usable now")


class MirrorPick(StrictModel):
    sku: str
    score: float
    reason: str = Field(description="short, shopper-facing: why this item is shown")
    name: str
    category: str
    price: float
    sale_price: float | None
    discount_pct: int
    image_url: str | None


class MirrorRecommendations(StrictModel):
    item: MirrorItem
    similar: list[MirrorPick] = Field(description="same category, in stock, this store")
    complementary: list[MirrorPick] = Field(description="other categories that complete the outfit")
    model_version: str


Weight = Annotated[float, Field(ge=0.0, le=1.0, strict=True)]


class CompatibilityUpdate(StrictModel):
    """The whole table: category → {compatible category: weight in [0, 1]}."""

    table: dict[
        Annotated[str, Field(min_length=1, max_length=64), CLEAN],
        dict[Annotated[str, Field(min_length=1, max_length=64), CLEAN], Weight],
    ]
    comment: Annotated[str, Field(max_length=500), CLEAN] | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "table": {"tops": {"bottoms": 1.0, "shoes": 0.6}, "dresses": {"shoes": 1.0, "bags": 0.7}},
                    "comment": "push shoes with dresses",
                }
            ]
        }
    }


class CompatibilityVersion(StrictModel):
    version: int
    table: dict[str, dict[str, float]] = Field(description="the merchandiser's table (ops edit it); it overrides")
    updated_by: str
    updated_at: UtcDatetime | None
    learned: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="estimated from co-purchases and co-try-ons by `vitrine train mirror`"
    )
    learned_support: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="sessions and receipts behind each learned pair"
    )
    in_force: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="what the mirrors use: the learned pairs with the merchandiser's on top"
    )
