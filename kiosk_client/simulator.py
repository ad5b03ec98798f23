"""A mall full of simulated shoppers driving the real service through the kiosk SDK.

Each shopper belongs to one anonymous (gender, age bucket) cell, drawn from the mall-wide mix of the
demo mall's hidden store audiences (``seeds``). Their hidden taste for a store is how over-represented
their cell is in that store's audience, so a recommender that reads the crowd well shows coupons the
crowd claims more often — the claim rate is the recommender's work made visible.

A shopper walks past a lead-in screen (its camera reports an ``audience`` event), sees the top
coupons (``coupon_impression``) and may claim one, enters a few stores by taste (the entrance camera
reports a ``store_visit``), tries items on at a mirror and sometimes buys them. Every event goes
through a :class:`~kiosk_client.LeadInClient` or :class:`~kiosk_client.MirrorClient`, i.e. the
durable outbox and the public HTTP API, exactly like the real screens.

Shopper draws are deterministic for a ``seed``; what the service answers (its Thompson sampling
explores) is not, so claim counts vary slightly between runs.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiosk_client._client import KioskClient, LeadInClient, MirrorClient
from kiosk_client._exceptions import KioskError, RejectedError
from kiosk_client._retry import RetryPolicy
from kiosk_client._sim_mall import Shopper, SimMall, load_sim_mall

logger = logging.getLogger(__name__)

MEAN_ARRIVAL_S = 20.0
"""Mean simulated seconds between two shoppers (divided by ``speedup`` in wall-clock time)."""


@dataclass
class SimulationSummary:
    shoppers: int = 0
    events_sent: int = 0
    events_by_type: Counter[str] = field(default_factory=Counter)
    impressions: int = 0
    claims: int = 0
    purchases: int = 0
    store_visits: Counter[str] = field(default_factory=Counter)
    claims_by_store: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    wall_s: float = 0.0

    @property
    def claim_rate(self) -> float:
        return self.claims / self.impressions if self.impressions else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"claim_rate": round(self.claim_rate, 4)}

    def render(self) -> str:
        lines = [
            f"shoppers {self.shoppers}  events sent {self.events_sent}  pending {self.pending}  ({self.wall_s:.1f} s)",
            f"impressions {self.impressions}  claims {self.claims}  claim rate {self.claim_rate:.1%}  "
            f"purchases {self.purchases}",
            "events: " + ", ".join(f"{t} {n}" for t, n in sorted(self.events_by_type.items())),
            "store traffic (visits / claims):",
        ]
        lines += [
            f"  {store:<8} {n:>5} / {self.claims_by_store[store]:<4} {'#' * min(60, n)}"
            for store, n in sorted(self.store_visits.items(), key=lambda kv: -kv[1])
        ]
        return "\n".join(lines)


class Progress:
    """One self-overwriting line on stderr (no dependency, harmless when stderr is not a terminal)."""

    def __init__(self, total: int, write: Callable[[str], object] | None) -> None:
        self.total, self._write, self._last = total, write, 0.0

    def update(self, done: int, summary: SimulationSummary, force: bool = False) -> None:
        now = time.monotonic()
        if self._write is None or (not force and now - self._last < 0.2):
            return
        self._last = now
        filled = int(30 * done / max(1, self.total))
        self._write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total} shoppers · "
            f"{summary.events_sent} events · {summary.claims} claims ({summary.claim_rate:.1%})   "
        )


class MallSimulator:
    """Drives ``base_url`` with shoppers; ``tokens`` is the demo's ``tokens.json`` content."""

    def __init__(
        self,
        base_url: str,
        tokens: dict[str, Any],
        mall: SimMall,
        *,
        state_dir: Path,
        seed: int = 0,
        lead_in_screens: list[str] | None = None,
        claim_boost: float = 1.0,
    ) -> None:
        self.base_url, self.mall, self.state_dir = base_url, mall, state_dir
        self.devices: dict[str, str] = tokens["devices"]
        self.rng = random.Random(seed)
        self.lead_ins = lead_in_screens or mall.lead_in_screens
        self.claim_boost = claim_boost
        self.summary = SimulationSummary()
        self._clients: dict[str, KioskClient] = {}

    def client(self, screen_id: str) -> Any:
        if screen_id not in self._clients:
            kind = MirrorClient if screen_id.startswith("mirror-") else LeadInClient
            self._clients[screen_id] = kind(
                self.base_url,
                screen_id,
                self.devices[screen_id],
                state_dir=self.state_dir / screen_id,
                retry=RetryPolicy(max_attempts=3, base_delay=0.1, max_delay=1.0),
            )
        return self._clients[screen_id]

    def run(
        self,
        shoppers: int,
        *,
        speedup: float = 10.0,
        duration_s: float | None = None,
        progress: Callable[[str], object] | None = None,
    ) -> SimulationSummary:
        started = time.monotonic()
        bar = Progress(shoppers, progress)
        try:
            for n in range(shoppers):
                if duration_s is not None and time.monotonic() - started >= duration_s:
                    break
                self.visit(self.mall.draw_shopper(self.rng))
                self.summary.shoppers = n + 1
                bar.update(n + 1, self.summary)
                gap = self.rng.expovariate(1.0 / MEAN_ARRIVAL_S) / speedup
                if gap > 0.001:
                    time.sleep(gap)
        finally:
            self._flush_all()
            bar.update(self.summary.shoppers, self.summary, force=True)
            if progress:
                progress("\n")
            self.summary.wall_s = time.monotonic() - started
        return self.summary

    def visit(self, shopper: Shopper) -> None:
        lead_in = self.client(self.rng.choice(self.lead_ins))
        lead_in.record_audience([shopper.face(self.rng)], dwell_s=round(self.rng.uniform(2, 12), 1))
        self._count("audience")
        self._flush(lead_in)  # the crowd must reach the service before the screen asks for coupons
        try:
            shown = lead_in.coupons(k=5).coupons
        except KioskError as exc:
            logger.warning("no coupons for %s: %s", lead_in.screen_id, exc)
            shown = []
        for rank, coupon in enumerate(shown):
            lead_in.record_coupon_impression(
                coupon["coupon_id"], explored=coupon.get("explored"), propensity=coupon.get("propensity")
            )
            self._count("coupon_impression")
            self.summary.impressions += 1
            if self.rng.random() < self.claim_boost * shopper.claim_probability(coupon["store_id"], rank):
                lead_in.record_coupon_claim(coupon["coupon_id"])
                self._count("coupon_claim")
                self.summary.claims += 1
                self.summary.claims_by_store[coupon["store_id"]] += 1
                break
        self._flush(lead_in)
        for store_id in shopper.stores_to_visit(self.rng):
            self._enter_store(shopper, store_id)

    def _enter_store(self, shopper: Shopper, store_id: str) -> None:
        camera = self.client(f"cam-{store_id}")
        camera.record("store_visit", screen_id=camera.screen_id, **shopper.visit_fields(self.rng))
        self._count("store_visit")
        self.summary.store_visits[store_id] += 1
        mirrors = self.mall.mirrors.get(store_id, [])
        device = self.client(self.rng.choice(mirrors)) if mirrors else camera
        tried = self.mall.pick_items(store_id, self.rng, self.rng.randint(1, 3)) if mirrors else []
        session_id = f"sim-{self.rng.getrandbits(48):012x}"
        for sku in tried:
            self._try_on(device, sku, session_id)
        basket = [sku for sku in tried if self.rng.random() < 0.35]
        if not mirrors and self.rng.random() < 0.2:
            basket = self.mall.pick_items(store_id, self.rng, 1)
        if basket:
            device.record_purchase(store_id, basket, session_id=session_id)
            self._count("purchase")
            self.summary.purchases += 1
        self._flush(camera)
        if device is not camera:
            self._flush(device)

    def _try_on(self, mirror: MirrorClient, sku: str, session_id: str) -> None:
        queued_before = mirror.pending
        try:
            mirror.try_on(sku, session_id)  # queued in the outbox when the service is away
        except RejectedError as exc:  # a service without the mirror routes: report it as a plain event
            logger.debug("try-on route refused (%s); sending a try_on event", exc.status_code)
            mirror.record("try_on", screen_id=mirror.screen_id, sku=sku, session_id=session_id)
            queued_before = -1
        self._count("try_on")
        if mirror.pending == queued_before:
            self.summary.events_sent += 1
        try:
            mirror.recommendations(sku, session_id=session_id, k=6)
        except KioskError as exc:
            logger.debug("no recommendations for %s: %s", sku, exc)

    def _count(self, event_type: str) -> None:
        self.summary.events_by_type[event_type] += 1

    def _flush(self, client: KioskClient) -> None:
        result = client.flush()
        self.summary.events_sent += result.accepted + result.duplicates
        if result.rejected:
            logger.warning("%s: service rejected %d events", client.screen_id, result.rejected)

    def _flush_all(self) -> None:
        for client in self._clients.values():
            try:
                result = client.flush()
                self.summary.events_sent += result.accepted + result.duplicates
            except KioskError as exc:
                logger.warning("final flush of %s failed: %s", client.screen_id, exc)
        self.summary.pending = sum(c.pending for c in self._clients.values())

    def close(self) -> None:
        for client in self._clients.values():
            client.close()


def simulate(
    base_url: str,
    tokens_path: Path,
    *,
    preset: str = "small",
    mall_seed: int = 7,
    seed: int = 0,
    shoppers: int = 100,
    speedup: float = 10.0,
    duration_s: float | None = None,
    screens: list[str] | None = None,
    state_dir: Path = Path("var/sim"),
    progress: Callable[[str], object] | None = None,
) -> SimulationSummary:
    """Run ``shoppers`` shoppers against the service at ``base_url`` loaded with the demo mall."""
    tokens = json.loads(tokens_path.read_text())
    sim = MallSimulator(
        base_url, tokens, load_sim_mall(preset, mall_seed), state_dir=state_dir, seed=seed, lead_in_screens=screens
    )
    try:
        return sim.run(shoppers, speedup=speedup, duration_s=duration_s, progress=progress)
    finally:
        sim.close()
