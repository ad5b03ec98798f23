"""Live state stays as small as its windows, and old events never enter them (issue 17)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from screens.bus.memory import MemoryCounters
from screens.services.live_state import FACES_TTL_S, apply_events, recent_faces, recent_visits_by_store, showing_now


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def _crowd(screen: str, epoch: float) -> dict[str, object]:
    face = {"gender": "female", "age": 30, "confidence": 0.9}
    return {"event_id": str(uuid.uuid4()), "type": "audience", "ts": _ts(epoch), "screen_id": screen, "faces": [face]}


def test_a_screen_keeps_only_the_faces_of_its_window_however_long_it_runs() -> None:
    counters, start = MemoryCounters(), float(int(time.time()))  # whole seconds: the window edge is exact
    for second in range(3_000):  # fifty minutes of one crowd a second, applied as it happens
        apply_events(counters, [_crowd("lead1", start + second)], now=start + second)
    now = start + 2_999
    assert counters.size() == FACES_TTL_S + 1
    assert len(recent_faces(counters, "lead1", now, 10.0)) == 11


def test_old_events_update_lifetime_counts_but_never_enter_live_windows() -> None:
    counters, now = MemoryCounters(), time.time()
    old = now - 2 * 86_400
    apply_events(
        counters,
        [
            _crowd("lead1", old),
            {"event_id": "v1", "type": "store_visit", "ts": _ts(old), "store_id": "s1", "gender": "male", "age": 40},
            {"event_id": "i1", "type": "coupon_impression", "ts": _ts(old), "screen_id": "lead1", "coupon_id": "C1"},
            {"event_id": "c1", "type": "coupon_claim", "ts": _ts(old), "screen_id": "lead1", "coupon_id": "C1"},
        ],
        now=now,
    )
    assert recent_faces(counters, "lead1", now, 10 * 86_400) == []
    assert recent_visits_by_store(counters, now, 10 * 86_400) == {}
    assert showing_now(counters, "lead1", now) == []
    today = datetime.fromtimestamp(now, UTC).date().isoformat()
    assert counters.get(f"coupons:claims:{today}") == {}
    assert counters.get("coupons:claims") == {"C1": 1.0}
    assert counters.get("store:s1:visits")["total"] == 1.0
