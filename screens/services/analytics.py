"""Audience, traffic, flow and screen analytics read from the rollups and the live counters.

Every answer is a handful of ``GROUP BY`` queries over the quarter-hour rollups
(:mod:`screens.db.rollups`), so its cost follows the window's length and the mall's size, never the
number of events logged. A window starts at the quarter hour on or before ``now - days`` (the
grain of the rollups) and runs to now.

k-anonymity rule (``settings.k_anonymity``): every published count that describes people must rest
on at least ``k`` visits, otherwise it is published as ``null`` with ``suppressed: true``. A slice
total is suppressed too when the suppressed cells under it add up to between 1 and ``k - 1``
visits, because total minus published cells would then reveal them (complementary suppression).

Times are stored in UTC; dayparts, hours and days are taken in mall-local time, given as a UTC
offset in minutes by the caller.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, func, or_, select, union_all
from sqlmodel import Session, col

from recsys.attributes import AGE_BUCKETS, DAYPARTS, GENDERS, UNKNOWN, daypart
from screens.bus import LiveCounters
from screens.db.rollups import BUCKET_S, DAY_S, FlowRollup, TrafficRollup, VisitRollup
from screens.db.session import as_utc
from screens.db.tables import Coupon, Screen, table
from screens.schemas import analytics as schema
from screens.services.live_state import screen_crowd, showing_now

ANALYTICS_DAYS: Final = 92
"""The longest window analytics answers (days back from now); older quarter-hour rollups are pruned."""
HEAT_GENDERS = (*GENDERS, UNKNOWN)
HEAT_AGES = (*AGE_BUCKETS, UNKNOWN)


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    tz_offset: timedelta
    k: int

    @classmethod
    def last_days(cls, days: int, tz_offset_min: int, k: int, now: datetime | None = None) -> Window:
        until = now or datetime.now(UTC)
        start = math.floor((until - timedelta(days=days)).timestamp() / BUCKET_S) * BUCKET_S
        return cls(datetime.fromtimestamp(start, UTC), until, timedelta(minutes=tz_offset_min), k)

    @property
    def first_bucket(self) -> int:
        return math.floor(self.since.timestamp() / BUCKET_S) * BUCKET_S

    @property
    def end_bucket(self) -> int:
        """The first bucket after the window (the current quarter hour is inside it)."""
        return math.ceil(self.until.timestamp() / BUCKET_S) * BUCKET_S

    @property
    def offset_s(self) -> int:
        return int(self.tz_offset.total_seconds())

    def local(self, ts: datetime) -> datetime:
        return as_utc(ts) + self.tz_offset

    def local_bucket(self, bucket: int) -> datetime:
        """The mall-local wall time a bucket starts at (as a naive-free UTC-labelled datetime)."""
        return datetime.fromtimestamp(bucket + self.offset_s, UTC)

    def days(self) -> list[date]:
        first, last = self.local(self.since).date(), self.local(self.until).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def public(self) -> schema.Window:
        return schema.Window(
            since=self.since, until=self.until, k=self.k, tz_offset_min=int(self.tz_offset.total_seconds() // 60)
        )


def published(count: float, k: int) -> bool:
    return count >= k


def in_window(bucket: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    """The ``WHERE`` terms keeping a rollup's buckets inside ``window``."""
    return [bucket >= window.first_bucket, bucket < window.end_bucket]


def quarter_hours(grain: ColumnElement[Any], bucket: ColumnElement[Any], window: Window) -> list[ColumnElement[bool]]:
    """The quarter-hour rows of a two-grain rollup inside ``window``."""
    return [grain == BUCKET_S, *in_window(bucket, window)]


def span_ranges(window: Window) -> list[tuple[int, int, int]]:
    """``(grain, first, end)`` bucket ranges of a two-grain rollup that sum to ``window``, disjoint:
    whole UTC days daily, the ragged ends by quarter hour."""
    lo, hi = window.first_bucket, window.end_bucket
    first_day, end_day = math.ceil(lo / DAY_S) * DAY_S, hi // DAY_S * DAY_S
    if first_day >= end_day:
        return [(BUCKET_S, lo, hi)]
    ranges = [(BUCKET_S, lo, first_day), (DAY_S, first_day, end_day), (BUCKET_S, end_day, hi)]
    return [(grain, first, end) for grain, first, end in ranges if first < end]


