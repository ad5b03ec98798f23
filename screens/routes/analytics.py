"""Audience, traffic, flow, coupon, proof-of-play and screen analytics: the JSON the console draws.

Counts that describe people are k-anonymous (``VITRINE_K_ANONYMITY``): below the threshold they are
``null`` with ``suppressed: true``. Merchandisers see their own stores only; the API enforces it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from sqlmodel import Session

from screens.auth import Principal
from screens.deps import PrincipalDep, RuntimeDep, SessionDep, StoreDep
from screens.errors import error_responses
from screens.routes.mall import STALE_AFTER
from screens.runtime import Runtime
from screens.schemas.analytics import (
    CouponSummary,
    MallTraffic,
    ScreenFlow,
    ScreenStatus,
    StoreAudience,
    StoreCoupons,
)
from screens.schemas.flow_chart import FlowChart
from screens.schemas.proof_of_play import ProofOfPlay
from screens.services import analytics
from screens.services.flow_chart import flow_chart
from screens.services.leadin import analytics as leadin_analytics
from screens.services.leadin.proof_of_play import PAGE_MAX, proof_of_play, proof_of_play_csv

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Days = Annotated[int, Query(ge=1, le=analytics.ANALYTICS_DAYS, description="how many days back from now")]
TzOffset = Annotated[
    int,
    Query(
        ge=-720,
        le=840,
        multiple_of=15,
        description="mall-local time = UTC + this many minutes (whole quarter hours, as every time zone is)",
    ),
]
ERRORS = error_responses(401, 403)
STORE_ERRORS = error_responses(401, 403, 404)


def _window(runtime: Runtime, days: int, tz_offset_min: int) -> analytics.Window:
    return analytics.Window.last_days(days, tz_offset_min, runtime.settings.k_anonymity)


def _own_stores(who: Principal) -> frozenset[str] | None:
    """The stores a merchandiser is bound to; ``None`` (all) for every other role."""
    return who.store_ids if who.role == "merchandiser" else None


@router.get("/stores/{store_id}/audience", response_model=StoreAudience, responses=STORE_ERRORS)
def get_store_audience(
    store: StoreDep, session: SessionDep, runtime: RuntimeDep, days: Days = 28, tz_offset_min: TzOffset = 0
) -> StoreAudience:
    """A store's visitors as gender × age grids per daypart; cells below k visits are suppressed."""
    return analytics.store_audience(session, store.id, _window(runtime, days, tz_offset_min))


@router.get("/traffic", response_model=MallTraffic, responses=ERRORS)
def get_traffic(
    session: SessionDep, runtime: RuntimeDep, who: PrincipalDep, days: Days = 7, tz_offset_min: TzOffset = 0
) -> MallTraffic:
    """Mall-wide store visits per local hour of day and per day."""
    who.require("ops")
    return analytics.mall_traffic(session, _window(runtime, days, tz_offset_min))


@router.get("/flow", response_model=ScreenFlow, responses=ERRORS)
def get_flow(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep, days: Days = 7) -> ScreenFlow:
    """Screen → store flow: coupons of each store shown and claimed at each lead-in screen."""
    who.require("ops", "merchandiser")
    return analytics.screen_flow(session, _window(runtime, days, 0), _own_stores(who))


@router.get("/flow/chart", response_model=FlowChart, responses=ERRORS)
def get_flow_chart(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep, days: Days = 7) -> FlowChart:
    """Screen → store claims as Sankey nodes and links; pairs under k merged into "other" bands."""
    who.require("ops", "merchandiser")
    return flow_chart(session, _window(runtime, days, 0), _own_stores(who))


def _proof_of_play(
    session: Session, runtime: Runtime, who: Principal, days: int, page: tuple[int, int] | None = None
) -> ProofOfPlay:
    """The report both proof-of-play routes answer with, for the stores ``who`` may see."""
    who.require("ops", "merchandiser")
    window = _window(runtime, days, 0)
    return proof_of_play(session, window, runtime.settings.crowd_window_s, _own_stores(who), page)


@router.get("/proof-of-play", response_model=ProofOfPlay, responses=ERRORS)
def get_proof_of_play(
    session: SessionDep,
    runtime: RuntimeDep,
    who: PrincipalDep,
    days: Days = 7,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX, description="rows of this page, most shown first")] = 100,
    offset: Annotated[int, Query(ge=0, description="rows skipped before the page")] = 0,
) -> ProofOfPlay:
    """Per lead-in screen and coupon: showings, the crowd present when shown (faces, attention), claims.

    A page of the most shown pairs with totals over all of them; the CSV has every pair."""
    return _proof_of_play(session, runtime, who, days, (offset, limit))


_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


@router.get("/proof-of-play.csv", response_class=PlainTextResponse, responses={**ERRORS, **_CSV})
def get_proof_of_play_csv(
    session: SessionDep, runtime: RuntimeDep, who: PrincipalDep, days: Days = 7
) -> PlainTextResponse:
    """The proof-of-play report as CSV, every pair (text cells that a spreadsheet could run as formulas
    are escaped)."""
    report = _proof_of_play(session, runtime, who, days)
    return PlainTextResponse(
        proof_of_play_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="proof-of-play-{days}d.csv"'},
    )


@router.get("/coupons", response_model=CouponSummary, responses=ERRORS)
def get_coupon_summary(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep, days: Days = 7) -> CouponSummary:
    """Impressions, claims and claim rate of the coupons of each store the caller may see."""
    who.require("ops", "merchandiser")
    return leadin_analytics.coupon_summary(session, _window(runtime, days, 0), _own_stores(who))


@router.get("/stores/{store_id}/coupons", response_model=StoreCoupons, responses=STORE_ERRORS)
def get_store_coupons(
    store: StoreDep, session: SessionDep, runtime: RuntimeDep, days: Days = 14, tz_offset_min: TzOffset = 0
) -> StoreCoupons:
    """Each coupon's impressions, claims, claim rate, trend, audience cells and pacing against caps."""
    _, weights = runtime.weights.snapshot()
    window = _window(runtime, days, tz_offset_min)
    return leadin_analytics.store_coupons(session, store.id, window, weights.get("exploration", 0.0))


@router.get("/screens", response_model=list[ScreenStatus], responses=ERRORS)
def get_screens(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep) -> list[ScreenStatus]:
    """Every screen's health, current crowd profile (cells, never images) and what it shows now."""
    who.require("ops")
    return analytics.screens_overview(
        session, runtime.bus.counters, datetime.now(UTC), runtime.settings.crowd_window_s, STALE_AFTER
    )
