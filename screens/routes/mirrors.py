"""Fitting mirrors: record a try-on and answer the tried item, similar and complementary items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from recsys.mirror.compatibility import merge_compatibility
from recsys.mirror.recommender import MirrorResult, ShelfItem, TriedItem
from screens.db.tables import SettingValue
from screens.deps import MirrorDep, MirrorScreenDep, OpsDep, PrincipalDep, RuntimeDep, SessionDep
from screens.errors import InvalidInput, error_responses
from screens.observability import EVENTS
from screens.schemas.events import Id
from screens.schemas.mirror import (
    CompatibilityUpdate,
    CompatibilityVersion,
    MirrorCoupon,
    MirrorItem,
    MirrorPick,
    MirrorRecommendations,
    TryOnRequest,
)
from screens.services.events import ScreenInfo, ingest
from screens.services.mirror import compat
from screens.services.mirror.coupons import UsableCoupon
from screens.services.mirror.service import MirrorScreen, MirrorService

router = APIRouter(prefix="/v1", tags=["mirrors"])
ShelfSize = Annotated[int, Query(ge=1, le=50, description="items per list")]
MIRROR_ERRORS: dict[int | str, dict[str, Any]] = {
    **error_responses(401, 403, 404, 422),
    503: {"description": "the index is still loading after a restart"},
}


def _pick(shelf: ShelfItem) -> MirrorPick:
    it = shelf.item
    return MirrorPick(
        sku=it.sku,
        score=round(shelf.score, 4),
        reason=shelf.reason,
        name=it.name,
        category=it.category,
        price=it.price,
        sale_price=it.sale_price,
        discount_pct=it.discount_pct,
        image_url=it.image_url,
    )


def _coupon(c: UsableCoupon) -> MirrorCoupon:
    return MirrorCoupon(
        coupon_id=c.coupon_id, title=c.title, kind=c.kind, value=c.value, min_spend=c.min_spend, valid_to=c.valid_to
    )


def public(result: MirrorResult, coupons: list[UsableCoupon]) -> MirrorRecommendations:
    """The route's schema, built from what ``recsys`` answered and the store's usable coupons."""
    it = result.item
    item = MirrorItem(
        sku=it.sku,
        name=it.name,
        category=it.category,
        price=it.price,
        sale_price=it.sale_price,
        discount_pct=it.discount_pct,
        stock=it.stock,
        image_url=it.image_url,
        coupons=[_coupon(c) for c in coupons],
    )
    return MirrorRecommendations(
        item=item,
        similar=[_pick(s) for s in result.similar],
        complementary=[_pick(s) for s in result.complementary],
        model_version=result.model_version,
    )


def _answer(
    service: MirrorService, mirror: MirrorScreen, tried: TriedItem, session_id: str | None, k: int
) -> MirrorRecommendations:
    result = service.recommend(mirror, tried, session_id, k)
    return public(result, service.coupons.of_store(mirror.store_id, datetime.now(UTC)))


@router.post("/mirrors/{screen_id}/try-ons", response_model=MirrorRecommendations, responses=MIRROR_ERRORS)
def post_try_on(
    mirror: MirrorScreenDep,
    body: TryOnRequest,
    session: SessionDep,
    runtime: RuntimeDep,
    service: MirrorDep,
    who: PrincipalDep,
    k: ShelfSize = 10,
) -> MirrorRecommendations:
    """Record a try-on (once per `event_id`) and answer the item's details, similar and complementary items.

    A `session_id` lives 2 hours from its first try-on (`VITRINE_MIRROR_SESSION_WINDOW_S`); later
    try-ons with it get `422` "start a new session". It is stored only as a daily-salted hash."""
    screen_id = mirror.screen_id
    tried = service.locate(mirror, body.sku)  # before anything is recorded
    event = {
        "event_id": str(body.event_id),
        "ts": (body.ts or datetime.now(UTC)).isoformat(),
        "type": "try_on",
        "screen_id": screen_id,
        "sku": body.sku,
        "session_id": body.session_id,
    }
    screens = {screen_id: ScreenInfo("mirror", mirror.store_id)}
    result = ingest(session, runtime.bus.events, [event], screens, who, runtime.intake, sessions=runtime.sessions)
    if result.rejected:
        field = "session_id" if "new session" in result.errors[0].message else "body"
        raise InvalidInput("try-on rejected", errors=[{"field": field, "message": e.message} for e in result.errors])
    EVENTS.labels("accepted").inc(result.accepted)
    EVENTS.labels("duplicate").inc(result.duplicates)
    session_key = runtime.sessions.stored_id(body.session_id)  # the raw id is not kept, not even live
    service.sessions.remember(screen_id, session_key, body.sku)  # a replay only refreshes its time
    return _answer(service, mirror, tried, session_key, k)


@router.get("/mirrors/{screen_id}/recommendations", response_model=MirrorRecommendations, responses=MIRROR_ERRORS)
def get_recommendations(
    mirror: MirrorScreenDep,
    sku: Annotated[Id, Query()],
    service: MirrorDep,
    runtime: RuntimeDep,
    session_id: Annotated[Id | None, Query()] = None,
    k: ShelfSize = 10,
) -> MirrorRecommendations:
    """The same answer as a try-on, without recording one (`session_id` raw or as the page got it: `h:…`)."""
    session_key = runtime.sessions.stored_id(session_id) if session_id else None
    return _answer(service, mirror, service.locate(mirror, sku), session_key, k)


def _public(row: SettingValue, runtime: RuntimeDep) -> CompatibilityVersion:
    learned = runtime.mirror.recommender.learned_compatibility
    return CompatibilityVersion(
        version=row.version,
        table=row.value,
        updated_by=row.updated_by,
        updated_at=row.updated_at,
        learned=learned.table if learned is not None else {},
        learned_support=learned.support if learned is not None else {},
        in_force=merge_compatibility(learned.table if learned is not None else {}, compat.normalised(row.value)),
    )


@router.get("/mirror/compatibility", response_model=CompatibilityVersion, responses=error_responses(401, 403))
def get_compatibility(session: SessionDep, runtime: RuntimeDep, who: PrincipalDep) -> CompatibilityVersion:
    """The merchandiser's table and its version (0: the built-in defaults), the learned one, and the merge in force."""
    who.require("ops")
    return _public(compat.current(session), runtime)


@router.put("/mirror/compatibility", response_model=CompatibilityVersion, responses=error_responses(401, 403, 422))
def put_compatibility(
    body: CompatibilityUpdate, session: SessionDep, runtime: RuntimeDep, who: OpsDep
) -> CompatibilityVersion:
    """Replace the table (a new version, audited with its diff); every worker adopts it within a second."""
    row = compat.update(session, body.table, who, body.comment)
    session.commit()
    runtime.mirror.set_compatibility(row.version, row.value)
    runtime.bus.config.publish(compat.CHANNEL, {"version": row.version})
    return _public(row, runtime)
