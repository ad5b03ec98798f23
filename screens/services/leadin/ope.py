"""Off-policy estimates of coupon policies on the logged slates (``vitrine eval coupons --policy``,
the publish gate of ``vitrine train coupons`` and the console's weights preview).

The logged slates are the impressions that carry the ``propensity`` the coupon list gave them; the
candidate coupons, store stats and audiences are the service's current ones (those at logging time
are not kept), which is the approximation every estimate here shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from recsys.attributes import DAYPARTS
from recsys.leadin.model import CouponImpression
from recsys.leadin.ope import (
    LoggedSlate,
    PolicyEstimate,
    estimate_policy,
    model_reward,
    ranking_policy,
    slates_from_impressions,
)
from recsys.leadin.scorers import CouponScorer
from recsys.leadin.training import new_scorer
from recsys.weights import validate_weights
from screens.services import weights as weights_service
from screens.services.leadin.state import LiveSnapshot

DEFAULT_K: Final = 5
NAMED_POLICIES: Final = ("current", "candidate")


class PolicySpecError(ValueError):
    """A ``--policy`` that is neither a known name nor a readable weights file; names the field."""


@dataclass(frozen=True)
class PolicySpec:
    name: str
    weights: dict[str, float]
    model: CouponScorer | None


def read_weights_file(path: Path) -> dict[str, float]:
    """A JSON object of ranking weights; unknown keys or out-of-range values name the key."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicySpecError(f"{path}: not a readable JSON weights file ({exc})") from exc
    if isinstance(data, dict) and isinstance(data.get("weights"), dict):
        data = data["weights"]  # the shape GET /v1/weights returns
    if not isinstance(data, dict) or not all(isinstance(v, int | float) for v in data.values()):
        raise PolicySpecError(f"{path}: expected a JSON object of weight name → number")
    values = {str(k): float(v) for k, v in data.items()}
    errors = validate_weights(values)
    if errors:
        raise PolicySpecError("; ".join(f"{path}: weights.{name}: {reason}" for name, reason in errors))
    return values


def resolve_policy(
    spec: str, in_force: Mapping[str, float], current: CouponScorer | None, impressions: Sequence[CouponImpression]
) -> PolicySpec:
    """``current`` (weights and model in force), ``candidate`` (a model trained on the log now) or a weights file."""
    if spec == "current":
        return PolicySpec("current", dict(in_force), current)
    if spec == "candidate":
        return PolicySpec("candidate", dict(in_force), new_scorer().fit(list(impressions)))
    path = Path(spec)
    if path.suffix.lower() != ".json" and not path.exists():
        known = ", ".join(NAMED_POLICIES)
        raise PolicySpecError(f"policy: unknown policy {spec!r}; expected {known} or a weights .json file")
    return PolicySpec(path.name, dict(in_force) | read_weights_file(path), current)


def estimate_specs(
    specs: Sequence[PolicySpec],
    slates: Sequence[LoggedSlate],
    snap: LiveSnapshot,
    reward_model: CouponScorer,
    k: int | None = None,
) -> list[PolicyEstimate]:
    """IPS/SNIPS/DR of each policy on the same slates, with the same reward model for DR.

    ``k`` defaults to the median logged slate size: the target is asked for slates like the ones screens show.
    """
    if k is None:
        k = max(1, round(float(np.median([len(s.rows) for s in slates])))) if slates else DEFAULT_K
    lifts = {dp: snap.lift(dp) for dp in DAYPARTS}
    reward = model_reward(reward_model, snap.table)
    return [
        estimate_policy(
            s.name, slates, ranking_policy(snap.table, snap.stores, lifts, s.weights, s.model, k), reward, k
        )
        for s in specs
    ]


def weights_in_force(engine: Engine) -> dict[str, float]:
    with Session(engine) as session:
        return dict(weights_service.current(session).weights)


def estimates_table(estimates: Sequence[PolicyEstimate]) -> str:
    lines = [
        "| policy | IPS (95 % CI) | SNIPS (95 % CI) | DR (95 % CI) | slates | logged claim rate |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in estimates:
        cells = [f"{e.values[n]:.4f} ({e.intervals[n][0]:.4f}–{e.intervals[n][1]:.4f})" for n in ("ips", "snips", "dr")]
        lines.append(f"| {e.policy} | {' | '.join(cells)} | {e.slates} | {e.logged_rate:.4f} |")
    return "\n".join(lines)


def as_json(estimates: Sequence[PolicyEstimate]) -> list[dict[str, Any]]:
    return [e.as_dict() for e in estimates]


PREVIEW_SLATES: Final = 5000
"""The console's estimate replays the newest slates only, so a preview stays fast and bounded."""


def preview_change(
    engine: Engine,
    window_s: float,
    snap: LiveSnapshot,
    model: CouponScorer | None,
    in_force: Mapping[str, float],
    edited: Mapping[str, float],
) -> dict[str, Any]:
    """Estimated claim rate per shown coupon of the weights in force and of an edit, on the newest logged slates."""
    from screens.services.leadin.training import load_impressions

    impressions = load_impressions(engine, window_s)
    slates = slates_from_impressions(impressions, snap.table)[-PREVIEW_SLATES:]
    if not slates:
        return {"slates": 0, "reason": "no logged impression carries a propensity yet"}
    reward = model if model is not None and model.reference_logit is not None else new_scorer().fit(impressions)
    specs = [PolicySpec("in force", dict(in_force), model), PolicySpec("edited", dict(in_force) | dict(edited), model)]
    now, new = estimate_specs(specs, slates, snap, reward)
    return {
        "slates": len(slates),
        "current": now.as_dict(),
        "edited": new.as_dict(),
        "dr_change": new.values["dr"] - now.values["dr"],
        "snips_change": new.values["snips"] - now.values["snips"],
    }
