"""Coupon performance: impressions, claims, claim rate, measured exploration, daily trend, audience
cells and pacing, read from the coupon rollups.

An impression or claim at a lead-in screen is attributed to the crowd that screen saw just before it
(its latest audience event within ``crowd_window_s``), each face carrying an equal share; the
attribution is made at ingest (:mod:`screens.services.rollups`). Claims in a coupon's validity are
counted from the quarter hour its validity starts in (the rollups' grain). A cell's
figures are published only when at least ``k`` faces stand behind its impressions (see
:mod:`screens.services.analytics` for the k-anonymity rule). Coupon totals count showings and claims,
not people, and are always published: merchandisers need them to pace their caps.

The measured exploration share counts only impressions whose screen reported the ranking's
``explored`` flag; older screens leave it out, and guessing for them would skew the share.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlmodel import Session, col

from screens.db.rollups import BUCKET_S, DAY_S, CouponCellRollup, CouponRollup
from screens.db.session import as_utc
from screens.db.tables import Coupon, Store, table
from screens.schemas import analytics as schema
from screens.services.analytics import Window, coupon_stores, published, quarter_hours, spanning
from screens.services.rollups import bucket_of


@dataclass
class ExplorationCount:
    flagged: int = 0
    explored: int = 0

    def public(self) -> schema.MeasuredExploration:
        return schema.MeasuredExploration(
            flagged_impressions=self.flagged,
            explored_impressions=self.explored,
            share=_rate(self.explored, self.flagged),
        )


@dataclass
class Tally:
    """One coupon's (or a store's) sums over the window, as read from the rollups."""

    impressions: int = 0
    claims: int = 0
    unattributed: int = 0
    exploration: ExplorationCount = field(default_factory=ExplorationCount)
    day_impressions: Counter[date] = field(default_factory=Counter)
    day_claims: Counter[date] = field(default_factory=Counter)
    cells: dict[str, tuple[float, float, int]] = field(default_factory=dict)
    """Per cell: impression shares, claim shares, faces."""

    def add_day(self, day: date, impressions: int, claims: int, unattributed: int, flagged: int, explored: int) -> None:
        self.impressions += impressions
        self.claims += claims
        self.unattributed += unattributed
        self.exploration.flagged += flagged
        self.exploration.explored += explored
        self.day_impressions[day] += impressions
        self.day_claims[day] += claims

    def trend(self, days: list[date]) -> list[schema.DayPerformance]:
        return [
            schema.DayPerformance(date=d, impressions=self.day_impressions[d], claims=self.day_claims[d]) for d in days
        ]

    def by_cell(self, k: int) -> list[schema.CellPerformance]:
        """Cells behind the impressions, most faces first (ties by cell name)."""
        cells = []
        for cell, (shown_share, claimed_share, faces) in sorted(self.cells.items(), key=lambda kv: (-kv[1][2], kv[0])):
            if faces <= 0:
                continue
            ok = published(faces, k)
            shown, claimed = round(shown_share, 2), round(claimed_share, 2)
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


def _tallies(session: Session, ids: list[str], window: Window) -> tuple[dict[str, Tally], Tally]:
    """Each coupon's sums per local day and per cell over ``window``, and their total."""
    tallies, total = {i: Tally() for i in ids}, Tally()
    r = table(CouponRollup).c
    local_day = (r.bucket + window.offset_s) // DAY_S
    sums = [func.sum(r.impressions), func.sum(r.claims), func.sum(r.unattributed), func.sum(r.flagged)]
    query = (
        select(r.coupon_id, local_day, *sums, func.sum(r.explored))
        .where(r.coupon_id.in_(ids), *quarter_hours(r.grain, r.bucket, window))
        .group_by(r.coupon_id, local_day)
    )
    for coupon_id, day_number, *counts in session.execute(query):
        day = date.fromordinal(date(1970, 1, 1).toordinal() + int(day_number))
        values = [int(n) for n in counts]
        tallies[coupon_id].add_day(day, *values)
        total.add_day(day, *values)
    c = table(CouponCellRollup).c
    cells = (
        select(c.coupon_id, c.cell, func.sum(c.impressions), func.sum(c.claims), func.sum(c.faces))
        .where(c.coupon_id.in_(ids), spanning(c.grain, c.bucket, window))
        .group_by(c.coupon_id, c.cell)
    )
    for coupon_id, cell, shown, claimed, faces in session.execute(cells):
        tallies[coupon_id].cells[cell] = (float(shown), float(claimed), int(faces))
        old = total.cells.get(cell, (0.0, 0.0, 0))
        total.cells[cell] = (old[0] + float(shown), old[1] + float(claimed), old[2] + int(faces))
    return tallies, total


