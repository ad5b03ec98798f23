"""Lead-in recommendations: ranked coupons for a screen's crowd, previews, and the crowd itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response

from recsys.weights import validate_weights
from screens.deps import CouponsDep, DeviceOrOpsDep, RuntimeDep, ScreenDep
from screens.errors import InvalidInput, error_responses
from screens.schemas.recommend import CouponPick, CrowdProfilePublic, RecommendRequest, RecommendResponse
from screens.services.leadin.recommender import LeadInSlate

router = APIRouter(prefix="/v1", tags=["recommendations"])
SlateSize = Annotated[int, Query(ge=1, le=20, description="number of coupons")]


def _public(rec: LeadInSlate) -> RecommendResponse:
    """The answer as the response model, built without validation: every field comes typed from the ranker."""
    picks = [
        CouponPick.model_construct(
            coupon_id=c.coupon_id,
            store_id=c.store_id,
            title=c.title,
            score=c.score,
            explain=c.explain,
            explored=c.explored,
            propensity=c.propensity,
        )
        for c in rec.coupons
    ]
    return RecommendResponse.model_construct(
        coupons=picks,
        profile=rec.profile.as_dict(),
        model_version=rec.model_version,
        weights_version=rec.weights_version,
    )


@router.get("/screens/{screen_id}/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404))
def get_screen_coupons(screen: ScreenDep, coupons: CouponsDep, k: SlateSize = 5) -> Response:
    """Top-k coupons for the crowd in front of the screen, at most one per store, each with `explain`."""
    return _json(_public(coupons.recommend(screen.id, k)))


def _json(body: RecommendResponse) -> Response:
    """Serialise once, without FastAPI's second validation pass; ``response_model`` still documents it."""
    return Response(body.model_dump_json(), media_type="application/json")


@router.post("/recommend/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404, 422))
def post_recommend(
    body: RecommendRequest, runtime: RuntimeDep, coupons: CouponsDep, who: DeviceOrOpsDep
) -> RecommendResponse:
    """Rank for a screen with an optional explicit profile, time and (ops only) previewed weights."""
    who.require_screen(body.screen_id, "ops")
    if body.weights is not None:
        who.require("ops")
        errors = validate_weights(body.weights)
        if errors:
            raise InvalidInput(
                "invalid ranking weights", errors=[{"field": f"weights.{f}", "message": m} for f, m in errors]
            )
    runtime.screens.get(body.screen_id)  # the screen is in the body, not the path: no ScreenDep
    profile = body.profile.model_dump(exclude_none=True) if body.profile is not None else None
    return _public(
        coupons.recommend(body.screen_id, body.k, explicit_profile=profile, at=body.at, weights=body.weights)
    )


@router.get("/screens/{screen_id}/profile", response_model=CrowdProfilePublic, responses=error_responses(401, 403, 404))
def get_screen_profile(screen: ScreenDep, coupons: CouponsDep) -> CrowdProfilePublic:
    """The screen's current crowd as shares of anonymous attribute cells (never images or ids)."""
    profile = coupons.crowd_profile(screen.id, datetime.now(UTC))
    return CrowdProfilePublic(
        screen_id=screen.id,
        profile=profile.as_dict(),
        faces=profile.n_faces,
        window_s=coupons.crowd_window_s,
        group_shares=dict(profile.group_shares),
    )
