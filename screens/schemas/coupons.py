"""Coupon rows as merchandisers upload them (CSV or JSON) and as the API returns them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from screens.schemas.base import CLEAN, Amount, Count, Id, StrictModel, UtcDatetime


class CouponRow(StrictModel):
    coupon_id: Id
    title: Annotated[str, Field(min_length=1, max_length=200), CLEAN]
    kind: Literal["percent", "amount", "gift"]
    value: Amount
    min_spend: Amount = 0.0
    valid_from: UtcDatetime
    valid_to: UtcDatetime
    daily_cap: Count | None = None
    total_stock: Count | None = None
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> CouponRow:
        if self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        if self.kind == "percent" and not 0 < self.value <= 100:
            raise ValueError("a percent coupon's value must be in (0, 100]")
        return self


class CouponPublic(CouponRow):
    model_config = ConfigDict(extra="ignore")

    store_id: str
