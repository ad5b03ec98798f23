"""How each streamed event changes the live counters, and how the counters are read back.

Key layout (all under the bus's ``vitrine:`` prefix on Redis); mall-wide keys are preferred where the
ranking path reads every member at once, so a refresh is a handful of round trips, not one per coupon:

- ``screen:{id}:faces`` sorted set, score = event time: the faces a screen saw recently, one
  member per face ``"{event_id}/{i}|{gender}|{age}|{confidence}"`` (anonymous attributes only);
- ``store_audience:{id}`` hash: time-decayed visit counts in the representation of
  :mod:`recsys.audience`, fields ``"{t_ref}|{daypart}|{cell}"`` (see :func:`audience_reference`);
- ``store:{id}:visits`` hash: lifetime visit counts per attribute cell and ``total`` (analytics);
- ``stores:recent_visits`` sorted set, members ``"{store}|{event_id}"`` scored by time: who is
  crowding which store right now (trimmed to :data:`RECENT_VISITS_S`);
- ``coupons:impressions``, ``coupons:claims`` and ``coupons:claims:{YYYY-MM-DD}`` hashes keyed by
  coupon id: lifetime impressions and claims, and claims of one day (daily caps and pacing);
- ``item:{store}:{sku}`` hash: ``try_ons``, ``purchases``.

Days and dayparts are read in UTC until the service has a mall time-zone setting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from recsys.attributes import cell_of, daypart
from recsys.audience import visit_increment
from recsys.profile import CrowdProfile, Face
from screens.bus import LiveCounters

FACES_TTL_S: Final = 300.0
RECENT_VISITS_S: Final = 900.0
RECENT_VISITS_KEY: Final = "stores:recent_visits"
EPOCH_HALF_LIVES: Final = 64.0
"""Audience counters restart their reference time every 64 half-lives (stored values stay < 2^64)."""


def audience_reference(ts: float, half_life_s: float) -> float:
    """The reference time ``t_ref`` a visit at ``ts`` is counted against.

    :mod:`recsys.audience` stores counts at a mall-wide ``t_ref`` that must move forward before the
    stored values overflow. Moving it by rewriting every hash would need a cross-worker lock, so
    ``t_ref`` is instead a deterministic function of time: the start of the current epoch of
    :data:`EPOCH_HALF_LIVES` half-lives. Every worker agrees without coordination; a reader sums the
    current and previous epoch (anything older has decayed by more than 2^-64).
    """
    period = EPOCH_HALF_LIVES * half_life_s
    return math.floor(ts / period) * period


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def apply_events(counters: LiveCounters, events: Sequence[dict[str, Any]], half_life_s: float) -> None:
    """Apply a batch of streamed events as one batch of increments (plus sorted-set adds)."""
    incr: list[tuple[str, str, float]] = []
    recent: dict[str, float] = {}
    for e in events:
        kind, ts = e["type"], e["ts"]
        if kind == "audience":
            members = {
                f"{e['event_id']}/{i}|{f['gender']}|{f['age'] if f['age'] is not None else ''}|"
                f"{f['confidence']}": _epoch(ts)
                for i, f in enumerate(e["faces"])
            }
            if members:
                counters.zadd(f"screen:{e['screen_id']}:faces", members, ttl_s=FACES_TTL_S)
        elif kind == "store_visit" and e.get("store_id"):
            incr += _visit_updates(e, half_life_s)
            recent[f"{e['store_id']}|{e['event_id']}"] = _epoch(ts)
        elif kind == "coupon_impression":
            incr.append(("coupons:impressions", e["coupon_id"], 1.0))
        elif kind == "coupon_claim":
            incr += [("coupons:claims", e["coupon_id"], 1.0), (f"coupons:claims:{ts[:10]}", e["coupon_id"], 1.0)]
        elif kind == "try_on" and e.get("store_id"):
            incr.append((f"item:{e['store_id']}:{e['sku']}", "try_ons", 1.0))
        elif kind == "purchase":
            incr += [(f"item:{e['store_id']}:{sku}", "purchases", 1.0) for sku in e["skus"]]
    if incr:
        counters.incr(incr)
    if recent:
        counters.zadd(RECENT_VISITS_KEY, recent, ttl_s=RECENT_VISITS_S * 2)
        counters.ztrim_below(RECENT_VISITS_KEY, max(recent.values()) - RECENT_VISITS_S)


def _visit_updates(event: dict[str, Any], half_life_s: float) -> list[tuple[str, str, float]]:
    store, when = event["store_id"], datetime.fromisoformat(event["ts"])
    ts = when.timestamp()
    cell = cell_of(event["gender"], event["age"])
    t_ref = audience_reference(ts, half_life_s)
    field = f"{t_ref:.0f}|{daypart(when.hour)}|{cell}"
    return [
        (f"store_audience:{store}", field, visit_increment(ts, t_ref, half_life_s)),
        (f"store:{store}:visits", cell, 1.0),
        (f"store:{store}:visits", "total", 1.0),
    ]


def recent_faces(counters: LiveCounters, screen_id: str, now: float, window_s: float) -> list[Face]:
    """The faces a screen saw in the last ``window_s`` seconds, as anonymous :class:`Face` tuples."""
    faces = []
    for member, ts in counters.zrange_by_score(f"screen:{screen_id}:faces", now - window_s, now + 1):
        _, gender, age, confidence = member.split("|")
        faces.append(Face(ts, gender, int(age) if age else None, float(confidence)))
    return faces


def screen_crowd(counters: LiveCounters, screen_id: str, now: datetime, window_s: float) -> tuple[int, CrowdProfile]:
    """How many faces the screen saw in the last ``window_s`` seconds and their confidence-weighted
    cell shares: the one crowd the ranker, ``/profile``, the mirror and the console all show."""
    faces = recent_faces(counters, screen_id, now.timestamp(), window_s)
    return len(faces), CrowdProfile.from_faces(faces, now, window_s)


def recent_visits_by_store(counters: LiveCounters, now: float, window_s: float = RECENT_VISITS_S) -> dict[str, int]:
    """Visits per store in the last ``window_s`` seconds (how crowded each store is right now)."""
    counts: dict[str, int] = {}
    for member, _ in counters.zrange_by_score(RECENT_VISITS_KEY, now - window_s, now + 1):
        store = member.rpartition("|")[0]
        counts[store] = counts.get(store, 0) + 1
    return counts
