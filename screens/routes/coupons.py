"""Lead-in recommendations: ranked coupons for a screen's crowd, previews, and the crowd itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import Session

from recsys.weights import validate_weights
from screens.db.tables import Screen
from screens.deps import PrincipalDep, RuntimeDep
from screens.errors import InvalidInput, NotFound, error_responses
from screens.schemas.recommend import CouponPick, CrowdProfilePublic, RecommendRequest, RecommendResponse
from screens.services.leadin.recommender import LeadInSlate

router = APIRouter(prefix="/v1", tags=["recommendations"])
SlateSize = Annotated[int, Query(ge=1, le=20, description="number of coupons")]


def _screen_or_404(runtime: RuntimeDep, screen_id: str) -> None:
    """404 for an unknown screen; screens are never deleted, so one found is remembered per worker
    (the hot path then opens no database session at all)."""
    known = runtime.coupons.known_screens
    if screen_id in known:
        return
    with Session(runtime.engine) as session:
        if session.get(Screen, screen_id) is None:
            raise NotFound(f"no screen {screen_id!r}")
    known.add(screen_id)


def _public(rec: LeadInSlate) -> RecommendResponse:
    picks = [
        CouponPick(
            coupon_id=c.coupon_id,
            store_id=c.store_id,
            title=c.title,
            score=c.score,
            explain=c.explain,
            explored=c.explored,
        )
        for c in rec.coupons
    ]
    return RecommendResponse(
        coupons=picks,
        profile=rec.profile.as_dict(),
        model_version=rec.model_version,
        weights_version=rec.weights_version,
    )


@router.get("/screens/{screen_id}/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404))
def get_screen_coupons(screen_id: str, runtime: RuntimeDep, who: PrincipalDep, k: SlateSize = 5) -> RecommendResponse:
    """Top-k coupons for the crowd in front of the screen, at most one per store, each with `explain`."""
    who.require_screen(screen_id, "ops")
    _screen_or_404(runtime, screen_id)
    return _public(runtime.coupons.recommend(screen_id, k))


@router.post("/recommend/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404, 422))
def post_recommend(body: RecommendRequest, runtime: RuntimeDep, who: PrincipalDep) -> RecommendResponse:
    """Rank for a screen with an optional explicit profile, time and (ops only) previewed weights."""
    who.require_screen(body.screen_id, "ops")
    if body.weights is not None:
        who.require("ops")
        errors = validate_weights(body.weights)
        if errors:
            raise InvalidInput(
                "invalid ranking weights", errors=[{"field": f"weights.{f}", "message": m} for f, m in errors]
            )
    _screen_or_404(runtime, body.screen_id)
    profile = body.profile.model_dump(exclude_none=True) if body.profile is not None else None
    return _public(
        runtime.coupons.recommend(body.screen_id, body.k, explicit_profile=profile, at=body.at, weights=body.weights)
    )


@router.get("/screens/{screen_id}/profile", response_model=CrowdProfilePublic, responses=error_responses(401, 403, 404))
def get_screen_profile(screen_id: str, runtime: RuntimeDep, who: PrincipalDep) -> CrowdProfilePublic:
    """The screen's current crowd as shares of anonymous attribute cells (never images or ids)."""
    who.require_screen(screen_id, "ops")
    _screen_or_404(runtime, screen_id)
    profile = runtime.coupons.crowd_profile(screen_id, datetime.now(UTC))
    return CrowdProfilePublic(
        screen_id=screen_id,
        profile=profile.as_dict(),
        faces=profile.n_faces,
        window_s=runtime.coupons.crowd_window_s,
        group_shares=dict(profile.group_shares),
    )
