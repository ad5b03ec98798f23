"""The screen → store flow as a Sankey chart: nodes and links, small flows merged so k-anonymity holds."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from screens.schemas.analytics import Window
from screens.schemas.base import StrictModel

OTHER_STORES = "other stores"
OTHER_SCREENS = "other screens"


class FlowNode(StrictModel):
    id: str = Field(description=f"a screen or store id, or {OTHER_STORES!r} / {OTHER_SCREENS!r}")
    kind: Literal["screen", "store", "other"]
    name: str


class FlowChartLink(StrictModel):
    source: str
    target: str
    claims: int = Field(description="claims scanned at the source screen for coupons of the target; always >= k")


class FlowChart(StrictModel):
    window: Window
    nodes: list[FlowNode]
    links: list[FlowChartLink]
    merged_links: int = Field(description="screen → store links under k, drawn merged into 'other' (not people)")
    withheld_links: int = Field(description="links under k left out because even merged they stay under k")
