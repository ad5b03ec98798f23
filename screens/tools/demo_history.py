"""Days of simulated shoppers written straight into the event log, so a fresh demo looks lived-in.

The live simulator drives the real HTTP API one shopper at a time, which is right for showing the
service at work but would need hours to fill two weeks. This backfill draws the same shoppers
(:mod:`kiosk_client._sim_mall`: one anonymous cell each, a hidden taste per store) over past days
of mall opening hours and hands their events to :func:`screens.services.events.ingest` in large
batches, in process: the same validation, deduplication and log as the API, minus HTTP. What a
lead-in screen showed is approximated by the stores the shopper's cell favours plus some
exploration, which is what a ranking that reads crowds well converges to.

History is generated only after the newest event already logged, so restarting the demo fills the
gap since the last run instead of doubling the log. Events reach the event log and its rollups
(analytics and store audiences); the live counters of the service that starts next fill from live
traffic.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from kiosk_client._sim_mall import SimMall, load_sim_mall
from screens.auth import Principal
from screens.bus.base import Event, EventStream
from screens.bus.memory import make_memory_bus
from screens.db.session import as_utc, make_engine
from screens.db.tables import Coupon, EventRecord, Screen
from screens.services.events import IntakeConfig, ScreenInfo, ingest
from screens.services.session_window import SessionPolicy
from screens.settings import Settings

log = logging.getLogger(__name__)
SESSION_WINDOW_S = 7200.0  # the service's default mirror session window

OPEN_HOUR, CLOSE_HOUR = 10, 21
"""Mall opening hours, local time of the machine running the demo."""
BATCH = 5000
EXPLORE = 0.15
"""Share of lead-in slots filled by a random store instead of the crowd's favourite (like the ranking's exploration)."""


class _LogOnly(EventStream):
    """A stream that drops what is published: backfilled events belong to the log, not to live state."""

    def publish(self, events: Sequence[Event]) -> None:
        return None

    def read(self, group: str, consumer: str, count: int = 500, block_ms: int = 200) -> list[tuple[str, Event]]:
        return []

    def ack(self, group: str, ids: Sequence[str]) -> None:
        return None

    def retry_unacked(self, group: str, consumer: str) -> None:
        return None

    def pending(self) -> int:
        return 0


@dataclass(frozen=True)
class LiveCoupon:
    coupon_id: str
    store_id: str
    valid_from: datetime
    valid_to: datetime


@dataclass
class HistorySummary:
    shoppers: int = 0
    events: int = 0
    claims: int = 0
    wall_s: float = 0.0


def _arrival_weight(hour: float) -> float:
    """Shoppers per opening hour: a lunch peak and a bigger early-evening one."""
    return 0.4 + math.exp(-((hour - 13) ** 2) / 3) + 1.4 * math.exp(-((hour - 18) ** 2) / 4)


class HistoryWriter:
    """Draws shoppers of one demo mall and turns each into the events its screens would have sent."""

    def __init__(self, mall: SimMall, coupons: Sequence[LiveCoupon], seed: int, until: datetime) -> None:
        self.mall, self.rng, self.until = mall, random.Random(seed), until
        self.coupons: dict[str, list[LiveCoupon]] = {}
        for c in coupons:
            self.coupons.setdefault(c.store_id, []).append(c)

    def _id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _event(self, kind: str, ts: datetime, **fields: Any) -> dict[str, Any]:
        return {"event_id": self._id(), "type": kind, "ts": ts.isoformat(), **fields}

    def arrivals(self, since: datetime, until: datetime, per_day: int) -> Iterator[datetime]:
        """Arrival times in opening hours between ``since`` and ``until`` (local clock of this machine)."""
        local = since.astimezone()
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        total = sum(_arrival_weight(OPEN_HOUR + (h + 0.5) / 4) for h in range((CLOSE_HOUR - OPEN_HOUR) * 4))
        while day < until:
            for quarter in range((CLOSE_HOUR - OPEN_HOUR) * 4):
                start = day + timedelta(hours=OPEN_HOUR, minutes=15 * quarter)
                expected = per_day * _arrival_weight(OPEN_HOUR + (quarter + 0.5) / 4) / total
                n = int(expected) + (self.rng.random() < expected - int(expected))
                for moment in sorted(start + timedelta(seconds=self.rng.uniform(0, 900)) for _ in range(n)):
                    if since <= moment < until:
                        yield moment.astimezone(UTC)
            day = (day + timedelta(days=1, hours=2)).replace(hour=0)  # stays at midnight across DST changes

    def _slate(self, taste: dict[str, float], at: datetime, k: int = 5) -> list[tuple[LiveCoupon, bool]]:
        """Coupons of ``k`` stores valid at ``at``: the shopper's favourite stores, some slots explored."""
        live = {s: [c for c in cs if c.valid_from <= at < c.valid_to] for s, cs in self.coupons.items()}
        stores = [s for s, cs in live.items() if cs]
        ranked = sorted(stores, key=lambda s: taste.get(s, 0.0) * self.rng.uniform(0.6, 1.4), reverse=True)
        slate: list[tuple[str, bool]] = []
        for store in ranked:
            if len(slate) == k:
                break
            if self.rng.random() < EXPLORE:
                pick = self.rng.choice(stores)
                if pick not in {s for s, _ in slate}:
                    slate.append((pick, True))
                    continue
            if store not in {s for s, _ in slate}:
                slate.append((store, False))
        return [(self.rng.choice(live[s]), explored) for s, explored in slate]

    def shopper(self, at: datetime, summary: HistorySummary) -> list[dict[str, Any]]:
        """One shopper's visit from the lead-in screen at ``at``: crowd, showings, claim, stores, try-ons."""
        rng, shopper = self.rng, self.mall.draw_shopper(self.rng)
        screen = rng.choice(self.mall.lead_in_screens)
        group = rng.choice((1, 1, 1, 2, 2, 3))
        faces = [shopper.face(rng)] + [self.mall.draw_shopper(rng).face(rng) for _ in range(group - 1)]
        looking = sum(rng.random() < 0.75 for _ in faces)
        events = [
            self._event(
                "audience",
                at,
                screen_id=screen,
                faces=faces,
                dwell_s=round(rng.uniform(2, 12), 1),
                group_size=group,
                attention=round(looking / group, 3),
            )
        ]
        shown_at = at + timedelta(seconds=1)
        for rank, (coupon, explored) in enumerate(self._slate(dict(shopper.taste), shown_at)):
            events.append(
                self._event(
                    "coupon_impression", shown_at, screen_id=screen, coupon_id=coupon.coupon_id, explored=explored
                )
            )
            if rng.random() < shopper.claim_probability(coupon.store_id, rank):
                claim_at = shown_at + timedelta(seconds=rng.uniform(5, 40))
                events.append(self._event("coupon_claim", claim_at, screen_id=screen, coupon_id=coupon.coupon_id))
                summary.claims += 1
                break
        when = at + timedelta(minutes=rng.uniform(1, 10))
        for store_id in shopper.stores_to_visit(rng):
            events += self._visit(shopper, store_id, when)
            when += timedelta(minutes=rng.uniform(5, 25))
        return [e for e in events if datetime.fromisoformat(e["ts"]) < self.until]  # nothing from the future

    def _visit(self, shopper: Any, store_id: str, at: datetime) -> list[dict[str, Any]]:
        rng = self.rng
        events = [self._event("store_visit", at, screen_id=f"cam-{store_id}", **shopper.visit_fields(rng))]
        mirrors = self.mall.mirrors.get(store_id, [])
        if not mirrors:
            return events
        mirror, session_id = rng.choice(mirrors), f"hist-{rng.getrandbits(48):012x}"
        tried = self.mall.pick_items(store_id, rng, rng.randint(1, 3))
        for i, sku in enumerate(tried):
            ts = at + timedelta(minutes=2 + 3 * i)
            events.append(self._event("try_on", ts, screen_id=mirror, sku=sku, session_id=session_id))
        basket = [sku for sku in tried if rng.random() < 0.35]
        if basket:
            ts = at + timedelta(minutes=4 + 3 * len(tried))
            events.append(self._event("purchase", ts, store_id=store_id, skus=basket, session_id=session_id))
        return events


