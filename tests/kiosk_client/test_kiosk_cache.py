"""Offline display: the last good coupons and recommendations are shown when the server is away."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from kiosk_server import LEAD_IN, MIRROR, LossyProxy, RealService

from kiosk_client import LeadInClient, MirrorClient, RetryPolicy, ServerUnavailable


def _lead_in(server: RealService, state_dir: Path, url: str | None = None) -> LeadInClient:
    return LeadInClient(
        url or server.url,
        LEAD_IN,
        server.token(LEAD_IN),
        state_dir=state_dir,
        retry=RetryPolicy(max_attempts=1),
        timeout=httpx.Timeout(5.0, connect=1.0),
    )


def test_coupons_are_cached_and_served_when_the_server_is_down(shared_service: RealService, tmp_path: Path):
    wifi = LossyProxy(shared_service.port)
    with _lead_in(shared_service, tmp_path, wifi.url) as kiosk:
        fresh = kiosk.coupons(k=5)
        assert not fresh.stale and len(fresh.coupons) == 5
        assert len({c["store_id"] for c in fresh.coupons}) == 5, "at most one coupon per store"
        wifi.losing.set()
        offline = kiosk.coupons(k=1)
        assert offline.stale and offline.coupons == fresh.coupons[:1]
        assert offline.model_version == fresh.model_version
    # A reboot while the Wi-Fi is still down: the cache is on disk, not in memory.
    with _lead_in(shared_service, tmp_path, wifi.url) as rebooted:
        assert rebooted.coupons().coupons == fresh.coupons
    wifi.close()


def test_offline_with_nothing_cached_raises_server_unavailable(server: RealService, tmp_path: Path):
    with _lead_in(server, tmp_path) as kiosk, pytest.raises(ServerUnavailable):
        kiosk.coupons()


def test_mirror_recommendations_are_cached_per_sku(tmp_path: Path):
    online = {"up": True}

    def handler(request: httpx.Request) -> httpx.Response:
        if not online["up"]:
            raise httpx.ConnectError("wifi down", request=request)
        sku = request.url.params["sku"]
        return httpx.Response(
            200,
            json={
                "item": {"sku": sku},
                "similar": [{"sku": "B"}, {"sku": "C"}],
                "complementary": [{"sku": "D"}],
                "model_version": "m1",
            },
        )

    with MirrorClient(
        "http://vitrine.test",
        "mirror-s003-1",
        "tok",
        state_dir=tmp_path,
        transport=httpx.MockTransport(handler),
    ) as mirror:
        assert not mirror.recommendations("A", session_id="s1").stale
        online["up"] = False
        cached = mirror.recommendations("A", session_id="s2", k=1)
        assert cached.stale and cached.item == {"sku": "A"} and cached.similar == [{"sku": "B"}]
        with pytest.raises(ServerUnavailable):
            mirror.recommendations("Z")


def test_try_on_while_offline_is_queued_and_delivered_once(shared_service: RealService, tmp_path: Path):
    server, wifi = shared_service, LossyProxy(shared_service.port)
    wifi.losing.set()
    with MirrorClient(
        wifi.url,
        MIRROR,
        server.token(MIRROR),
        state_dir=tmp_path,
        retry=RetryPolicy(max_attempts=1),
        timeout=httpx.Timeout(5.0, connect=1.0),
    ) as mirror:
        queued = mirror.try_on("S003-00001", session_id="sess-1")
        assert mirror.pending == 1
        wifi.losing.clear()
        if not server.has_route("/v1/mirrors/{screen_id}/try-ons"):
            pytest.skip("the service does not serve the mirror routes yet")
        direct = mirror.try_on("S003-00002", session_id="sess-1")
        assert mirror.pending == 1
        # The lossy link may have delivered the first try-on and lost only the reply: either way
        # the replay is recorded once (accepted now, or recognised as a duplicate).
        flushed = mirror.flush()
        assert (flushed.accepted + flushed.duplicates, flushed.remaining) == (1, 0)
    rows = server.query("SELECT event_id, type FROM event_log WHERE screen_id = ?", MIRROR)
    assert sorted(rows) == sorted([(queued, "try_on"), (direct, "try_on")])
