"""Stores and screens (ops), plus device heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from screens.db.session import as_utc
from screens.db.tables import Screen, Store
from screens.deps import DeviceScreenDep, OpsDep, PrincipalDep, RuntimeDep, ScreenDep, SessionDep, StoreDep
from screens.errors import InvalidInput, error_responses
from screens.schemas.base import IdPath
from screens.schemas.mall import ScreenIn, ScreenPublic, StoreIn, StorePublic
from screens.services import audit
from screens.services.screen_directory import find_screen

router = APIRouter(prefix="/v1", tags=["mall"])
STALE_AFTER = timedelta(minutes=2)


@router.put("/stores/{store_id}", response_model=StorePublic, responses=error_responses(401, 403))
def put_store(store_id: IdPath, body: StoreIn, session: SessionDep, who: OpsDep) -> Store:
    """Create or update a store."""
    store = session.get(Store, store_id) or Store(id=store_id, **body.model_dump())
    store.sqlmodel_update(body.model_dump())
    session.add(store)
    audit.record(session, who, "store.put", f"store:{store_id}", **body.model_dump())
    return store


@router.get("/stores", response_model=list[StorePublic], responses=error_responses(401, 403))
def list_stores(session: SessionDep, who: PrincipalDep) -> list[Store]:
    """Stores visible to the caller (a merchandiser sees its own)."""
    who.require("ops", "merchandiser")
    query = select(Store).order_by(Store.id)
    if who.role == "merchandiser":
        query = query.where(col(Store.id).in_(who.store_ids))
    return list(session.exec(query))


@router.get("/stores/{store_id}", response_model=StorePublic, responses=error_responses(401, 403, 404))
def get_store(store: StoreDep) -> Store:
    """One store."""
    return store


def _public(screen: Screen, now: datetime) -> ScreenPublic:
    last = as_utc(screen.last_seen) if screen.last_seen else None
    return ScreenPublic(
        id=screen.id,
        kind=screen.kind,
        store_id=screen.store_id,
        zone=screen.zone,
        camera=screen.camera,
        last_seen=last,
        stale=last is None or now - last > STALE_AFTER,
    )


@router.put("/screens/{screen_id}", response_model=ScreenPublic, responses=error_responses(401, 403, 422))
def put_screen(
    screen_id: IdPath, body: ScreenIn, session: SessionDep, runtime: RuntimeDep, who: OpsDep
) -> ScreenPublic:
    """Register or update a screen (a lead-in display, a fitting mirror or an entrance camera)."""
    if body.store_id and session.get(Store, body.store_id) is None:
        raise InvalidInput("unknown store", errors=[{"field": "store_id", "message": f"no store {body.store_id!r}"}])
    screen = session.get(Screen, screen_id) or Screen(id=screen_id, kind=body.kind)
    screen.sqlmodel_update(body.model_dump())
    session.add(screen)
    audit.record(session, who, "screen.put", f"screen:{screen_id}", **body.model_dump())
    session.commit()
    runtime.screen_changed(screen_id)  # after the commit, so no worker re-reads the old row
    return _public(screen, datetime.now(UTC))


@router.get("/screens", response_model=list[ScreenPublic], responses=error_responses(401, 403))
def list_screens(
    session: SessionDep,
    who: PrincipalDep,
    kind: Annotated[str | None, Query(description="lead_in | mirror | entrance_camera")] = None,
) -> list[ScreenPublic]:
    """All screens with their last heartbeat and whether they are stale."""
    who.require("ops")
    query = select(Screen).order_by(Screen.id)
    if kind:
        query = query.where(Screen.kind == kind)
    now = datetime.now(UTC)
    return [_public(s, now) for s in session.exec(query)]


@router.get("/screens/{screen_id}", response_model=ScreenPublic, responses=error_responses(401, 403, 404))
def get_screen(screen: ScreenDep, session: SessionDep) -> ScreenPublic:
    """One screen."""
    return _public(find_screen(session, screen.id), datetime.now(UTC))


@router.post("/screens/{screen_id}/heartbeat", response_model=ScreenPublic, responses=error_responses(401, 403, 404))
def heartbeat(device_screen: DeviceScreenDep, session: SessionDep) -> ScreenPublic:
    """A device reports it is alive; ops see screens without a recent heartbeat as stale."""
    screen = find_screen(session, device_screen.id)  # the row, fresh: its last_seen is written
    now = datetime.now(UTC)
    screen.last_seen = now
    session.add(screen)
    return _public(screen, now)