def _coupons(session: Session) -> list[LiveCoupon]:
    rows = session.exec(select(Coupon).where(col(Coupon.active)))
    return [LiveCoupon(c.id, c.store_id, as_utc(c.valid_from), as_utc(c.valid_to)) for c in rows]


def _bar(write: Callable[[str], object] | None, done: float, summary: HistorySummary, started: float) -> None:
    if write is None:
        return
    filled = int(30 * done)
    rate = summary.events / max(time.monotonic() - started, 1e-3)
    write(
        f"\rhistory [{'#' * filled}{'.' * (30 - filled)}] {done:4.0%} · {summary.shoppers} shoppers · "
        f"{summary.events} events · {summary.claims} claims · {rate:,.0f} events/s   "
    )


def backfill(
    database_url: str,
    preset: str,
    since: datetime,
    until: datetime,
    *,
    shoppers_per_day: int = 1500,
    seed: int = 1,
    progress: Callable[[str], object] | None = sys.stderr.write,
    intake: IntakeConfig | None = None,
) -> HistorySummary:
    """Simulated shoppers from ``since`` to ``until`` into the event log (and its rollups) of ``database_url``."""
    started, summary = time.monotonic(), HistorySummary()
    intake = intake or IntakeConfig.from_settings(Settings(database_url=database_url))
    engine = make_engine(database_url)
    admin = Principal(token_id=0, role="admin")
    # The same session window and hashed session ids as the API; the window's first-seen times
    # live in a throw-away in-process store.
    sessions = SessionPolicy(engine, make_memory_bus().counters, secrets.token_hex(16), SESSION_WINDOW_S)
    try:
        with Session(engine) as session:
            writer = HistoryWriter(load_sim_mall(preset, 7), _coupons(session), seed, until)
            screens = {s.id: ScreenInfo(s.kind, s.store_id) for s in session.exec(select(Screen))}
            span = (until - since).total_seconds() or 1.0
            pending: list[dict[str, Any]] = []
            for at in writer.arrivals(since, until, shoppers_per_day):
                pending += writer.shopper(at, summary)
                summary.shoppers += 1
                if len(pending) >= BATCH:
                    summary.events += _write(session, pending, screens, admin, intake, sessions)
                    pending = []
                    _bar(progress, (at - since).total_seconds() / span, summary, started)
            summary.events += _write(session, pending, screens, admin, intake, sessions)
    finally:
        engine.dispose()
    summary.wall_s = time.monotonic() - started
    _bar(progress, 1.0, summary, started)
    if progress:
        progress("\n")
    return summary


def _write(
    session: Session,
    events: list[dict[str, Any]],
    screens: dict[str, ScreenInfo],
    who: Principal,
    intake: IntakeConfig,
    sessions: SessionPolicy,
) -> int:
    if not events:
        return 0
    result = ingest(session, _LogOnly(), events, screens, who, intake, sessions=sessions)
    if result.rejected:
        log.warning("history: %d events rejected, e.g. %s", result.rejected, result.errors[0].message)
    return result.accepted


def fill_history(
    database_url: str,
    preset: str,
    days: float,
    *,
    shoppers_per_day: int = 1500,
    now: datetime | None = None,
    progress: Callable[[str], object] | None = sys.stderr.write,
) -> HistorySummary | None:
    """Backfill the last ``days``, from the newest logged event on if it is younger; None if nothing to do."""
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            newest = session.exec(select(func.max(EventRecord.ts))).one()
    finally:
        engine.dispose()
    if newest is not None:
        since = max(since, as_utc(newest))
    if days <= 0 or now - since < timedelta(minutes=1):
        return None
    return backfill(database_url, preset, since, now, shoppers_per_day=shoppers_per_day, progress=progress)
