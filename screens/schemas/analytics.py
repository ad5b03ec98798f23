"""Analytics answers for the console. Every count that describes people is either at least the
k-anonymity threshold or ``null`` with ``suppressed: true``; the console shows such cells as suppressed."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from screens.schemas.base import StrictModel, UtcDatetime


class Window(StrictModel):
    since: UtcDatetime
    until: UtcDatetime
    tz_offset_min: int = Field(description="local time = UTC + this many minutes (dayparts, hours, days)")
    k: int = Field(description="k-anonymity threshold: fewer underlying visits than this are suppressed")


class AudienceCell(StrictModel):
    cell: str = Field(examples=["female:25-34"])
    gender: str
    age: str
    visits: int | None
    suppressed: bool


class AudienceSlice(StrictModel):
    """One daypart (or ``all``) of a store's visitors as a gender × age grid."""

    daypart: str
    total: int | None = Field(description="null when publishing it would reveal a suppressed cell")
    published_visits: int = Field(description="sum of the cells that are published")
    suppressed: bool
    cells: list[AudienceCell]


class StoreAudience(StrictModel):
    store_id: str
    window: Window
    genders: list[str]
    age_buckets: list[str]
    suppressed: bool = Field(description="true when the store had fewer than k visits in the window")
    all_day: AudienceSlice
    dayparts: list[AudienceSlice]


class HourTraffic(StrictModel):
    hour: int
    visits: int | None
    suppressed: bool


class DayTraffic(StrictModel):
    date: date
    visits: int | None
    suppressed: bool


class MallTraffic(StrictModel):
    window: Window
    total: int | None
    by_hour: list[HourTraffic] = Field(description="visits per local hour of day, summed over the window")
    by_day: list[DayTraffic]


class FlowLink(StrictModel):
    screen_id: str
    store_id: str
    impressions: int = Field(description="coupon showings of the store on the screen (not people)")
    claims: int | None = Field(description="coupons of the store claimed at the screen; suppressed below k")
    suppressed: bool


class ScreenFlow(StrictModel):
    window: Window
    links: list[FlowLink]


class CellPerformance(StrictModel):
    cell: str
    impressions: float | None = Field(description="impressions credited to the cell (faces share one)")
    claims: float | None
    claim_rate: float | None
    suppressed: bool


class DayPerformance(StrictModel):
    date: date
    impressions: int
    claims: int


class Pacing(StrictModel):
    daily_cap: int | None
    claims_today: int
    daily_expected_by_now: float | None = Field(description="daily cap × share of the local day gone by")
    total_stock: int | None
    claims_in_validity: int = Field(description="claims since the coupon became valid")
    stock_expected_by_now: float | None = Field(description="stock × share of the validity period gone by")
    status: str = Field(description="capped | exhausted | ahead | on_track | behind | uncapped")


class MeasuredExploration(StrictModel):
    """How many showings the ranking drew by Thompson sampling, as the screens reported them."""

    flagged_impressions: int = Field(description="impressions whose screen said whether they were explored")
    explored_impressions: int = Field(description="flagged impressions the ranking drew by Thompson sampling")
    share: float | None = Field(description="explored / flagged impressions; null when none is flagged")


class CouponPerformance(StrictModel):
    coupon_id: str
    title: str
    active: bool
    impressions: int
    claims: int
    claim_rate: float | None
    unattributed_impressions: int = Field(description="impressions with no crowd seen just before")
    exploration: MeasuredExploration
    trend: list[DayPerformance]
    by_cell: list[CellPerformance]
    pacing: Pacing


class StoreCouponTotals(StrictModel):
    impressions: int
    claims: int
    claim_rate: float | None
    exploration: MeasuredExploration
    trend: list[DayPerformance]
    by_cell: list[CellPerformance]


class StoreCoupons(StrictModel):
    store_id: str
    window: Window
    exploration_share: float = Field(
        description="configured share of lead-in slots re-ranked by exploration (the `exploration` weight in "
        "force); the measured share is in `totals.exploration`"
    )
    totals: StoreCouponTotals
    coupons: list[CouponPerformance]


class StoreCouponSummary(StrictModel):
    store_id: str
    name: str
    coupons: int
    impressions: int
    claims: int
    claim_rate: float | None
    exploration: MeasuredExploration


class CouponSummary(StrictModel):
    window: Window
    stores: list[StoreCouponSummary]


class ShowingNow(StrictModel):
    coupon_id: str | None = None
    store_id: str | None = None
    title: str | None = None
    sku: str | None = None
    at: UtcDatetime


class ScreenStatus(StrictModel):
    id: str
    kind: str
    store_id: str | None
    zone: str | None
    last_seen: UtcDatetime | None
    stale: bool
    faces: int = Field(description="faces in the crowd window right now")
    profile: dict[str, float] = Field(
        description="current crowd profile: cell → confidence-weighted share, as the ranker sees it (never images)"
    )
    showing: list[ShowingNow] = Field(description="what the screen reported showing in the last minutes")
