"""Retries: exponential back-off with jitter inside known bounds, and errors translated once."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from kiosk_client import (
    AuthError,
    LeadInClient,
    RejectedError,
    RetryPolicy,
    ServerUnavailable,
)

Handler = Callable[[httpx.Request], httpx.Response]
ACK_ONE = {"accepted": 1, "duplicates": 0, "rejected": 0, "errors": []}


def _kiosk(tmp_path: Path, handler: Handler, sleeps: list[float], policy: RetryPolicy) -> LeadInClient:
    return LeadInClient(
        "http://vitrine.test",
        "lead-1",
        "tok",
        state_dir=tmp_path,
        retry=policy,
        transport=httpx.MockTransport(handler),
        sleep=sleeps.append,
        rng=random.Random(1),
    )


@pytest.mark.parametrize("seed", range(20))
def test_backoff_delays_stay_within_their_exponential_bounds(seed: int):
    policy = RetryPolicy(max_attempts=8, base_delay=0.5, multiplier=2.0, max_delay=10.0)
    rng = random.Random(seed)
    for retry, cap in enumerate([0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]):
        assert policy.cap(retry) == cap
        assert cap / 2 <= policy.delay(retry, rng) <= cap


def test_jitter_spreads_kiosks_that_fail_together():
    policy = RetryPolicy()
    delays = {round(policy.delay(3, random.Random(seed)), 6) for seed in range(50)}
    assert len(delays) > 40


def test_flush_backs_off_then_gives_up_keeping_the_events(tmp_path: Path):
    sleeps: list[float] = []
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503)

    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=30.0)
    with _kiosk(tmp_path, handler, sleeps, policy) as kiosk:
        kiosk.record_coupon_claim("c1")
        result = kiosk.flush()
        assert result.server_unavailable and result.remaining == 1
        assert kiosk.outbox.peek(1)[0].attempts == 1
    assert len(calls) == 5 and len(sleeps) == 4
    for retry, delay in enumerate(sleeps):
        assert policy.cap(retry) / 2 <= delay <= policy.cap(retry)


def test_flush_recovers_when_the_server_comes_back(tmp_path: Path):
    sleeps: list[float] = []
    answers = iter([httpx.Response(502), httpx.Response(503), httpx.Response(200, json=ACK_ONE)])
    with _kiosk(tmp_path, lambda r: next(answers), sleeps, RetryPolicy(base_delay=0.1)) as kiosk:
        kiosk.record_coupon_claim("c1")
        result = kiosk.flush()
    assert (result.accepted, result.remaining, len(sleeps)) == (1, 0, 2)


def test_retry_after_is_honoured_up_to_the_cap(tmp_path: Path):
    sleeps: list[float] = []
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=ACK_ONE)])
    policy = RetryPolicy(base_delay=0.1, max_delay=5.0)
    with _kiosk(tmp_path, lambda r: next(answers), sleeps, policy) as kiosk:
        kiosk.record_coupon_claim("c1")
        kiosk.flush()
    assert sleeps == [5.0]


def test_network_errors_become_server_unavailable(tmp_path: Path):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    sleeps: list[float] = []
    with _kiosk(tmp_path, handler, sleeps, RetryPolicy(max_attempts=1)) as kiosk:
        with pytest.raises(ServerUnavailable, match="cannot reach"):
            kiosk.coupons()
        assert kiosk.heartbeat() is False


def test_refused_token_raises_auth_error_without_retrying_or_dropping(tmp_path: Path):
    sleeps: list[float] = []
    with _kiosk(tmp_path, lambda r: httpx.Response(401), sleeps, RetryPolicy()) as kiosk:
        kiosk.record_coupon_claim("c1")
        with pytest.raises(AuthError):
            kiosk.flush()
        assert kiosk.pending == 1 and sleeps == []


def test_a_wrong_url_keeps_events_instead_of_dropping_them(tmp_path: Path):
    sleeps: list[float] = []
    with _kiosk(tmp_path, lambda r: httpx.Response(404), sleeps, RetryPolicy()) as kiosk:
        kiosk.record_coupon_claim("c1")
        with pytest.raises(RejectedError) as excinfo:
            kiosk.flush()
        assert excinfo.value.status_code == 404 and kiosk.pending == 1


def test_counts_that_do_not_add_up_keep_events_for_a_resend(tmp_path: Path):
    sleeps: list[float] = []
    body = {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": []}
    with _kiosk(tmp_path, lambda r: httpx.Response(200, json=body), sleeps, RetryPolicy()) as kiosk:
        kiosk.record_coupon_claim("c1")
        result = kiosk.flush()
        assert result.remaining == 1 and kiosk.pending == 1


def test_every_request_carries_the_device_token(tmp_path: Path):
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=ACK_ONE if request.url.path == "/v1/events" else {})

    with _kiosk(tmp_path, handler, [], RetryPolicy()) as kiosk:
        kiosk.record_coupon_claim("c1")
        kiosk.flush()
        kiosk.heartbeat()
    assert seen == ["Bearer tok", "Bearer tok"]
