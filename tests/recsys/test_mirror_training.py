"""The publish decision of `vitrine train mirror`: held-out sessions are the newest ones."""

from __future__ import annotations

import math

from recsys.mirror.catalog import Purchase, TryOn
from recsys.mirror.training import logged_sessions, should_publish


def test_sessions_are_ordered_by_their_first_try_on() -> None:
    tryons = [TryOn("late", "s1", "B1", 50.0), TryOn("early", "s1", "T1", 10.0), TryOn("early", "s1", "B2", 60.0)]
    sessions = logged_sessions(tryons, [Purchase("early", "s1", ("B2",), 70.0)], {"late": {"female:25-34": 1.0}})
    assert [s.session_id for s in sessions] == ["early", "late"]
    assert sessions[0].skus == ("T1", "B2") and sessions[0].purchased == ("B2",)
    assert sessions[1].profile == {"female:25-34": 1.0}


def test_only_a_better_hit_rate_is_published() -> None:
    assert should_publish({"next_hit@10": 0.42}, {"next_hit@10": 0.40}, min_gain=0.005)
    assert not should_publish({"next_hit@10": 0.40}, {"next_hit@10": 0.40}, min_gain=0.005)
    assert not should_publish({"next_hit@10": math.nan}, {"next_hit@10": 0.1}), "no held-out case proves nothing"
