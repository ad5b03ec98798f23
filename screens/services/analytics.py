"""Audience, traffic, flow and screen analytics read from the event log and the live counters.

k-anonymity rule (``settings.k_anonymity``): every published count that describes people must rest
on at least ``k`` visits, otherwise it is published as ``null`` with ``suppressed: true``. A slice
total is suppressed too when the suppressed cells under it add up to between 1 and ``k - 1``
visits, because total minus published cells would then reveal them (complementary suppression).

Times are stored in UTC; dayparts, hours and days are taken in mall-local time, given as a UTC
offset in minutes by the caller.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from recsys.attributes import AGE_BUCKETS, DAYPARTS, GENDERS, UNKNOWN, cell_of, daypart
from screens.bus import LiveCounters
from screens.db.session import as_utc
from screens.db.tables import Coupon, EventRecord, Screen
from screens.schemas import analytics as schema
from screens.services.live_state import screen_crowd

HEAT_GENDERS = (*GENDERS, UNKNOWN)
HEAT_AGES = (*AGE_BUCKETS, UNKNOWN)
SHOWING_WINDOW = timedelta(minutes=5)
_LOG = EventRecord.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime
    tz_offset: timedelta
    k: int

    @classmethod
    def last_days(cls, days: int, tz_offset_min: int, k: int, now: datetime | None = None) -> Window:
        until = now or datetime.now(UTC)
        return cls(until - timedelta(days=days), until, timedelta(minutes=tz_offset_min), k)

    def local(self, ts: datetime) -> datetime:
        return as_utc(ts) + self.tz_offset

    def days(self) -> list[date]:
        first, last = self.local(self.since).date(), self.local(self.until).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def public(self) -> schema.Window:
        return schema.Window(
            since=self.since, until=self.until, k=self.k, tz_offset_min=int(self.tz_offset.total_seconds() // 60)
        )


def published(count: float, k: int) -> bool:
    return count >= k


@dataclass(frozen=True)
class LoggedEvent:
    ts: datetime
    screen_id: str | None
    store_id: str | None
    payload: dict[str, Any]


def logged_events(
    session: Session,
    types: Sequence[str],
    since: datetime,
    until: datetime,
    store_ids: Iterable[str] | None = None,
    screen_ids: Iterable[str] | None = None,
) -> Iterator[LoggedEvent]:
    """Events of ``types`` with ``since <= ts < until``, oldest first (columns only, no ORM objects)."""
    query = (
        select(_LOG.ts, _LOG.screen_id, _LOG.store_id, _LOG.payload)
        .where(_LOG.type.in_(list(types)), _LOG.ts >= since, _LOG.ts < until)
        .order_by(_LOG.ts)
    )
    if store_ids is not None:
        query = query.where(_LOG.store_id.in_(list(store_ids)))
    if screen_ids is not None:
        query = query.where(_LOG.screen_id.in_(list(screen_ids)))
    for ts, screen_id, store_id, payload in session.execute(query):
        yield LoggedEvent(as_utc(ts), screen_id, store_id, payload)


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
    by_daypart: dict[str, Counter[str]] = {d: Counter() for d in DAYPARTS}
    for event in logged_events(session, ["store_visit"], window.since, window.until, [store_id]):
        cell = cell_of(event.payload.get("gender"), event.payload.get("age"))
        by_daypart[daypart(window.local(event.ts).hour)][cell] += 1
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
    by_hour: Counter[int] = Counter()
    by_day: Counter[date] = Counter()
    for event in logged_events(session, ["store_visit"], window.since, window.until):
        local = window.local(event.ts)
        by_hour[local.hour] += 1
        by_day[local.date()] += 1
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


def screen_flow(session: Session, window: Window, store_ids: frozenset[str] | None) -> schema.ScreenFlow:
    """Where lead-in screens sent people: coupons of each store shown and claimed at each screen."""
    owner = coupon_stores(session)
    shown: Counter[tuple[str, str]] = Counter()
    claimed: Counter[tuple[str, str]] = Counter()
    for event in logged_events(session, ["coupon_impression", "coupon_claim"], window.since, window.until):
        store = owner.get(event.payload["coupon_id"])
        if event.screen_id is None or store is None or (store_ids is not None and store not in store_ids):
            continue
        (shown if event.payload["type"] == "coupon_impression" else claimed)[(event.screen_id, store)] += 1
    links = []
    for link in sorted(shown.keys() | claimed.keys()):
        ok = published(claimed[link], window.k)
        links.append(
            schema.FlowLink(
                screen_id=link[0],
                store_id=link[1],
                impressions=shown[link],
                claims=claimed[link] if ok else None,
                suppressed=not ok,
            )
        )
    return schema.ScreenFlow(window=window.public(), links=links)


# -- screens ------------------------------------------------------------------------------------


def _showing(session: Session, now: datetime) -> dict[str, list[schema.ShowingNow]]:
    """The coupons (lead-in) or items (mirror) each screen reported showing lately, newest first."""
    owner: dict[str, Coupon] = {c.id: c for c in session.execute(select(Coupon)).scalars()}
    latest: dict[str, dict[str, schema.ShowingNow]] = {}
    recent = logged_events(session, ["coupon_impression", "try_on"], now - SHOWING_WINDOW, now + timedelta(1))
    for event in recent:
        if event.screen_id is None:
            continue
        if event.payload["type"] == "try_on":
            shown = schema.ShowingNow(sku=event.payload["sku"], store_id=event.store_id, at=event.ts)
            key = f"sku:{shown.sku}"
        else:
            coupon = owner.get(event.payload["coupon_id"])
            shown = schema.ShowingNow(
                coupon_id=event.payload["coupon_id"],
                at=event.ts,
                store_id=coupon.store_id if coupon else None,
                title=coupon.title if coupon else None,
            )
            key = f"coupon:{shown.coupon_id}"
        screen = latest.setdefault(event.screen_id, {})
        screen.pop(key, None)
        screen[key] = shown
    return {sid: list(reversed(items.values())) for sid, items in latest.items()}


def screens_overview(
    session: Session, counters: LiveCounters, now: datetime, window_s: float, stale_after: timedelta
) -> list[schema.ScreenStatus]:
    showing = _showing(session, now)
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
                showing=showing.get(screen.id, []),
            )
        )
    return answer