def signed_span_ranges(window: Window) -> list[tuple[int, int, int, int]]:
    """``(grain, first, end, sign)`` bucket ranges of a two-grain rollup whose signed sum is ``window``.

    For rollups with many keys (flow: every lead-in screen × store, 6,000 at the bench's mall; the
    showings and claims of every proof-of-play pair, 18,000), where the ragged ends of
    :func:`span_ranges` cost up to a day of quarter hours *per key* each. Here the window's last
    UTC day is its daily row less the quarter hours after the window, which are the future and
    normally hold nothing, so today costs one row per key; the first day is read by
    quarter hour, or as its daily row less the quarter hours before the window, whichever covers
    fewer (at most half a day). Sums over these ranges are exact for integer counts only: shares
    (floats) would keep rounding residues and extremes (first and last showing) cannot be taken
    back, so the coupon cell rollups and a proof-of-play row keep :func:`span_ranges`.
    """
    lo, hi = window.first_bucket, window.end_bucket
    ranges = []
    day = lo // DAY_S * DAY_S
    if lo > day and day + DAY_S <= hi and day + DAY_S - lo <= lo - day:
        ranges.append((BUCKET_S, lo, day + DAY_S, 1))
        day += DAY_S
    elif lo > day:
        ranges.append((BUCKET_S, day, lo, -1))
    end_day = math.ceil(hi / DAY_S) * DAY_S
    if end_day > day:
        ranges.append((DAY_S, day, end_day, 1))
    if hi < end_day:
        ranges.append((BUCKET_S, hi, end_day, -1))
    return ranges


def spanning(grain: ColumnElement[Any], bucket: ColumnElement[Any], window: Window) -> ColumnElement[bool]:
    """The rows of a two-grain rollup that sum to ``window`` (:func:`span_ranges`).

    Flat ranges on ``(grain, bucket)``, so both databases answer each from the index.
    """
    return or_(*(and_(grain == g, bucket >= first, bucket < end) for g, first, end in span_ranges(window)))


# -- store audience ---------------------------------------------------------------------------


def _slice(name: str, counts: Counter[str], k: int) -> schema.AudienceSlice:
    cells, hidden = [], 0
    for gender in HEAT_GENDERS:
        for age in HEAT_AGES:
            n = counts[f"{gender}:{age}"]
            ok = published(n, k)
            hidden += 0 if ok else n
            cells.append(
                schema.AudienceCell(
                    cell=f"{gender}:{age}", gender=gender, age=age, visits=n if ok else None, suppressed=not ok
                )
            )
    total = sum(counts.values())
    total_ok = published(total, k) and (hidden == 0 or published(hidden, k))
    return schema.AudienceSlice(
        daypart=name,
        total=total if total_ok else None,
        published_visits=total - hidden,
        suppressed=not published(total, k),
        cells=cells,
    )


def store_audience(session: Session, store_id: str, window: Window) -> schema.StoreAudience:
    """A store's visitors as gender × age grids, over the whole day and per daypart."""
    r = table(VisitRollup).c
    local_hour = ((r.bucket + window.offset_s) % DAY_S) // 3600
    query = (
        select(local_hour, r.cell, func.sum(r.visits))
        .where(r.store_id == store_id, *in_window(r.bucket, window))
        .group_by(local_hour, r.cell)
    )
    by_daypart: dict[str, Counter[str]] = {d: Counter() for d in DAYPARTS}
    for hour, cell, visits in session.execute(query):
        by_daypart[daypart(int(hour))][cell] += int(visits)
    all_day = sum(by_daypart.values(), Counter())
    whole = _slice("all", all_day, window.k)
    return schema.StoreAudience(
        store_id=store_id,
        window=window.public(),
        genders=list(HEAT_GENDERS),
        age_buckets=list(HEAT_AGES),
        suppressed=whole.suppressed,
        all_day=whole,
        dayparts=[_slice(d, by_daypart[d], window.k) for d in DAYPARTS],
    )


# -- mall traffic and screen → store flow -------------------------------------------------------


def mall_traffic(session: Session, window: Window) -> schema.MallTraffic:
    """Store visits across the mall per local hour of day and per local day."""
    r = table(TrafficRollup).c
    by_hour: Counter[int] = Counter()
    by_day: Counter[date] = Counter()
    for bucket, visits in session.execute(select(r.bucket, r.visits).where(*in_window(r.bucket, window))):
        local = window.local_bucket(bucket)
        by_hour[local.hour] += visits
        by_day[local.date()] += visits
    k, total = window.k, sum(by_hour.values())
    return schema.MallTraffic(
        window=window.public(),
        total=total if published(total, k) else None,
        by_hour=[
            schema.HourTraffic(
                hour=h, visits=by_hour[h] if published(by_hour[h], k) else None, suppressed=not published(by_hour[h], k)
            )
            for h in range(24)
        ],
        by_day=[
            schema.DayTraffic(
                date=d, visits=by_day[d] if published(by_day[d], k) else None, suppressed=not published(by_day[d], k)
            )
            for d in window.days()
        ],
    )


