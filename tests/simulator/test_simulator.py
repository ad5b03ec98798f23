"""A short simulator run end to end: shoppers drive the real HTTP API and the service saw it all."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk_client._sim_mall import load_sim_mall
from kiosk_client.simulator import simulate
from tests.simulator.demo_service import DemoService


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoService]:
    demo = DemoService(tmp_path_factory.mktemp("sim"))
    demo.start()
    yield demo
    demo.stop()


def test_simulated_shoppers_claim_coupons_and_the_service_state_matches_what_was_sent(
    service: DemoService, tmp_path: Path
):
    lines: list[str] = []
    summary = simulate(
        service.url,
        service.tokens_path,
        shoppers=40,
        speedup=1e9,
        seed=3,
        state_dir=tmp_path / "kiosks",
        progress=lines.append,
    )

    assert summary.shoppers == 40 and summary.pending == 0
    # Every shopper was shown coupons (fewer than k once daily caps or stock run out).
    assert summary.claims > 0 and summary.impressions >= 40
    assert summary.events_sent == sum(summary.events_by_type.values())
    assert service.event_counts() == dict(summary.events_by_type)
    deadline = time.monotonic() + 10
    while service.runtime.consumer.applied < summary.events_sent:  # live counters catch up asynchronously
        assert time.monotonic() < deadline, "live counters did not catch up"
        time.sleep(0.05)
    for store_id, visits in summary.store_visits.items():
        assert service.runtime.bus.counters.get(f"store:{store_id}:visits")["total"] == visits
    claims = service.runtime.bus.counters.get("coupons:claims")
    assert sum(claims.values()) == summary.claims
    assert {type(p.get("explored")) for p in service.payloads("coupon_impression")} == {bool}, (
        "every simulated impression says whether the ranking explored it"
    )
    assert any("40/40 shoppers" in line for line in lines)
    assert "claim rate" in summary.render()


def test_same_seed_same_shoppers():
    mall = load_sim_mall("small", 7)
    rng_a, rng_b = random.Random(11), random.Random(11)
    assert [mall.draw_shopper(rng_a).cell for _ in range(20)] == [mall.draw_shopper(rng_b).cell for _ in range(20)]
