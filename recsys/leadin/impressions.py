"""Event log → training impressions: the one join both the service and the lab evaluations use.

An impression is a ``coupon_impression`` event with the crowd profile its screen had at that moment
(rebuilt from the screen's ``audience`` events in the crowd window before it); it is a positive when
a ``coupon_claim`` of the same coupon (and screen, when the claim names one) follows within
:data:`CLAIM_JOIN_S`, joined to the latest such impression, each impression claimed at most once.
Events arrive as ``(type, time, payload)`` with the payloads of the API's event schemas, in time order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from recsys.leadin.model import CouponFeatures, CouponImpression
from recsys.profile import CrowdProfile, CrowdWindow, Face

CLAIM_JOIN_S: Final = 1800.0
EVENT_TYPES: Final = ("audience", "coupon_impression", "coupon_claim")


@dataclass
class _Shown:
    ts: float
    coupon: CouponFeatures
    profile: CrowdProfile
    propensity: float | None


def impressions_from_events(
    events: Iterable[tuple[str, datetime, Mapping[str, Any]]],
    features: Mapping[str, CouponFeatures],
    window_s: float,
) -> list[CouponImpression]:
    """Impressions with their crowd profile at impression time and whether they were claimed."""
    windows: dict[str, CrowdWindow] = defaultdict(lambda: CrowdWindow(window_s=window_s))
    shown: list[_Shown] = []
    claimed: set[int] = set()
    latest: dict[tuple[str, str], list[int]] = defaultdict(list)
    for kind, when, payload in events:
        ts = when.timestamp()
        if kind == "audience":
            window = windows[payload["screen_id"]]
            for face in payload["faces"]:
                window.add(Face(ts, face["gender"], face["age"], face["confidence"]))
        elif kind == "coupon_impression" and payload["coupon_id"] in features:
            screen = payload["screen_id"]
            latest[(payload["coupon_id"], screen)].append(len(shown))
            latest[(payload["coupon_id"], "*")].append(len(shown))
            profile = windows[screen].profile(when)
            shown.append(_Shown(ts, features[payload["coupon_id"]], profile, payload.get("propensity")))
        elif kind == "coupon_claim":
            _join_claim(payload, ts, shown, latest, claimed)
    return [
        CouponImpression(s.ts, s.coupon, s.profile, i in claimed, propensity=s.propensity) for i, s in enumerate(shown)
    ]


def _join_claim(
    payload: Mapping[str, Any],
    ts: float,
    shown: list[_Shown],
    latest: dict[tuple[str, str], list[int]],
    claimed: set[int],
) -> None:
    """Mark the latest unclaimed impression of the coupon (on the claim's screen) within the join window."""
    for index in reversed(latest.get((payload["coupon_id"], payload.get("screen_id") or "*"), [])):
        if ts - shown[index].ts > CLAIM_JOIN_S:
            return
        if index not in claimed:
            claimed.add(index)
            return
