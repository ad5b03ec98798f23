"""The analytics as they were computed before issue 17: every answer aggregated from the raw log.

Kept only here, as the reference the rollup-based answers are compared with on a fixed log
(``test_rollups_match_the_raw_log.py``); production has one way, the rollups.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from recsys.attributes import DAYPARTS, cell_of, daypart
from screens.db.session import as_utc
from screens.db.tables import Coupon, EventRecord, Screen, Store
from screens.schemas import analytics as schema
from screens.schemas.proof_of_play import ProofOfPlay
from screens.services.analytics import HEAT_AGES, HEAT_GENDERS, Window, published
from screens.services.leadin.analytics import _pacing, _rate
from screens.services.leadin.proof_of_play import _Play, _rows, _withheld

_LOG = EventRecord.__table__.c  # type: ignore[attr-defined]
COUPON_EVENTS = ("coupon_impression", "coupon_claim")


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


# -- proof of play ------------------------------------------------------------------------------


@dataclass
class PlayTally:
    impressions: int = 0
    with_audience: int = 0
    faces: int = 0
    attention_faces: int = 0
    attentive: float = 0.0
    claims: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def shown(self, ts: datetime, crowd: tuple[int, float | None] | None) -> None:
        self.impressions += 1
        self.first = self.first or ts
        self.last = ts
        if crowd is None or not crowd[0]:
            return
        faces, attention = crowd
        self.with_audience += 1
        self.faces += faces
        if attention is not None:
            self.attention_faces += faces
            self.attentive += attention * faces


def _micros(ts: datetime | None) -> int | None:
    """A moment as the report's pairs keep it: UTC epoch microseconds."""
    return None if ts is None else (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def proof_of_play(
    session: Session, window: Window, crowd_window_s: float, store_ids: frozenset[str] | None = None
) -> ProofOfPlay:
    """One time-ordered pass over the raw log keeping each screen's latest crowd (an audience event
    counts at a showing of the same moment: audience sorts before coupon events)."""
    coupons = {c.id: c for c in session.execute(select(Coupon)).scalars()}
    lead_ins = list(session.execute(select(col(Screen.id)).where(col(Screen.kind) == "lead_in")).scalars())
    reach = timedelta(seconds=crowd_window_s)
    query = (
        select(_LOG.ts, _LOG.screen_id, _LOG.payload)
        .where(
            _LOG.type.in_(("audience", *COUPON_EVENTS)),
            _LOG.ts >= window.since - reach,
            _LOG.ts < window.until,
            _LOG.screen_id.in_(lead_ins),
        )
        .order_by(_LOG.ts, _LOG.type, _LOG.event_id)
    )
    crowd: dict[str, tuple[datetime, int, float | None]] = {}
    plays: defaultdict[tuple[str, str], PlayTally] = defaultdict(PlayTally)
    for ts, screen, payload in session.execute(query):
        ts = as_utc(ts)
        if payload["type"] == "audience":
            crowd[screen] = (ts, len(payload.get("faces") or ()), payload.get("attention"))
            continue
        coupon = coupons.get(payload["coupon_id"])
        if ts < window.since or coupon is None or (store_ids is not None and coupon.store_id not in store_ids):
            continue
        play = plays[(screen, coupon.id)]
        if payload["type"] == "coupon_claim":
            play.claims += 1
            continue
        seen = crowd.get(screen)
        play.shown(ts, seen[1:] if seen and ts - seen[0] <= reach else None)
    frozen = {
        key: _Play(**{**vars(tally), "first": _micros(tally.first), "last": _micros(tally.last)})
        for key, tally in plays.items()
    }
    counts = {key: (play.impressions, play.claims) for key, play in frozen.items()}
    report = {
        "window": window.public(),
        "crowd_window_s": crowd_window_s,
        "pairs": len(frozen),
        "screens": len({screen for screen, _ in frozen}),
        "impressions": sum(tally.impressions for tally in plays.values()),
        "rows": _rows(sorted(frozen.items()), _withheld(counts, coupons, window.k), coupons, window.k),
    }
    return ProofOfPlay.model_validate(report)
