"""Server-sent events that tell a screen page when what it shows is out of date.

A lead-in page hears ``profile`` when the crowd in front of its screen changes; a mirror page hears
``try_on`` when a new item is tried on at its mirror. The page then fetches fresh content itself, so
the stream carries only small change notices, never rankings.

Why polling and not a notification channel: both sources are already shared by every worker — the
crowd is read from the live counters (Redis with several workers) and the last try-on from the event
log (the database, within the mirror-session window) — so each stream polls its own screen's state
once every ``poll_s`` and pushes only when the rounded value differs. That is multi-worker safe with
no extra fan-out, survives a Redis reconnect without lost messages, and costs one small read per
connected screen per second.

Streams end after ``max_stream_s`` (the browser reconnects at once); together with
``timeout_graceful_shutdown`` in ``vitrine serve`` this keeps a restart from waiting on screens.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from screens.db.tables import EventRecord
from screens.runtime import Runtime

log = logging.getLogger(__name__)

POLL_S: Final = 1.0
KEEPALIVE_S: Final = 15.0
MAX_STREAM_S: Final = 300.0
SHARE_STEP: Final = 0.05
"""Profile shares are rounded to this step so sampling noise does not make a screen flicker."""


def crowd_state(runtime: Runtime, screen_id: str) -> dict[str, Any]:
    """The lead-in screen's crowd as rounded shares (what a ``profile`` notice carries)."""
    profile = runtime.coupons.crowd_profile(screen_id, datetime.now(UTC))
    shares = {cell: round(round(share / SHARE_STEP) * SHARE_STEP, 2) for cell, share in profile.as_dict().items()}
    return {
        "profile": {cell: share for cell, share in sorted(shares.items()) if share > 0},
        "faces": round(profile.n_faces),
    }


def last_try_on(runtime: Runtime, screen_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The newest try-on logged for the mirror within the mirror-session window, or ``{"sku": None}``.

    Bounded by the window (a try-on older than it belongs to a session that can no longer go on):
    the read is a range of the ``(type, ts)`` index, never a walk back through every try-on of every
    mirror, which is what a mirror without a recent try-on cost on each poll.
    """
    since = (now or datetime.now(UTC)) - timedelta(seconds=runtime.settings.mirror_session_window_s)
    query = (
        select(EventRecord.payload)
        .where(EventRecord.type == "try_on", col(EventRecord.ts) >= since, EventRecord.screen_id == screen_id)
        .order_by(col(EventRecord.ts).desc())
        .limit(1)
    )
    with Session(runtime.engine) as session:
        payload = session.exec(query).first()
    if payload is None:
        return {"sku": None, "session_id": None, "event_id": None}
    return {"sku": payload["sku"], "session_id": payload["session_id"], "event_id": payload["event_id"]}


def state_reader(runtime: Runtime, screen_id: str, kind: str) -> tuple[str, Callable[[], dict[str, Any]]]:
    """The event name and the state function a screen of ``kind`` is notified about."""
    if kind == "mirror":
        return "try_on", lambda: last_try_on(runtime, screen_id)
    return "profile", lambda: crowd_state(runtime, screen_id)


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def screen_events(
    runtime: Runtime,
    screen_id: str,
    kind: str,
    is_disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = POLL_S,
    max_stream_s: float = MAX_STREAM_S,
) -> AsyncIterator[str]:
    """The SSE body: the current state at once, then every change, with keep-alive comments."""
    event, read_state = state_reader(runtime, screen_id, kind)
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    yield "retry: 2000\n\n"
    previous: dict[str, Any] | None = None
    while loop.time() - started < max_stream_s and not await is_disconnected():
        state: dict[str, Any] | None
        try:
            state = await run_in_threadpool(read_state)
        except Exception:  # a database or Redis hiccup: keep the stream, try again next poll
            log.warning("live state of %s unavailable", screen_id, exc_info=True)
            state = previous
        if state is not None and state != previous:
            previous, last_sent = state, loop.time()
            yield _sse(event, state)
        elif loop.time() - last_sent >= KEEPALIVE_S:
            last_sent = loop.time()
            yield ": keep-alive\n\n"
        await asyncio.sleep(poll_s)
