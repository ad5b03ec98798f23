"""Who visits each store, published only above the k-anonymity threshold."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from screens.db.tables import Store
from screens.deps import PrincipalDep, RuntimeDep, SessionDep
from screens.errors import NotFound, error_responses
from screens.schemas.recommend import Daypart, StoreAudiencePublic

router = APIRouter(prefix="/v1/stores", tags=["analytics"])


@router.get("/{store_id}/audience", response_model=StoreAudiencePublic, responses=error_responses(401, 403, 404))
def get_store_audience(
    store_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    who: PrincipalDep,
    daypart: Annotated[Daypart | None, Query(description="one daypart, or all")] = None,
) -> StoreAudiencePublic:
    """Decayed visitor shares per attribute cell; withheld (`published: false`) below k visits."""
    who.require_store(store_id, "ops", "merchandiser")
    if session.get(Store, store_id) is None:
        raise NotFound(f"no store {store_id!r}")
    settings = runtime.settings
    shown = runtime.coupons.published_audience(store_id, daypart)
    return StoreAudiencePublic(
        store_id=store_id,
        published=shown is not None,
        k_anonymity=settings.k_anonymity,
        daypart=daypart,
        visits=round(shown.visits, 2) if shown else None,
        shares=shown.shares if shown else None,
        epsilon=settings.dp_epsilon,
        half_life_days=settings.audience_half_life_days,
    )
