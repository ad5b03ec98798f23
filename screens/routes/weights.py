"""Ops-tuned ranking weights: read, change (a new version each time), history and rollback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from recsys.weights import WEIGHT_SPECS, validate_weights
from screens.db.tables import RankingWeights
from screens.deps import OpsDep, PrincipalDep, RuntimeDep, SessionDep
from screens.errors import InvalidInput, error_responses
from screens.schemas.base import MAX_INT
from screens.schemas.weights import WeightsUpdate, WeightsVersion
from screens.services import weights as weights_service
from screens.services.leadin import ope

router = APIRouter(prefix="/v1/ranking/weights", tags=["ranking"])


def _public(row: RankingWeights) -> WeightsVersion:
    return WeightsVersion.model_validate(row.model_dump())


@router.get("", response_model=WeightsVersion, responses=error_responses(401, 403))
def get_weights(session: SessionDep, who: PrincipalDep) -> WeightsVersion:
    """The weights in force and their version."""
    who.require("ops")
    return _public(weights_service.current(session))


@router.get("/specs", responses=error_responses(401, 403))
def get_specs(who: PrincipalDep) -> dict[str, dict[str, Any]]:
    """Every weight's default, bounds and meaning."""
    who.require("ops")
    return {
        name: {"default": s.default, "min": s.low, "max": s.high, "help": s.help} for name, s in WEIGHT_SPECS.items()
    }


@router.put("", response_model=WeightsVersion, responses=error_responses(401, 403, 422))
def put_weights(body: WeightsUpdate, session: SessionDep, runtime: RuntimeDep, who: OpsDep) -> WeightsVersion:
    """Change some weights; creates a new version. Unknown names or out-of-range values → 422."""
    row = weights_service.update(session, body.weights, who, body.comment)
    session.commit()
    runtime.weights.announce(row.version)
    return _public(row)


@router.post("/estimate", responses=error_responses(401, 403, 422))
def estimate_weights(body: WeightsUpdate, session: SessionDep, runtime: RuntimeDep, who: OpsDep) -> dict[str, Any]:
    """Estimated claim rate per shown coupon of an edit vs the weights in force, off-policy (IPS, SNIPS,
    DR) on the newest logged slates; nothing is saved. Unknown names or out-of-range values → 422."""
    errors = validate_weights(body.weights)
    if errors:
        raise InvalidInput(
            "invalid ranking weights", errors=[{"field": f"weights.{f}", "message": m} for f, m in errors]
        )
    in_force = weights_service.current(session).weights
    coupons = runtime.coupons
    return ope.preview_change(
        runtime.engine,
        coupons.crowd_window_s,
        coupons.state.snapshot(),
        coupons.models.current(),
        in_force,
        body.weights,
    )


@router.get("/history", response_model=list[WeightsVersion], responses=error_responses(401, 403))
def get_history(
    session: SessionDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[WeightsVersion]:
    """Versions, newest first, each with its author, time and diff against the one before."""
    who.require("ops")
    return [_public(r) for r in weights_service.history(session, limit, offset)]


@router.post("/rollback/{version}", response_model=WeightsVersion, responses=error_responses(401, 403, 404))
def post_rollback(
    version: Annotated[int, Path(ge=0, le=MAX_INT)], session: SessionDep, runtime: RuntimeDep, who: PrincipalDep
) -> WeightsVersion:
    """Put an earlier version back in force (as a new version, so history stays linear)."""
    who.require("ops")
    row = weights_service.rollback(session, version, who)
    session.commit()
    runtime.weights.announce(row.version)
    return _public(row)
