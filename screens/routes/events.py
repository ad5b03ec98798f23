"""Device event intake."""

from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import col, select

from screens.db.tables import Screen
from screens.deps import DeviceOrOpsDep, RuntimeDep, SessionDep
from screens.errors import InvalidInput, error_responses
from screens.observability import EVENTS
from screens.schemas.events import EventBatch, IngestResult
from screens.services.events import ScreenInfo, ingest

router = APIRouter(prefix="/v1", tags=["events"])


@router.post("/events", response_model=IngestResult, responses=error_responses(401, 403, 422))
def post_events(body: EventBatch, session: SessionDep, runtime: RuntimeDep, who: DeviceOrOpsDep) -> IngestResult:
    """Ingest a batch of events; each is accepted, a duplicate (same `event_id` seen before) or
    rejected with its index and reason — good events are kept even when neighbours are bad."""
    limit = runtime.settings.events_max_batch
    if len(body.events) > limit:
        raise InvalidInput(
            f"at most {limit} events per batch",
            errors=[{"field": "events", "message": f"got {len(body.events)}, limit {limit}"}],
        )
    screen_ids = {e.get("screen_id") for e in body.events if isinstance(e.get("screen_id"), str)}
    if who.screen_id:
        screen_ids.add(who.screen_id)
    rows = list(session.exec(select(Screen).where(col(Screen.id).in_(screen_ids)))) if screen_ids else []
    screens = {s.id: ScreenInfo(kind=s.kind, store_id=s.store_id) for s in rows}
    result = ingest(session, runtime.bus.events, body.events, screens, who, runtime.intake, sessions=runtime.sessions)
    EVENTS.labels("accepted").inc(result.accepted)
    EVENTS.labels("duplicate").inc(result.duplicates)
    EVENTS.labels("rejected").inc(result.rejected)
    return result
