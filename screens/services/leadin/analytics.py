"""Coupon performance: impressions, claims, claim rate, measured exploration, daily trend, audience
cells and pacing.

An impression or claim at a lead-in screen is attributed to the crowd that screen saw just before it
(its latest audience event within ``crowd_window_s``), each face carrying an equal share. A cell's
figures are published only when at least ``k`` faces stand behind its impressions (see
:mod:`screens.services.analytics` for the k-anonymity rule). Coupon totals count showings and claims,
not people, and are always published: merchandisers need them to pace their caps.

The measured exploration share counts only impressions whose screen reported the ranking's
``explored`` flag; older screens leave it out, and guessing for them would skew the share.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from recsys.attributes import cell_of
from screens.db.session import as_utc
from screens.db.tables import Coupon, Store
from screens.schemas import analytics as schema
from screens.services.analytics import LoggedEvent, Window, coupon_stores, logged_events, published

COUPON_EVENTS = ("coupon_impression", "coupon_claim")


class CrowdLookup:
    """The crowd each screen saw most recently before a moment, found by bisection."""

    def __init__(self, audience_events: Iterable[LoggedEvent], window_s: float) -> None:
        self._window = timedelta(seconds=window_s)
        self._times: dict[str, list[datetime]] = defaultdict(list)
        self._cells: dict[str, list[list[str]]] = defaultdict(list)
        for event in audience_events:  # oldest first
            if event.screen_id and event.payload.get("faces"):
                self._times[event.screen_id].append(event.ts)
                cells = [cell_of(face["gender"], face["age"]) for face in event.payload["faces"]]
                self._cells[event.screen_id].append(cells)

    def cells_at(self, screen_id: str | None, ts: datetime) -> list[str]:
        """One cell per face of the crowd in front of ``screen_id`` at ``ts``; empty when none."""
        times = self._times.get(screen_id or "")
        i = bisect_right(times, ts) - 1 if times else -1
        if i < 0 or ts - times[i] > self._window:  # type: ignore[index]
            return []
        return self._cells[screen_id][i]  # type: ignore[index]


@dataclass
class ExplorationCount:
    flagged: int = 0
    explored: int = 0

    def add(self, explored: bool | None) -> None:
        if explored is not None:
            self.flagged += 1
            self.explored += explored

    def merge(self, other: ExplorationCount) -> None:
        self.flagged += other.flagged
        self.explored += other.explored

    def public(self) -> schema.MeasuredExploration:
        return schema.MeasuredExploration(
            flagged_impressions=self.flagged,
            explored_impressions=self.explored,
            share=_rate(self.explored, self.flagged),
        )


@dataclass
class Tally:
    impressions: int = 0
    claims: int = 0
    unattributed: int = 0
    exploration: ExplorationCount = field(default_factory=ExplorationCount)
    day_impressions: Counter[date] = field(default_factory=Counter)
    day_claims: Counter[date] = field(default_factory=Counter)
    cell_impressions: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cell_claims: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    cell_faces: Counter[str] = field(default_factory=Counter)

    def add(self, claim: bool, day: date, cells: list[str], explored: bool | None = None) -> None:
        (self.day_claims if claim else self.day_impressions)[day] += 1
        if claim:
            self.claims += 1
        else:
            self.impressions += 1
            self.unattributed += not cells
            self.exploration.add(explored)
            self.cell_faces.update(cells)
        for cell in cells:
            (self.cell_claims if claim else self.cell_impressions)[cell] += 1 / len(cells)

    def merge(self, other: Tally) -> None:
        self.impressions += other.impressions
        self.claims += other.claims
        self.unattributed += other.unattributed
        self.exploration.merge(other.exploration)
        self.day_impressions.update(other.day_impressions)
        self.day_claims.update(other.day_claims)
        self.cell_faces.update(other.cell_faces)
        for cell, share in other.cell_impressions.items():
            self.cell_impressions[cell] += share
        for cell, share in other.cell_claims.items():
            self.cell_claims[cell] += share

    def trend(self, days: list[date]) -> list[schema.DayPerformance]:
        return [
            schema.DayPerformance(date=d, impressions=self.day_impressions[d], claims=self.day_claims[d]) for d in days
        ]

    def by_cell(self, k: int) -> list[schema.CellPerformance]:
        cells = []
        for cell, faces in self.cell_faces.most_common():
            ok = published(faces, k)
            shown, claimed = round(self.cell_impressions[cell], 2), round(self.cell_claims[cell], 2)
            cells.append(
                schema.CellPerformance(
                    cell=cell,
                    impressions=shown if ok else None,
                    claims=claimed if ok else None,
                    suppressed=not ok,
                    claim_rate=_rate(claimed, shown) if ok else None,
                )
            )
        return cells


def _rate(claims: float, impressions: float) -> float | None:
    return round(claims / impressions, 4) if impressions else None


def _pacing(coupon: Coupon, claims_today: int, claims_total: int, day_share: float, now: datetime) -> schema.Pacing:
    valid_from, valid_to = as_utc(coupon.valid_from), as_utc(coupon.valid_to)
    life = (valid_to - valid_from).total_seconds()
    life_share = min(max((now - valid_from).total_seconds() / life, 0.0), 1.0) if life > 0 else 1.0
    daily = coupon.daily_cap * day_share if coupon.daily_cap is not None else None
    stock = coupon.total_stock * life_share if coupon.total_stock is not None else None
    if coupon.total_stock is not None and claims_total >= coupon.total_stock:
        status = "exhausted"
    elif coupon.daily_cap is not None and claims_today >= coupon.daily_cap:
        status = "capped"
    elif daily is None and stock is None:
        status = "uncapped"
    else:
        expected, actual = (daily, claims_today) if daily is not None else (stock, claims_total)
        assert expected is not None
        status = "ahead" if actual > 1.2 * expected + 1 else "behind" if actual < 0.8 * expected - 1 else "on_track"
    return schema.Pacing(
        daily_cap=coupon.daily_cap,
        claims_today=claims_today,
        daily_expected_by_now=round(daily, 2) if daily is not None else None,
        total_stock=coupon.total_stock,
        claims_in_validity=claims_total,
        stock_expected_by_now=round(stock, 2) if stock is not None else None,
        status=status,
    )


def store_coupons(
    session: Session, store_id: str, window: Window, crowd_window_s: float, exploration_share: float
) -> schema.StoreCoupons:
    """Every coupon of a store with its performance in ``window`` and its pacing right now."""
    coupons = list(
        session.execute(select(Coupon).where(col(Coupon.store_id) == store_id).order_by(col(Coupon.id))).scalars()
    )
    now = window.until
    local_now = window.local(now)
    local_midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = local_midnight - window.tz_offset
    day_share = (local_now - local_midnight).total_seconds() / 86_400
    earliest = min([window.since, day_start, *(as_utc(c.valid_from) for c in coupons)])
    ids = {c.id for c in coupons}
    events = [e for e in logged_events(session, COUPON_EVENTS, earliest, now) if e.payload["coupon_id"] in ids]
    screens = {e.screen_id for e in events if e.screen_id and e.ts >= window.since}
    audience_since = window.since - timedelta(seconds=crowd_window_s)
    crowds = CrowdLookup(
        logged_events(session, ["audience"], audience_since, now, screen_ids=screens) if screens else [], crowd_window_s
    )
    tallies = {c.id: Tally() for c in coupons}
    today: Counter[str] = Counter()
    in_validity: Counter[str] = Counter()
    valid_from = {c.id: as_utc(c.valid_from) for c in coupons}
    for event in events:
        coupon_id, claim = event.payload["coupon_id"], event.payload["type"] == "coupon_claim"
        if claim and event.ts >= day_start:
            today[coupon_id] += 1
        if claim and event.ts >= valid_from[coupon_id]:
            in_validity[coupon_id] += 1
        if event.ts >= window.since:
            cells = crowds.cells_at(event.screen_id, event.ts)
            tallies[coupon_id].add(claim, window.local(event.ts).date(), cells, event.payload.get("explored"))
    days, total = window.days(), Tally()
    answer = []
    for coupon in coupons:
        tally = tallies[coupon.id]
        total.merge(tally)
        answer.append(
            schema.CouponPerformance(
                coupon_id=coupon.id,
                title=coupon.title,
                active=coupon.active,
                impressions=tally.impressions,
                claims=tally.claims,
                claim_rate=_rate(tally.claims, tally.impressions),
                unattributed_impressions=tally.unattributed,
                exploration=tally.exploration.public(),
                trend=tally.trend(days),
                by_cell=tally.by_cell(window.k),
                pacing=_pacing(coupon, today[coupon.id], in_validity[coupon.id], day_share, now),
            )
        )
    totals = schema.StoreCouponTotals(
        impressions=total.impressions,
        claims=total.claims,
        claim_rate=_rate(total.claims, total.impressions),
        exploration=total.exploration.public(),
        trend=total.trend(days),
        by_cell=total.by_cell(window.k),
    )
    return schema.StoreCoupons(
        store_id=store_id, window=window.public(), exploration_share=exploration_share, totals=totals, coupons=answer
    )


def coupon_summary(session: Session, window: Window, store_ids: frozenset[str] | None) -> schema.CouponSummary:
    """Impressions, claims, claim rate and measured exploration of each store's coupons, for comparing stores."""
    owner = coupon_stores(session)
    shown: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    explored: defaultdict[str, ExplorationCount] = defaultdict(ExplorationCount)
    for event in logged_events(session, COUPON_EVENTS, window.since, window.until):
        store = owner.get(event.payload["coupon_id"])
        if store is None:
            continue
        if event.payload["type"] == "coupon_claim":
            claimed[store] += 1
        else:
            shown[store] += 1
            explored[store].add(event.payload.get("explored"))
    per_store = Counter(owner.values())
    query = select(Store).order_by(col(Store.id))
    if store_ids is not None:
        query = query.where(col(Store.id).in_(store_ids))
    stores = [
        schema.StoreCouponSummary(
            store_id=s.id,
            name=s.name,
            coupons=per_store[s.id],
            impressions=shown[s.id],
            claims=claimed[s.id],
            claim_rate=_rate(claimed[s.id], shown[s.id]),
            exploration=explored[s.id].public(),
        )
        for s in session.execute(query).scalars()
    ]
    return schema.CouponSummary(window=window.public(), stores=stores)
