"""The outbox: events survive server crashes and device restarts and arrive exactly once.

Runs against a real HTTP server process (the fake service until ``screens/`` exists; see
``fake_service.py``), because "kill the server mid-run" is only meaningful with a real socket.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from kiosk_server import TOKEN, ServerProcess

from kiosk_client import LeadInClient, Outbox, RetryPolicy, make_event

FAST_RETRY = RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.1)


def _client(server: ServerProcess, state_dir: Path, **kwargs: object) -> LeadInClient:
    return LeadInClient(
        server.url,
        "lead-f1-atrium",
        TOKEN,
        state_dir=state_dir,
        retry=FAST_RETRY,
        timeout=httpx.Timeout(10.0, connect=1.0),
        **kwargs,
    )  # type: ignore[arg-type]


def _faces(i: int) -> list[dict[str, object]]:
    return [{"gender": "female" if i % 2 else "male", "age": 20 + i % 40, "confidence": 0.9}]


def _wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_kill_server_mid_run_restart_and_every_event_arrives_exactly_once(
    server: ServerProcess, tmp_path: Path
):
    server.start(slow_ack_s=1.5)
    kiosk = _client(server, tmp_path / "kiosk", batch_size=25)
    sent = [kiosk.record_audience(_faces(i)) for i in range(60)]

    # Kill the server after it committed the first batch but before it acknowledged it.
    outcome = {}
    flusher = threading.Thread(target=lambda: outcome.setdefault("result", kiosk.flush()))
    flusher.start()
    _wait_until(lambda: server.query("SELECT COUNT(*) FROM events")[0][0] >= 25)
    server.kill()
    flusher.join(30)
    assert outcome["result"].server_unavailable
    assert kiosk.pending == 60, "nothing unacknowledged may leave the outbox"

    # The kiosk keeps recording while the server is down, then the cleaner reboots it.
    sent += [kiosk.record_audience(_faces(i)) for i in range(40)]
    assert kiosk.flush().server_unavailable
    kiosk.close()
    kiosk = _client(server, tmp_path / "kiosk", batch_size=25)
    assert kiosk.pending == 100

    server.start()
    result = kiosk.flush()
    kiosk.close()

    assert result.remaining == 0 and not result.server_unavailable
    assert (result.accepted, result.duplicates, result.rejected) == (75, 25, 0)
    stored = [row[0] for row in server.query("SELECT event_id FROM events")]
    assert sorted(stored) == sorted(sent)
    accepted_per_event = server.query(
        "SELECT event_id, SUM(outcome = 'accepted') FROM deliveries GROUP BY event_id"
    )
    assert {count for _, count in accepted_per_event} == {1}
    assert len(accepted_per_event) == 100


def test_rejected_events_are_dropped_not_retried(server: ServerProcess, tmp_path: Path):
    server.start()
    with _client(server, tmp_path / "kiosk") as kiosk:
        good = [kiosk.record_audience(_faces(i)) for i in range(5)]
        bad = [kiosk.record_audience([{"gender": "robot", "age": 3, "confidence": 1.0}]) for _ in range(2)]
        result = kiosk.flush()
        assert (result.accepted, result.rejected, result.remaining) == (5, 2, 0)
        assert sorted(result.rejected_ids) == sorted(bad)
        assert kiosk.flush().delivered == 0
    assert sorted(row[0] for row in server.query("SELECT event_id FROM events")) == sorted(good)


def test_whole_batch_refusal_is_bisected_down_to_the_bad_event(server: ServerProcess, tmp_path: Path):
    server.start(whole_batch_422=True)
    with _client(server, tmp_path / "kiosk") as kiosk:
        ids = [kiosk.record_audience(_faces(i)) for i in range(9)]
        bad = kiosk.record_audience([{"gender": "robot", "age": None, "confidence": 1.0}])
        ids += [kiosk.record_audience(_faces(i)) for i in range(6)]
        result = kiosk.flush()
    assert (result.accepted, result.rejected, result.remaining) == (15, 1, 0)
    assert result.rejected_ids == [bad]
    assert sorted(row[0] for row in server.query("SELECT event_id FROM events")) == sorted(ids)


def test_heartbeat_reports_pending_events_and_survives_an_outage(server: ServerProcess, tmp_path: Path):
    server.start()
    with _client(server, tmp_path / "kiosk") as kiosk:
        kiosk.record_coupon_impression("s001-c01")
        assert kiosk.heartbeat({"app_version": "1.2"})
        server.kill()
        assert kiosk.heartbeat() is False
    rows = server.query("SELECT screen_id, body FROM heartbeats")
    assert rows == [("lead-f1-atrium", '{"pending_events": 1, "app_version": "1.2"}')]


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
