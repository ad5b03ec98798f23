"""A tiny, test-only stand-in for the Vitrine service, for the kiosk SDK's tests.

TODO(lead): once ``screens/`` serves ``/v1/events`` and friends, point these tests at the real
service (``screens.app:create_app`` under uvicorn, or ``httpx.ASGITransport``) and delete this
file. It implements just enough of the API contract to prove the SDK's guarantees:

* ``POST /v1/events`` dedupes by ``event_id`` in a SQLite file, so dedupe survives a SIGKILL and a
  restart, and answers ``{accepted, duplicates, rejected, errors: [{index, message}]}``;
  every receipt is also logged in ``deliveries`` so tests can count resends.
* ``POST /v1/screens/{id}/heartbeat``, ``GET /v1/screens/{id}/coupons``,
  ``POST /v1/mirrors/{id}/try-ons``, ``GET /v1/mirrors/{id}/recommendations``, ``GET /healthz``.

Knobs (arguments of :func:`create_app`, or environment variables for ``uvicorn --factory``):
``FAKE_SERVICE_DB`` (SQLite path), ``FAKE_SERVICE_TOKEN`` (default ``test-token``),
``FAKE_SERVICE_SLOW_ACK_S`` (sleep after committing a batch, before answering: lets a test kill
the server between commit and acknowledgement), ``FAKE_SERVICE_WHOLE_BATCH_422`` (refuse a whole
batch with 422 when any event is bad, as a strict pydantic body model would).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse

REQUIRED = {
    "audience": ("screen_id", "faces"),
    "store_visit": ("screen_id", "gender", "age"),
    "try_on": ("screen_id", "sku", "session_id"),
    "coupon_impression": ("screen_id", "coupon_id"),
    "coupon_claim": ("coupon_id",),
    "purchase": ("store_id", "skus"),
}
GENDERS = {"female", "male", "unknown"}
COUPONS = [
    {"coupon_id": "s001-c01", "store_id": "s001", "title": "20% off", "score": 0.9, "explain": "crowd"},
    {"coupon_id": "s002-c01", "store_id": "s002", "title": "$10 off", "score": 0.7, "explain": "crowd"},
]
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (n INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, outcome TEXT);
CREATE TABLE IF NOT EXISTS heartbeats (n INTEGER PRIMARY KEY AUTOINCREMENT, screen_id TEXT, body TEXT);
"""


def problem(event: Any) -> str | None:
    """Why the service would reject this event, or ``None``."""
    if not isinstance(event, dict) or not isinstance(event.get("event_id"), str) or not event.get("ts"):
        return "event_id and ts are required"
    if event.get("type") not in REQUIRED:
        return f"unknown type {event.get('type')!r}"
    missing = [f for f in REQUIRED[event["type"]] if f not in event]
    if missing:
        return f"missing {', '.join(missing)}"
    if event["type"] == "audience":
        faces = event["faces"]
        if not isinstance(faces, list) or any(f.get("gender") not in GENDERS for f in faces):
            return "faces: gender must be female|male|unknown"
    return None


def create_app(
    db_path: str | None = None,
    *,
    token: str | None = None,
    slow_ack_s: float | None = None,
    whole_batch_422: bool | None = None,
) -> FastAPI:
    db = db_path or os.environ["FAKE_SERVICE_DB"]
    expected = token or os.environ.get("FAKE_SERVICE_TOKEN", "test-token")
    slow = slow_ack_s if slow_ack_s is not None else float(os.environ.get("FAKE_SERVICE_SLOW_ACK_S", "0"))
    strict = (
        whole_batch_422
        if whole_batch_422 is not None
        else bool(os.environ.get("FAKE_SERVICE_WHOLE_BATCH_422"))
    )
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(db, timeout=30)

    def auth(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization != f"Bearer {expected}":
            raise HTTPException(401, "bad device token")

    app, api = FastAPI(), APIRouter(dependencies=[Depends(auth)])

    @app.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    def store(conn: sqlite3.Connection, event: dict[str, Any]) -> str:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO events (event_id, type, body) VALUES (?, ?, ?)",
            (event["event_id"], event["type"], json.dumps(event)),
        )
        outcome = "accepted" if cursor.rowcount == 1 else "duplicate"
        conn.execute("INSERT INTO deliveries (event_id, outcome) VALUES (?, ?)", (event["event_id"], outcome))
        return outcome

    @api.post("/v1/events")
    def post_events(body: dict[str, Any]) -> Any:
        events = body.get("events")
        if not isinstance(events, list):
            raise HTTPException(422, "events must be a list")
        if len(events) > 1000:
            raise HTTPException(413, "at most 1000 events per batch")
        errors = [{"index": i, "message": msg} for i, e in enumerate(events) if (msg := problem(e))]
        if errors and strict:
            return JSONResponse({"detail": errors}, status_code=422)
        bad = {e["index"] for e in errors}
        outcomes = []
        with connect() as conn:
            outcomes = [store(conn, e) for i, e in enumerate(events) if i not in bad]
        time.sleep(slow)  # committed but not yet acknowledged: the window a crash test aims at
        return {
            "accepted": outcomes.count("accepted"),
            "duplicates": outcomes.count("duplicate"),
            "rejected": len(errors),
            "errors": errors,
        }

    @api.post("/v1/screens/{screen_id}/heartbeat")
    def heartbeat(screen_id: str, body: dict[str, Any] | None = None) -> dict[str, bool]:
        with connect() as conn:
            conn.execute(
                "INSERT INTO heartbeats (screen_id, body) VALUES (?, ?)", (screen_id, json.dumps(body))
            )
        return {"ok": True}

    @api.get("/v1/screens/{screen_id}/coupons")
    def coupons(screen_id: str, k: int = 5) -> dict[str, Any]:
        return {"coupons": COUPONS[:k], "profile": {"female:25-34": 0.6}, "model_version": "fake-1"}

    @api.post("/v1/mirrors/{screen_id}/try-ons")
    def try_on(screen_id: str, body: dict[str, Any]) -> dict[str, str]:
        event = {"type": "try_on", "screen_id": screen_id, "ts": "now", **body}
        with connect() as conn:
            return {"outcome": store(conn, event)}

    @api.get("/v1/mirrors/{screen_id}/recommendations")
    def recommendations(
        screen_id: str, sku: str, k: int = 6, session_id: str | None = None
    ) -> dict[str, Any]:
        similar = [{"sku": f"{sku}-sim{i}"} for i in range(k)]
        return {"item": {"sku": sku}, "similar": similar, "complementary": [], "model_version": "fake-1"}

    app.include_router(api)
    return app
