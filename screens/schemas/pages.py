"""What a lead-in screen page displays: ranked coupons with everything a shopper needs to use one."""

from __future__ import annotations

from pydantic import BaseModel, Field

from screens.schemas.base import UtcDatetime


class DisplayedCoupon(BaseModel):
    coupon_id: str
    title: str
    store_id: str
    store_name: str
    floor: int
    zone: str
    discount: str = Field(description="the offer in a few words, e.g. '20% off' or '$10 off over $30'")
    score: float
    explain: dict[str, float]
    explored: bool = Field(description="drawn by Thompson sampling rather than by score")
    image_url: str | None = Field(None, description="a picture of the store's goods for the card (may fail to load)")
    propensity: float = Field(description="probability the policy showed this coupon; log it with the impression")
    claim_url: str = Field(description="signed /c/{code} URL; scanning it records a coupon_claim")
    qr_svg: str = Field(description="QR code of claim_url as an SVG data URI")


class LeadInDisplay(BaseModel):
    screen_id: str
    coupons: list[DisplayedCoupon]
    profile: dict[str, float] = Field(description="attribute cell → share of the crowd in front of the screen")
    model_version: str | None
    generated_at: UtcDatetime
