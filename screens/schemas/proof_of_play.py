"""Proof of play: what each lead-in screen showed, to whom (as anonymous counts), and what it led to."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from screens.schemas.analytics import Window
from screens.schemas.base import StrictModel


class PlayRow(StrictModel):
    screen_id: str
    coupon_id: str
    store_id: str
    title: str
    impressions: int = Field(description="times the screen showed the coupon (showings, not people)")
    impressions_with_audience: int = Field(description="showings with a crowd seen by the screen's camera just before")
    faces: int | None = Field(description="faces in front of the screen summed over the showings; null below k")
    faces_per_impression: float | None = Field(description="faces / impressions; null when faces is")
    attention_share: float | None = Field(
        description="share of those faces turned to the screen, where the camera reported it; null below k"
    )
    claims: int | None = Field(description="claims of the coupon scanned at this screen; null below k")
    claim_rate: float | None
    first_shown: datetime | None
    last_shown: datetime | None


class ProofOfPlay(StrictModel):
    window: Window
    crowd_window_s: float = Field(description="how far before a showing the crowd is looked up")
    pairs: int = Field(description="screen × coupon pairs in the window: every row, whatever page this is")
    screens: int = Field(description="lead-in screens among those pairs")
    impressions: int = Field(description="showings summed over every pair")
    rows: list[PlayRow] = Field(description="every pair in key order, or the requested page, most shown first")