def coupon_stores(session: Session) -> dict[str, str]:
    return {cid: sid for cid, sid in session.execute(select(col(Coupon.id), col(Coupon.store_id)))}


def flow_counts(session: Session, window: Window, store_ids: frozenset[str] | None) -> list[tuple[str, str, int, int]]:
    """Exact ``(screen_id, store_id, impressions, claims)`` of every pair shown or claimed in ``window``,
    in key order. Not for publishing as is: claims are people (see :func:`screen_flow`)."""
    # One index range per part of the window, glued with UNION ALL: as one OR, SQLite merged the
    # ranges by primary key first, 4x slower at 1M events.
    r = table(FlowRollup).c
    parts = []
    for grain, first, end, sign in signed_span_ranges(window):
        shown, claimed = (r.impressions, r.claims) if sign > 0 else (-r.impressions, -r.claims)
        part = select(r.screen_id, r.store_id, shown.label("shown"), claimed.label("claimed"))
        part = part.where(r.grain == grain, r.bucket >= first, r.bucket < end)
        if store_ids is not None:
            part = part.where(r.store_id.in_(sorted(store_ids)))
        parts.append(part)
    rows = union_all(*parts).subquery()
    impressions, claims = func.sum(rows.c.shown), func.sum(rows.c.claimed)
    query = (
        select(rows.c.screen_id, rows.c.store_id, impressions, claims)
        .group_by(rows.c.screen_id, rows.c.store_id)
        # A pair whose rows all lie outside the window nets to nothing: no link, as before.
        .having(or_(impressions != 0, claims != 0))
        .order_by(rows.c.screen_id, rows.c.store_id)
    )
    return [(screen, store, int(shown), int(claimed)) for screen, store, shown, claimed in session.execute(query)]


def screen_flow(session: Session, window: Window, store_ids: frozenset[str] | None) -> schema.ScreenFlow:
    """Where lead-in screens sent people: coupons of each store shown and claimed at each screen."""
    k = window.k
    links = [
        {
            "screen_id": screen_id,
            "store_id": store_id,
            "impressions": shown,
            "claims": claimed if published(claimed, k) else None,
            "suppressed": not published(claimed, k),
        }
        for screen_id, store_id, shown, claimed in flow_counts(session, window, store_ids)
    ]
    # One validation call for every link: building 6,000 models one by one cost more than the query.
    return schema.ScreenFlow.model_validate({"window": window.public(), "links": links})


# -- screens ------------------------------------------------------------------------------------


def _showing(session: Session, counters: LiveCounters, screen_id: str, now: datetime) -> list[schema.ShowingNow]:
    """The coupons (lead-in) or items (mirror) a screen reported showing lately, newest first."""
    answer = []
    for member, ts in showing_now(counters, screen_id, now.timestamp()):
        at = datetime.fromtimestamp(ts, UTC)
        kind, _, rest = member.partition("|")
        if kind == "sku":
            store_id, _, sku = rest.partition("|")
            answer.append(schema.ShowingNow(sku=sku, store_id=store_id or None, at=at))
        else:
            coupon = session.get(Coupon, rest)
            answer.append(
                schema.ShowingNow(
                    coupon_id=rest,
                    at=at,
                    store_id=coupon.store_id if coupon else None,
                    title=coupon.title if coupon else None,
                )
            )
    return answer


def screens_overview(
    session: Session, counters: LiveCounters, now: datetime, window_s: float, stale_after: timedelta
) -> list[schema.ScreenStatus]:
    answer = []
    for screen in session.execute(select(Screen).order_by(col(Screen.id))).scalars():
        last = as_utc(screen.last_seen) if screen.last_seen else None
        faces, crowd = screen_crowd(counters, screen.id, now, window_s)
        answer.append(
            schema.ScreenStatus(
                id=screen.id,
                kind=screen.kind,
                store_id=screen.store_id,
                zone=screen.zone,
                last_seen=last,
                stale=last is None or now - last > stale_after,
                faces=faces,
                profile=crowd.as_dict(),
                showing=_showing(session, counters, screen.id, now),
            )
        )
    return answer
