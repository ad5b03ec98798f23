"""How each streamed event changes the live counters, and how the counters are read back.

Key layout (all under the bus's ``vitrine:`` prefix on Redis):

- ``screen:{id}:faces`` sorted set, score = event time: the faces a screen saw recently, one
  member per face ``"{event_id}/{i}|{gender}|{age}|{confidence}"`` (anonymous attributes only);
- ``store:{id}:visits`` hash: visit counts per attribute cell and ``total``;
- ``store:{id}:recent`` sorted set of recent visit times (current crowding);
- ``coupon:{id}`` hash: ``impressions``, ``claims`` and ``claims:{YYYY-MM-DD}``;
- ``item:{store}:{sku}`` hash: ``try_ons``, ``purchases``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from recsys.attributes import cell_of
from screens.bus import LiveCounters

FACES_TTL_S = 300.0
RECENT_VISITS_S = 900.0


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def apply_events(counters: LiveCounters, events: Sequence[dict[str, Any]]) -> None:
    incr: list[tuple[str, str, float]] = []
    for e in events:
        kind, ts = e["type"], e["ts"]
        if kind == "audience":
            members = {f"{e['event_id']}/{i}|{f['gender']}|{f['age'] if f['age'] is not None else ''}|"
                       f"{f['confidence']}": _epoch(ts) for i, f in enumerate(e["faces"])}
            if members:
                counters.zadd(f"screen:{e['screen_id']}:faces", members, ttl_s=FACES_TTL_S)
        elif kind == "store_visit" and e.get("store_id"):
            store = e["store_id"]
            incr += [(f"store:{store}:visits", cell_of(e["gender"], e["age"]), 1.0),
                     (f"store:{store}:visits", "total", 1.0), ("mall:visits", cell_of(e["gender"], e["age"]), 1.0),
                     ("mall:visits", "total", 1.0)]
            counters.zadd(f"store:{store}:recent", {e["event_id"]: _epoch(ts)}, ttl_s=RECENT_VISITS_S * 2)
        elif kind == "coupon_impression":
            incr.append((f"coupon:{e['coupon_id']}", "impressions", 1.0))
        elif kind == "coupon_claim":
            incr += [(f"coupon:{e['coupon_id']}", "claims", 1.0), (f"coupon:{e['coupon_id']}", f"claims:{ts[:10]}", 1.0)]
        elif kind == "try_on" and e.get("store_id"):
            incr.append((f"item:{e['store_id']}:{e['sku']}", "try_ons", 1.0))
        elif kind == "purchase":
            incr += [(f"item:{e['store_id']}:{sku}", "purchases", 1.0) for sku in e["skus"]]
    if incr:
        counters.incr(incr)


def recent_faces(counters: LiveCounters, screen_id: str, now: float, window_s: float) -> list[tuple[str, int | None, float]]:
    """``(gender, age, confidence)`` of the faces a screen saw in the last ``window_s`` seconds."""
    faces = []
    for member, _ in counters.zrange_by_score(f"screen:{screen_id}:faces", now - window_s, now + 1):
        _, gender, age, confidence = member.split("|")
        faces.append((gender, int(age) if age else None, float(confidence)))
    return faces
