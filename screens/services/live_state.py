"""How each streamed event changes the live counters, and how the counters are read back.

Key layout (all under the bus's ``vitrine:`` prefix on Redis); mall-wide keys are preferred where the
ranking path reads every member at once, so a refresh is a handful of round trips, not one per coupon:

- ``screen:{id}:faces`` sorted set, score = event time: the faces a screen saw in the last
  :data:`FACES_TTL_S`, one member per face ``"{event_id}/{i}|{gender}|{age}|{confidence}"``
  (anonymous attributes only);
- ``screen:{id}:showing`` sorted set, members ``"coupon|{id}"`` / ``"sku|{store}|{sku}"`` scored by
  time: what the screen reported showing in the last :data:`SHOWING_S` (the console's screens view);
- ``store:{id}:visits`` hash: lifetime visit counts per attribute cell and ``total``;
- ``stores:recent_visits`` sorted set, members ``"{store}|{event_id}"`` scored by time: who is
  crowding which store right now (the last :data:`RECENT_VISITS_S`);
- ``coupons:impressions``, ``coupons:claims`` and ``coupons:claims:{YYYY-MM-DD}`` hashes keyed by
  coupon id: lifetime impressions and claims, and claims of one day (daily caps and pacing; each day's
  hash expires two days after its last claim);
- ``item:{store}:{sku}`` hash: ``try_ons``, ``purchases``.

Every windowed key is trimmed on write to its window, so live state holds what the windows hold and
no more however long the service runs (issue 17: an untrimmed faces set made the coupon route slow
down with the log). Events older than a window (backfills, replays after an outage) never enter it;
they still reach the database rollups (:mod:`screens.services.rollups`), which are what analytics and
the store audiences read.

Days and dayparts are read in UTC until the service has a mall time-zone setting.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from recsys.attributes import cell_of
from recsys.profile import CrowdProfile, Face, TimeContext
from screens.bus import LiveCounters

FACES_TTL_S: Final = 300.0
RECENT_VISITS_S: Final = 900.0
SHOWING_S: Final = 300.0
DAY_COUNTER_TTL_S: Final = 2 * 86_400.0
RECENT_VISITS_KEY: Final = "stores:recent_visits"


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def apply_events(counters: LiveCounters, events: Sequence[dict[str, Any]], now: float | None = None) -> None:
    """Apply a batch of streamed events as one batch of increments (plus windowed sorted-set adds)."""
    now = time.time() if now is None else now
    today = datetime.fromtimestamp(now, UTC).date().isoformat()
    incr: list[tuple[str, str, float]] = []
    windows: defaultdict[str, dict[str, float]] = defaultdict(dict)
    ttl: dict[str, float] = {}
    for e in events:
        kind, ts = e["type"], _epoch(e["ts"])
        if kind == "audience" and ts >= now - FACES_TTL_S:
            for i, f in enumerate(e["faces"]):
                age = f["age"] if f["age"] is not None else ""
                windows[f"screen:{e['screen_id']}:faces"][
                    f"{e['event_id']}/{i}|{f['gender']}|{age}|{f['confidence']}"
                ] = ts
        elif kind == "store_visit" and e.get("store_id"):
            cell = cell_of(e["gender"], e["age"])
            incr += [(f"store:{e['store_id']}:visits", cell, 1.0), (f"store:{e['store_id']}:visits", "total", 1.0)]
            if ts >= now - RECENT_VISITS_S:
                windows[RECENT_VISITS_KEY][f"{e['store_id']}|{e['event_id']}"] = ts
        elif kind == "coupon_impression":
            incr.append(("coupons:impressions", e["coupon_id"], 1.0))
            if ts >= now - SHOWING_S:
                _latest(windows[f"screen:{e['screen_id']}:showing"], f"coupon|{e['coupon_id']}", ts)
        elif kind == "coupon_claim":
            incr.append(("coupons:claims", e["coupon_id"], 1.0))
            if e["ts"][:10] == today:
                incr.append((f"coupons:claims:{today}", e["coupon_id"], 1.0))
                ttl[f"coupons:claims:{today}"] = DAY_COUNTER_TTL_S
        elif kind == "try_on":
            if e.get("store_id"):
                incr.append((f"item:{e['store_id']}:{e['sku']}", "try_ons", 1.0))
            if ts >= now - SHOWING_S:
                _latest(windows[f"screen:{e['screen_id']}:showing"], f"sku|{e.get('store_id') or ''}|{e['sku']}", ts)
        elif kind == "purchase":
            incr += [(f"item:{e['store_id']}:{sku}", "purchases", 1.0) for sku in e["skus"]]
    if incr:
        counters.incr(incr, ttl_s=ttl)
    for key, members in windows.items():
        window_s = _WINDOW_OF[key.rpartition(":")[2]] if key != RECENT_VISITS_KEY else RECENT_VISITS_S
        counters.zadd(key, members, ttl_s=window_s * 2, min_score=now - window_s)


_WINDOW_OF: Final = {"faces": FACES_TTL_S, "showing": SHOWING_S}


def _latest(members: dict[str, float], member: str, ts: float) -> None:
    members[member] = max(ts, members.get(member, ts))


def recent_faces(counters: LiveCounters, screen_id: str, now: float, window_s: float) -> list[Face]:
    """The faces a screen saw in the last ``window_s`` seconds, as anonymous :class:`Face` tuples."""
    return _faces(counters.zrange_by_score(f"screen:{screen_id}:faces", now - window_s, now + 1))


def _faces(members: list[tuple[str, float]]) -> list[Face]:
    faces = []
    for member, ts in members:
        _, gender, age, confidence = member.split("|")
        faces.append(Face(ts, gender, int(age) if age else None, float(confidence)))
    return faces


def screen_crowd(counters: LiveCounters, screen_id: str, now: datetime, window_s: float) -> tuple[int, CrowdProfile]:
    """How many faces the screen saw in the last ``window_s`` seconds and their confidence-weighted
    cell shares: the one crowd the ranker, ``/profile``, the mirror and the console all show."""
    faces = recent_faces(counters, screen_id, now.timestamp(), window_s)
    return len(faces), CrowdProfile.from_faces(faces, now, window_s)


@dataclass(frozen=True, eq=False)
class CrowdRead:
    """A screen's crowd as read from the live counters, with the window's members it was built from."""

    members: list[tuple[str, float]]
    profile: CrowdProfile


def screen_crowds(
    counters: LiveCounters,
    screen_ids: Sequence[str],
    now: datetime,
    window_s: float,
    previous: Sequence[CrowdRead | None],
) -> list[CrowdRead]:
    """:func:`screen_crowd`'s profiles of several screens, read in one round trip.

    A screen whose window holds the same members as its ``previous`` read, at the same hour, keeps
    that read: a crowd re-read a few times a second is mostly unchanged, and building a profile costs
    more than comparing the members.
    """
    ts = now.timestamp()
    keys = [f"screen:{screen_id}:faces" for screen_id in screen_ids]
    context = TimeContext.at(now)
    reads = []
    for members, before in zip(counters.zrange_by_score_many(keys, ts - window_s, ts + 1), previous, strict=True):
        if before is not None and before.members == members and before.profile.context == context:
            reads.append(before)
        else:
            reads.append(CrowdRead(members, CrowdProfile.from_faces(_faces(members), now, window_s)))
    return reads


def recent_visits_by_store(counters: LiveCounters, now: float, window_s: float = RECENT_VISITS_S) -> dict[str, int]:
    """Visits per store in the last ``window_s`` seconds (how crowded each store is right now)."""
    counts: dict[str, int] = {}
    for member, _ in counters.zrange_by_score(RECENT_VISITS_KEY, now - window_s, now + 1):
        store = member.rpartition("|")[0]
        counts[store] = counts.get(store, 0) + 1
    return counts


def showing_now(counters: LiveCounters, screen_id: str, now: float) -> list[tuple[str, float]]:
    """What a screen reported showing in the last :data:`SHOWING_S`, newest first (``coupon|…``/``sku|…``)."""
    return list(reversed(counters.zrange_by_score(f"screen:{screen_id}:showing", now - SHOWING_S, math.inf)))
