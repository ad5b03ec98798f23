"""One contract for every live-state backend: the in-process one and Redis (a real server)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator

import pytest

from screens.bus import Bus, make_bus


@pytest.fixture(params=["memory", "redis"])
def bus(request: pytest.FixtureRequest) -> Iterator[Bus]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    bus = make_bus(url)
    yield bus
    bus.close()


def test_published_events_reach_a_consumer_group_once(bus: Bus) -> None:
    bus.events.publish([{"n": i} for i in range(5)])
    first = bus.events.read("g", "c1", count=3, block_ms=100)
    rest = bus.events.read("g", "c2", count=10, block_ms=100)
    assert [e["n"] for _, e in first + rest] == [0, 1, 2, 3, 4]
    bus.events.ack("g", [mid for mid, _ in first + rest])
    assert bus.events.read("g", "c1", count=10, block_ms=50) == []


def test_each_group_sees_every_event(bus: Bus) -> None:
    bus.events.publish([{"n": 1}])
    assert [e for _, e in bus.events.read("a", "x", block_ms=100)] == [{"n": 1}]
    assert [e for _, e in bus.events.read("b", "x", block_ms=100)] == [{"n": 1}]


def test_read_blocks_until_an_event_arrives(bus: Bus) -> None:
    bus.events.read("g", "c", block_ms=10)  # creates the group
    timer = threading.Timer(0.1, lambda: bus.events.publish([{"late": True}]))
    timer.start()
    start = time.monotonic()
    got = []
    while not got and time.monotonic() - start < 3:
        got = bus.events.read("g", "c", block_ms=1000)
    assert [e for _, e in got] == [{"late": True}]


def test_counters_increment_and_read_back(bus: Bus) -> None:
    bus.counters.incr([("k", "a", 1.0), ("k", "a", 2.5), ("k", "b", 1.0), ("j", "x", -1.0)])
    assert bus.counters.get("k") == {"a": 3.5, "b": 1.0}
    assert bus.counters.get_many(["j", "missing"]) == [{"x": -1.0}, {}]


def test_sorted_sets_range_and_trim(bus: Bus) -> None:
    bus.counters.zadd("z", {"a": 1.0, "b": 2.0, "c": 3.0}, ttl_s=60)
    assert bus.counters.zrange_by_score("z", 1.5, 3.0) == [("b", 2.0), ("c", 3.0)]
    bus.counters.ztrim_below("z", 2.0)
    assert [m for m, _ in bus.counters.zrange_by_score("z", 0, 10)] == ["b", "c"]


def test_several_sorted_sets_are_ranged_at_once_in_the_order_asked(bus: Bus) -> None:
    bus.counters.zadd("z1", {"a": 1.0, "b": 2.0}, ttl_s=60)
    bus.counters.zadd("z2", {"c": 3.0, "d": 9.0}, ttl_s=60)
    many = bus.counters.zrange_by_score_many(["z2", "missing", "z1"], 1.5, 5.0)
    assert many == [[("c", 3.0)], [], [("b", 2.0)]]
    assert many == [bus.counters.zrange_by_score(key, 1.5, 5.0) for key in ["z2", "missing", "z1"]]


def test_config_messages_fan_out_to_subscribers(bus: Bus) -> None:
    got: list[dict[str, object]] = []
    bus.config.subscribe("weights", got.append)
    bus.config.publish("weights", {"version": 7})
    deadline = time.monotonic() + 2
    while not got and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == [{"version": 7}]


def test_channels_subscribed_after_the_first_receive_messages_too(bus: Bus) -> None:
    """Regression: Redis subscribed only the channels known when its listener started (catalog,
    coupons and models announcements never crossed workers)."""
    got: list[tuple[str, dict[str, object]]] = []
    for channel in ("weights", "catalog", "models"):
        bus.config.subscribe(channel, lambda message, c=channel: got.append((c, message)))
    bus.config.publish("models", {"kind": "mirror"})
    bus.config.publish("catalog", {"store_id": "s1"})
    deadline = time.monotonic() + 2
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert got == [("models", {"kind": "mirror"}), ("catalog", {"store_id": "s1"})]


def test_ping_reports_reachable(bus: Bus) -> None:
    assert bus.ping() is True


def test_unacknowledged_events_are_delivered_again_on_request(bus: Bus) -> None:
    bus.events.publish([{"n": 1}, {"n": 2}])
    first = bus.events.read("g", "c", block_ms=100)
    assert [e["n"] for _, e in first] == [1, 2]
    bus.events.retry_unacked("g", "c")
    again = bus.events.read("g", "c", block_ms=100)
    assert [e["n"] for _, e in again] == [1, 2]
    bus.events.ack("g", [mid for mid, _ in again])
    bus.events.publish([{"n": 3}])
    assert [e["n"] for _, e in bus.events.read("g", "c", block_ms=100)] == [3]


def test_memory_stream_drops_events_every_group_acknowledged() -> None:
    from screens.bus.memory import MemoryEventStream

    stream = MemoryEventStream()
    stream.publish([{"n": i} for i in range(MemoryEventStream.TRIM_AT + 10)])
    got = stream.read("g", "c", count=MemoryEventStream.TRIM_AT + 10, block_ms=0)
    stream.ack("g", [mid for mid, _ in got])
    assert len(stream._log) == 0  # noqa: SLF001
    stream.publish([{"n": "late"}])
    assert [e for _, e in stream.read("g", "c", block_ms=0)] == [{"n": "late"}]


def test_sorted_sets_trim_below_their_window_on_write(bus: Bus) -> None:
    bus.counters.zadd("w", {"old": 1.0, "mid": 5.0}, ttl_s=60)
    bus.counters.zadd("w", {"new": 9.0}, ttl_s=60, min_score=4.0)
    assert bus.counters.zrange_by_score("w", -math.inf, math.inf) == [("mid", 5.0), ("new", 9.0)]


def test_a_member_added_again_moves_to_its_new_score(bus: Bus) -> None:
    bus.counters.zadd("m", {"a": 1.0, "b": 2.0})
    bus.counters.zadd("m", {"a": 3.0})
    assert bus.counters.zrange_by_score("m", 0, 10) == [("b", 2.0), ("a", 3.0)]
    assert bus.counters.zrange_by_score("m", 2.0, 2.0) == [("b", 2.0)]


def test_idle_sorted_sets_and_hashes_expire(bus: Bus) -> None:
    bus.counters.zadd("z-idle", {"a": 1.0}, ttl_s=1)
    bus.counters.incr([("h-idle", "n", 1.0), ("h-kept", "n", 1.0)], ttl_s={"h-idle": 1})
    time.sleep(2.1)
    bus.counters.incr([("other", "n", 1.0)])  # a later write sweeps the in-process backend
    assert bus.counters.zrange_by_score("z-idle", 0, 10) == []
    assert bus.counters.get_many(["h-idle", "h-kept"]) == [{}, {"n": 1.0}]


def test_memory_sorted_set_holds_only_its_window_under_sustained_writes() -> None:
    """Regression (issue 17): ``zadd`` ignored its window, so a screen's faces set grew for ever."""
    from screens.bus.memory import MemoryCounters

    counters = MemoryCounters()
    for second in range(20_000):
        counters.zadd("faces", {f"f{second}": float(second)}, ttl_s=600, min_score=second - 300.0)
    assert counters.size() == 301
    assert len(counters.zrange_by_score("faces", 19_900, 20_000)) == 100
