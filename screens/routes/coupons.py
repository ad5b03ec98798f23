"""Lead-in recommendations: ranked coupons for a screen's crowd, previews, and the crowd itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic_core import to_json

from recsys.weights import validate_weights
from screens.deps import CouponsDep, DeviceOrOpsDep, RuntimeDep, ScreenDep
from screens.errors import InvalidInput, error_responses
from screens.schemas.recommend import CrowdProfilePublic, RecommendRequest, RecommendResponse
from screens.services.leadin.recommender import LeadInSlate

router = APIRouter(prefix="/v1", tags=["recommendations"])
SlateSize = Annotated[int, Query(ge=1, le=20, description="number of coupons")]


def _json(rec: LeadInSlate) -> Response:
    """The answer encoded in one pass from plain values, skipping the response model's validation
    and serialisation (every field comes typed from the ranker); ``response_model`` documents it,
    and a test checks the body against it."""
    body = {
        "coupons": [
            {
                "coupon_id": c.coupon_id,
                "store_id": c.store_id,
                "title": c.title,
                "score": c.score,
                "explain": c.explain,
                "explored": c.explored,
                "propensity": c.propensity,
            }
            for c in rec.coupons
        ],
        "profile": rec.profile.as_dict(),
        "model_version": rec.model_version,
        "weights_version": rec.weights_version,
    }
    return Response(to_json(body), media_type="application/json")


@router.get("/screens/{screen_id}/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404))
async def get_screen_coupons(screen: ScreenDep, coupons: CouponsDep, k: SlateSize = 5) -> Response:
    """Top-k coupons for the crowd in front of the screen, at most one per store, each with `explain`."""
    slate = coupons.recommend_cached(screen.id, k)  # CPU only: no thread-pool hop
    if slate is None:
        slate = await run_in_threadpool(coupons.recommend, screen.id, k)
    return _json(slate)


@router.post("/recommend/coupons", response_model=RecommendResponse, responses=error_responses(401, 403, 404, 422))
def post_recommend(body: RecommendRequest, runtime: RuntimeDep, coupons: CouponsDep, who: DeviceOrOpsDep) -> Response:
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
    return _json(coupons.recommend(body.screen_id, body.k, explicit_profile=profile, at=body.at, weights=body.weights))


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