def _claims_since(session: Session, starts: dict[str, int], until: int) -> Counter[str]:
    """Claims of each coupon from its own start bucket to ``until``, in one pass.

    Whole UTC days are read from the daily rows and the ragged ends from the quarter hours (as
    :func:`screens.services.analytics.spanning`): quarter-hour rows older than the analytics window
    are pruned (:func:`screens.services.retention.prune_rollups`), and a coupon can run longer.
    """
    if not starts:
        return Counter()
    r = table(CouponRollup).c
    end_day = until // DAY_S * DAY_S

    def own_rows(start: int) -> ColumnElement[bool]:
        first_day = math.ceil(start / DAY_S) * DAY_S
        if first_day >= end_day:
            return and_(r.grain == BUCKET_S, r.bucket >= start)
        return or_(
            and_(r.grain == BUCKET_S, r.bucket >= start, r.bucket < first_day),
            and_(r.grain == DAY_S, r.bucket >= first_day, r.bucket < end_day),
            and_(r.grain == BUCKET_S, r.bucket >= end_day),
        )

    counted = case(*(((r.coupon_id == cid) & own_rows(start), r.claims) for cid, start in starts.items()), else_=0)
    query = (
        select(r.coupon_id, func.sum(counted))
        .where(
            r.coupon_id.in_(list(starts)),
            r.bucket >= min(starts.values()),
            r.bucket < until,
            r.claims > 0,
        )
        .group_by(r.coupon_id)
    )
    return Counter({cid: int(n) for cid, n in session.execute(query)})


def store_coupons(session: Session, store_id: str, window: Window, exploration_share: float) -> schema.StoreCoupons:
    """Every coupon of a store with its performance in ``window`` and its pacing right now."""
    coupons = list(
        session.execute(select(Coupon).where(col(Coupon.store_id) == store_id).order_by(col(Coupon.id))).scalars()
    )
    now = window.until
    local_now = window.local(now)
    local_midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    day_start = bucket_of(local_midnight - window.tz_offset)
    day_share = (local_now - local_midnight).total_seconds() / 86_400
    ids = [c.id for c in coupons]
    tallies, total = _tallies(session, ids, window)
    today = _claims_since(session, dict.fromkeys(ids, day_start), window.end_bucket)
    in_validity = _claims_since(session, {c.id: bucket_of(as_utc(c.valid_from)) for c in coupons}, window.end_bucket)
    days = window.days()
    answer = []
    for coupon in coupons:
        tally = tallies[coupon.id]
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
    r = table(CouponRollup).c
    query = (
        select(r.coupon_id, func.sum(r.impressions), func.sum(r.claims), func.sum(r.flagged), func.sum(r.explored))
        .where(spanning(r.grain, r.bucket, window))
        .group_by(r.coupon_id)
    )
    shown: Counter[str] = Counter()
    claimed: Counter[str] = Counter()
    explored: defaultdict[str, ExplorationCount] = defaultdict(ExplorationCount)
    for coupon_id, impressions, claims, flagged, was_explored in session.execute(query):
        store = owner.get(coupon_id)
        if store is None:
            continue
        shown[store] += int(impressions)
        claimed[store] += int(claims)
        explored[store].flagged += int(flagged)
        explored[store].explored += int(was_explored)
    per_store = Counter(owner.values())
    query_stores = select(Store).order_by(col(Store.id))
    if store_ids is not None:
        query_stores = query_stores.where(col(Store.id).in_(store_ids))
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
        for s in session.execute(query_stores).scalars()
    ]
    return schema.CouponSummary(window=window.public(), stores=stores)
