"""Catalog rows as merchandisers upload them (CSV or JSON) and as the API returns them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from screens.schemas.base import CLEAN, Amount, Count, StrictModel

Sku = Annotated[str, Field(min_length=1, max_length=64), CLEAN]
Tag = Annotated[str, Field(min_length=1, max_length=64), CLEAN]


class CatalogRow(StrictModel):
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=300), CLEAN]
    category: Annotated[str, StringConstraints(min_length=1, max_length=64, to_lower=True), CLEAN]
    subcategory: Annotated[str, StringConstraints(max_length=64, to_lower=True), CLEAN] | None = None
    gender_target: Literal["women", "men", "unisex", "kids"]
    colors: Annotated[list[Tag], Field(max_length=20)] = []
    style_tags: Annotated[list[Tag], Field(max_length=20)] = []
    price: Amount
    sale_price: Amount | None = None
    stock: Count
    image_url: Annotated[str, Field(max_length=2000), CLEAN] | None = None
    complements: Annotated[list[Tag], Field(max_length=50)] = []

    @model_validator(mode="after")
    def _sale_not_above_price(self) -> CatalogRow:
        if self.sale_price is not None and self.sale_price > self.price:
            raise ValueError("sale_price must not exceed price")
        return self


class CatalogItemPublic(CatalogRow):
    model_config = ConfigDict(extra="ignore")

    store_id: str
