"""The outbox: events survive server crashes and device restarts and arrive exactly once.

Runs against the real service in its own process (``vitrine serve`` on a SQLite file), because
"kill the server mid-run" is only meaningful with a real socket and a real event log.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from kiosk_server import LEAD_IN, LossyProxy, RealService, strict_batch_handler

from kiosk_client import LeadInClient, Outbox, RetryPolicy, make_event

FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.1)


def _client(url: str, token: str, state_dir: Path, **kwargs: object) -> LeadInClient:
    return LeadInClient(
        url, LEAD_IN, token, state_dir=state_dir, retry=FAST_RETRY, timeout=httpx.Timeout(10.0, connect=1.0), **kwargs
    )  # type: ignore[arg-type]


def _faces(i: int) -> list[dict[str, object]]:
    return [{"gender": "female" if i % 2 else "male", "age": 20 + i % 40, "confidence": 0.9}]


def _record(kiosk: LeadInClient, i: int) -> str:
    """Audience events, with an impression and a claim now and then, as a lead-in screen sends them."""
    if i % 10 == 3:
        return kiosk.record_coupon_claim("s001-c01")
    if i % 5 == 1:
        return kiosk.record_coupon_impression("s002-c01")
    return kiosk.record_audience(_faces(i))


def _wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_kill_server_mid_run_restart_and_every_event_arrives_exactly_once(server: RealService, tmp_path: Path):
    server.start()
    wifi = LossyProxy(server.port)
    kiosk = _client(wifi.url, server.token(LEAD_IN), tmp_path / "kiosk", batch_size=25)
    sent = [_record(kiosk, i) for i in range(60)]

    # The service commits the first batch but its answer is lost; it is SIGKILLed while the kiosk retries.
    wifi.losing.set()
    outcome = {}
    flusher = threading.Thread(target=lambda: outcome.setdefault("result", kiosk.flush()))
    flusher.start()
    _wait_until(lambda: server.query("SELECT COUNT(*) FROM event_log")[0][0] >= 25)
    server.kill()
    flusher.join(30)
    assert outcome["result"].server_unavailable
    assert kiosk.pending == 60, "nothing unacknowledged may leave the outbox"

    # The kiosk keeps recording while the server is down, then the cleaner reboots it.
    sent += [_record(kiosk, i) for i in range(40)]
    assert kiosk.flush().server_unavailable
    kiosk.close()
    kiosk = _client(wifi.url, server.token(LEAD_IN), tmp_path / "kiosk", batch_size=25)
    assert kiosk.pending == 100

    wifi.losing.clear()
    server.start()
    result = kiosk.flush()
    kiosk.close()
    wifi.close()

    assert result.remaining == 0 and not result.server_unavailable
    assert (result.accepted, result.duplicates, result.rejected) == (75, 25, 0)
    logged = server.query("SELECT event_id, COUNT(*) FROM event_log GROUP BY event_id")
    assert sorted(event_id for event_id, _ in logged) == sorted(sent)
    assert {count for _, count in logged} == {1}
    by_type = dict(server.query("SELECT type, COUNT(*) FROM event_log GROUP BY type"))
    assert by_type == {"audience": 70, "coupon_impression": 20, "coupon_claim": 10}


def test_rejected_events_are_dropped_not_retried(shared_service: RealService, tmp_path: Path):
    with _client(shared_service.url, shared_service.token(LEAD_IN), tmp_path / "kiosk") as kiosk:
        good = [kiosk.record_audience(_faces(i)) for i in range(5)]
        bad = [kiosk.record_audience([{"gender": "robot", "age": 3, "confidence": 1.0}]) for _ in range(2)]
        result = kiosk.flush()
        assert (result.accepted, result.rejected, result.remaining) == (5, 2, 0)
        assert sorted(result.rejected_ids) == sorted(bad)
        assert kiosk.flush().delivered == 0
    logged = {row[0] for row in shared_service.query("SELECT event_id FROM event_log")}
    assert set(good) <= logged and not set(bad) & logged


def test_whole_batch_refusal_is_bisected_down_to_the_bad_event(tmp_path: Path):
    stored: list[str] = []
    transport = httpx.MockTransport(strict_batch_handler(stored))
    with _client("http://vitrine.test", "tok", tmp_path / "kiosk", transport=transport) as kiosk:
        ids = [kiosk.record_audience(_faces(i)) for i in range(9)]
        bad = kiosk.record_audience([{"gender": "robot", "age": None, "confidence": 1.0}])
        ids += [kiosk.record_audience(_faces(i)) for i in range(6)]
        result = kiosk.flush()
    assert (result.accepted, result.rejected, result.remaining) == (15, 1, 0)
    assert result.rejected_ids == [bad]
    assert sorted(stored) == sorted(ids)


def test_heartbeat_marks_the_screen_alive_and_survives_an_outage(shared_service: RealService, tmp_path: Path):
    wifi = LossyProxy(shared_service.port)
    with _client(wifi.url, shared_service.token(LEAD_IN), tmp_path / "kiosk") as kiosk:
        kiosk.record_coupon_impression("s001-c01")
        assert kiosk.heartbeat({"app_version": "1.2"})
        screen = httpx.get(f"{shared_service.url}/v1/screens/{LEAD_IN}", headers=shared_service.ops).json()
        assert screen["last_seen"] is not None and not screen["stale"]
        wifi.losing.set()
        assert kiosk.heartbeat() is False
        assert kiosk.pending == 1
    wifi.close()


def test_enqueue_is_durable_before_returning(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    event = make_event("coupon_claim", coupon_id="s001-c01")
    script = (
        "import os, signal, sys\n"
        "from kiosk_client import Outbox\n"
        f"Outbox({str(path)!r}).enqueue({event!r})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2], timeout=60)
    assert proc.returncode == -9
    outbox = Outbox(path)
    assert [p.event for p in outbox.peek(10)] == [event]
    outbox.close()


def test_outbox_keeps_order_ignores_repeats_and_bounds_its_size(tmp_path: Path):
    outbox = Outbox(tmp_path / "o.sqlite3", max_pending=5)
    events = [make_event("coupon_claim", coupon_id=f"c{i}") for i in range(7)]
    outbox.enqueue_many(events[:4])
    outbox.enqueue(events[0])
    assert len(outbox) == 4
    outbox.enqueue_many(events[4:])
    assert [p.event_id for p in outbox.peek(10)] == [e["event_id"] for e in events[2:]]
    assert outbox.ack([events[2]["event_id"], "unknown"]) == 1
    assert len(outbox) == 4
    outbox.close()
