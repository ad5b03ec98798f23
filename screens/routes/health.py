"""Liveness, readiness and metrics."""

from __future__ import annotations

import os

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from screens.deps import RuntimeDep, get_principal
from screens.errors import NotFound, error_responses
from screens.observability import metrics_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database and live state reachable",
    responses={503: {"description": "the database is unreachable"}},
)
def readyz(runtime: RuntimeDep, response: Response) -> dict[str, object]:
    """``ready``, ``degraded`` (Redis away: answers come from the last known state, events are
    buffered in process) or ``unavailable`` (no database: 503); ``models``: the version in force per kind."""
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = True
    except Exception:
        database = False
    live_state = runtime.bus.ping()
    status = "ready" if database and live_state else "degraded" if database else "unavailable"
    if not database:
        response.status_code = 503
    return {
        "status": status,
        "database": database,
        "live_state": live_state,
        "bus": runtime.bus.kind,
        "buffered_events": runtime.bus.events.pending(),
        "worker_pid": os.getpid(),
        "weights_version": runtime.weights.version,
        "background_tasks": runtime.mirror.background_tasks,
        "models": runtime.models.status(),
        "mirror_models": runtime.mirror.models_in_force,
    }


@router.get(
    "/metrics",
    summary="Prometheus metrics of this worker",
    response_class=Response,
    responses=error_responses(401, 403, 404),
    openapi_extra={"security": [{"bearer": []}, {}]},  # the token is asked for only when access is `token`
)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Served as `VITRINE_METRICS_ACCESS` says: `open`, `token` (an ops or admin token) or `off` (404)."""
    access = runtime.settings.metrics_access
    if access == "off":
        raise NotFound("metrics are switched off (VITRINE_METRICS_ACCESS=off)")
    if access == "token":
        (await get_principal(request)).require("ops")
    return metrics_response()
