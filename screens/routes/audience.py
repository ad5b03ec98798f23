"""Who visits each store, published only above the k-anonymity threshold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from screens.deps import CouponsDep, RuntimeDep, StoreDep
from screens.errors import error_responses
from screens.schemas.recommend import Daypart, StoreAudiencePublic

router = APIRouter(prefix="/v1/stores", tags=["analytics"])


@router.get("/{store_id}/audience", response_model=StoreAudiencePublic, responses=error_responses(401, 403, 404))
def get_store_audience(
    store: StoreDep,
    runtime: RuntimeDep,
    coupons: CouponsDep,
    daypart: Annotated[Daypart | None, Query(description="one daypart, or all")] = None,
) -> StoreAudiencePublic:
    """Decayed visitor shares per attribute cell; withheld (`published: false`) below k visits."""
    settings = runtime.settings
    shown = coupons.published_audience(store.id, daypart)
    return StoreAudiencePublic(
        store_id=store.id,
        published=shown is not None,
        k_anonymity=settings.k_anonymity,
        daypart=daypart,
        visits=round(shown.visits, 2) if shown else None,
        shares=shown.shares if shown else None,
        epsilon=settings.dp_epsilon,
        half_life_days=settings.audience_half_life_days,
    )
