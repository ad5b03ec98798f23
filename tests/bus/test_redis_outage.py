"""Redis goes away while the service runs: answers continue, events are buffered and flushed."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from screens.app import create_app
from tests.conftest import make_settings
from tests.servers import RedisServer


def _visit(cell_age: int = 30) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "ts": datetime.now(UTC).isoformat(),
        "type": "store_visit",
        "screen_id": "cam1",
        "gender": "female",
        "age": cell_age,
    }


def _wait(predicate, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_service_degrades_buffers_and_recovers_when_redis_restarts(
    sqlite_url: str, redis_url: str, redis_server: RedisServer
) -> None:
    settings = make_settings(sqlite_url, redis_url=redis_url, bus_retry_interval_s=0.2)
    with TestClient(create_app(settings)) as client:
        from sqlmodel import Session

        from screens.auth import create_token
        from tests.conftest import TokenFactory  # noqa: F401

        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        with Session(runtime.engine) as session:
            token = create_token(session, "admin")
            session.commit()
        admin = {"Authorization": f"Bearer {token}"}
        client.put("/v1/stores/s1", json={"name": "S", "floor": 1, "zone": "n", "category": "fashion"}, headers=admin)
        client.put("/v1/screens/cam1", json={"kind": "entrance_camera", "store_id": "s1"}, headers=admin)
        assert client.post("/v1/events", json={"events": [_visit()]}, headers=admin).json()["accepted"] == 1
        assert _wait(lambda: runtime.bus.counters.get("store:s1:visits").get("total") == 1.0)
        assert client.get("/readyz").json()["status"] == "ready"
        runtime.bus.counters.zadd("z-outage", {"a": 1.0}, ttl_s=60)
        assert runtime.bus.counters.zrange_by_score_many(["z-outage", "z-none"], 0, 9) == [[("a", 1.0)], []]

        redis_server.stop()
        r = client.post("/v1/events", json={"events": [_visit(), _visit()]}, headers=admin)
        assert r.status_code == 200 and r.json()["accepted"] == 2
        ready = client.get("/readyz").json()
        assert ready["status"] == "degraded" and ready["buffered_events"] == 2
        # Reads keep answering from the last known state.
        assert runtime.bus.counters.get("store:s1:visits")["total"] == 1.0
        assert client.get("/v1/stores/s1", headers=admin).status_code == 200
        assert runtime.bus.counters.zrange_by_score_many(["z-outage", "z-none"], 0, 9) == [[("a", 1.0)], []]
        assert runtime.bus.counters.zrange_by_score("z-outage", 0, 9) == [("a", 1.0)]

        redis_server.start()  # a fresh, empty server on the same port
        assert _wait(lambda: client.get("/readyz").json()["status"] == "ready")
        assert _wait(lambda: runtime.bus.events.pending() == 0)
        assert _wait(lambda: runtime.bus.counters.get("store:s1:visits").get("total") == 2.0), (
            "the two buffered events were applied after the restart"
        )


def test_buffer_is_bounded_and_counts_drops(redis_url: str, redis_server: RedisServer) -> None:
    from screens.bus import make_bus

    bus = make_bus(redis_url, buffer_max=3, retry_interval_s=0.2)
    redis_server.stop()
    try:
        bus.events.publish([{"n": i} for i in range(5)])
        assert bus.events.pending() == 3 and bus.events.dropped == 2  # type: ignore[attr-defined]
    finally:
        redis_server.start()
        bus.close()


def test_what_is_kept_for_an_outage_grows_with_the_keys_not_with_the_reads(redis_url: str) -> None:
    """The crowd refresher reads a different set of screens every tick; the fallback is per key."""
    from screens.bus import make_bus

    bus = make_bus(redis_url)
    try:
        keys = [f"z-{i}" for i in range(20)]
        for start in range(len(keys)):
            bus.counters.zrange_by_score_many(keys[start : start + 5], 0, 9)
            bus.counters.get_many(keys[start : start + 3])
        assert len(bus.counters._last) == 2 * len(keys)  # type: ignore[attr-defined]
    finally:
        bus.close()
