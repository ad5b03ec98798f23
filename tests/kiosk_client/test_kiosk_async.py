"""The async clients behave like the sync ones, against the real service (bisection: a stand-in)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from kiosk_server import LEAD_IN, RealService, strict_batch_handler

from kiosk_client import AsyncLeadInClient, AsyncMirrorClient, RetryPolicy, ServerUnavailable

TOKEN = "tok"


def test_async_lead_in_flushes_events_and_fetches_coupons(shared_service: RealService, tmp_path: Path):
    async def scenario() -> list[str]:
        async with AsyncLeadInClient(
            shared_service.url,
            LEAD_IN,
            shared_service.token(LEAD_IN),
            state_dir=tmp_path / "kiosk",
            batch_size=3,
        ) as kiosk:
            ids = [
                await kiosk.record_audience([{"gender": "male", "age": 40, "confidence": 0.8}], dwell_s=2.5)
                for _ in range(7)
            ]
            ids.append(await kiosk.record_coupon_claim("s001-c01"))
            result = await kiosk.flush()
            assert (result.accepted, result.remaining) == (8, 0)
            assert await kiosk.heartbeat()
            coupons = await kiosk.coupons(k=1)
            assert not coupons.stale and len(coupons.coupons) == 1
            return ids

    ids = asyncio.run(scenario())
    logged = {row[0] for row in shared_service.query("SELECT event_id FROM event_log")}
    assert set(ids) <= logged


def test_async_whole_batch_refusal_is_bisected(tmp_path: Path):
    async def scenario() -> None:
        async with AsyncLeadInClient(
            "http://vitrine.test",
            "lead-1",
            TOKEN,
            state_dir=tmp_path / "kiosk",
            transport=httpx.MockTransport(strict_batch_handler([])),
        ) as kiosk:
            for i in range(4):
                await kiosk.record_audience([{"gender": "female" if i != 2 else "?", "age": 30, "confidence": 1}])
            result = await kiosk.flush()
            assert (result.accepted, result.rejected, result.remaining) == (3, 1, 0)

    asyncio.run(scenario())


def test_async_back_off_uses_the_injected_sleep(tmp_path: Path):
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async def scenario() -> None:
        transport = httpx.MockTransport(lambda r: httpx.Response(503))
        async with AsyncMirrorClient(
            "http://vitrine.test",
            "mirror-1",
            TOKEN,
            state_dir=tmp_path,
            transport=transport,
            sleep=fake_sleep,
            retry=RetryPolicy(max_attempts=3, base_delay=1.0),
        ) as mirror:
            await mirror.try_on("S1", session_id="x")
            result = await mirror.flush()
            assert result.server_unavailable and result.remaining == 1
            with pytest.raises(ServerUnavailable):
                await mirror.recommendations("S1")

    asyncio.run(scenario())
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0
