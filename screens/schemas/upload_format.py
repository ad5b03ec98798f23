"""The upload CSV format: its columns, in template order, and how list cells are joined.

One module for everything that reads or writes uploads: the service's parser, validators and
templates, and the demo-mall generator in ``seeds`` (whose files must pass the same parser). It holds
plain constants only, so importing it pulls in neither pydantic nor the service.
"""

from __future__ import annotations

from typing import Final

CATALOG_COLUMNS: Final = (
    "sku",
    "name",
    "category",
    "subcategory",
    "gender_target",
    "colors",
    "style_tags",
    "price",
    "sale_price",
    "stock",
    "image_url",
    "complements",
)
COUPON_COLUMNS: Final = (
    "coupon_id",
    "title",
    "kind",
    "value",
    "min_spend",
    "valid_from",
    "valid_to",
    "daily_cap",
    "total_stock",
    "active",
)
LIST_COLUMNS: Final = ("colors", "style_tags", "complements")
"""Catalog cells that hold a list, written as ``LIST_SEPARATOR``-joined values."""
LIST_SEPARATOR: Final = "|"
