"""Rollups kept at ingest: every accepted event adds to the counts analytics reads.

:func:`roll_up` runs in the transaction that inserted the events, on the events the log did not
hold before (its ``ON CONFLICT DO NOTHING ... RETURNING`` answer), so a re-sent event changes
nothing and a failed transaction leaves neither the event nor its counts: exactly once across
restarts, duplicates and workers, with no consumer bookkeeping.

Coupon showings and claims are attributed to the crowd their screen saw just before (its latest
audience event with faces at most ``crowd_window_s`` earlier; each face an equal share). Cameras
and screens are different devices, so an audience event can arrive after the showings it explains;
it then moves those showings' shares from the crowd they were given to its own
(:func:`_counted_after`), and the answer is the one a read of the whole log would give.

Upserts are sorted by key so concurrent PostgreSQL transactions lock rows in the same order.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Float, Table, and_, select, text
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, SQLModel

from recsys.attributes import cell_of, daypart
from recsys.audience import visit_increment
from screens.db.rollups import (
    BUCKET_S,
    GRAINS,
    AudienceRollup,
    CouponCellRollup,
    CouponRollup,
    FlowRollup,
    TrafficRollup,
    VisitRollup,
)
from screens.db.session import as_utc
from screens.db.tables import Coupon, EventRecord, table

EPOCH_HALF_LIVES: Final = 64.0
"""Audience weights restart their reference time every 64 half-lives (stored values stay < 2^64)."""
COUPON_EVENTS: Final = ("coupon_impression", "coupon_claim")
_LOG = table(EventRecord).c


@dataclass(frozen=True)
class RollupConfig:
    """The settings rollups depend on (changing either needs ``vitrine analytics rebuild``)."""

    crowd_window_s: float
    half_life_s: float


def bucket_of(ts: datetime, grain: int = BUCKET_S) -> int:
    """The bucket of ``grain`` seconds (UTC epoch seconds of its start) holding ``ts``."""
    return math.floor(as_utc(ts).timestamp() / grain) * grain


def audience_reference(ts: float, half_life_s: float) -> int:
    """The reference time ``t_ref`` a visit at ``ts`` is weighted against.

    :mod:`recsys.audience` stores weights at a ``t_ref`` that must move forward before the values
    overflow. Moving it by rewriting every row would need a cross-worker lock, so ``t_ref`` is a
    deterministic function of time: the start of the current epoch of :data:`EPOCH_HALF_LIVES`
    half-lives. Every worker agrees without coordination; a reader sums the current and previous
    epoch (anything older has decayed by more than 2^-64).
    """
    period = EPOCH_HALF_LIVES * half_life_s
    return int(math.floor(ts / period) * period)


@dataclass
class _Deltas:
    """What one batch adds to each rollup, keyed by primary key, summed before any SQL runs."""

    traffic: defaultdict[tuple[int], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    visits: defaultdict[tuple[str, int, str], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    coupons: defaultdict[tuple[str, int, int], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    flow: defaultdict[tuple[str, str, int, int], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    cells: defaultdict[tuple[str, int, int, str], dict[str, float]] = field(default_factory=lambda: defaultdict(dict))
    audience: defaultdict[tuple[str, int, str, str], dict[str, float]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    @staticmethod
    def add(target: dict[str, float], **amounts: float) -> None:
        for name, amount in amounts.items():
            target[name] = target.get(name, 0.0) + amount


@dataclass(frozen=True)
class Crowd:
    """One audience event with faces: its id, time and one cell per face."""

    event_id: str
    ts: datetime
    cells: tuple[str, ...]


class CrowdTimeline:
    """Each screen's crowds in time order; :meth:`at` finds the one in front of it at a moment."""

    def __init__(self, crowds: Mapping[str, list[Crowd]], window: timedelta) -> None:
        self._crowds = crowds
        self._times = {screen: [c.ts for c in items] for screen, items in crowds.items()}
        self._window = window

    def at(self, screen_id: str | None, ts: datetime, skip: frozenset[str] = frozenset()) -> Crowd | None:
        """The latest crowd at or before ``ts`` within the window, ignoring the ids in ``skip``."""
        times = self._times.get(screen_id or "")
        if not times:
            return None
        i = bisect_right(times, ts) - 1
        crowds = self._crowds[screen_id or ""]
        while i >= 0 and crowds[i].event_id in skip:
            i -= 1
        if i < 0 or ts - crowds[i].ts > self._window:
            return None
        return crowds[i]


Spans = dict[str, tuple[datetime, datetime]]
"""Per screen, the first and last moment something needs its crowd."""


def _spanning(spans: Spans, column_ts: Any, margin: timedelta = timedelta(0)) -> Any:
    """One ``WHERE`` clause covering every screen's span: their screens, from the first moment to the last.

    One range and an ``IN`` list compile once (SQLAlchemy caches the statement); rows outside a
    screen's own span are dropped by the caller. Live batches cover seconds, so the range is narrow.
    """
    lo, hi = min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values())
    return and_(_LOG.screen_id.in_(sorted(spans)), column_ts >= lo - margin, column_ts <= hi)


def _widen(spans: Spans, screen_id: str, ts: datetime) -> None:
    lo, hi = spans.get(screen_id, (ts, ts))
    spans[screen_id] = (min(lo, ts), max(hi, ts))


def load_crowds(session: Session, spans: Spans, window: timedelta) -> dict[str, list[Crowd]]:
    """Audience events with faces that can explain a moment of each screen's span, oldest first."""
    crowds: dict[str, list[Crowd]] = defaultdict(list)
    if not spans:
        return crowds
    query = (
        select(_LOG.event_id, _LOG.screen_id, _LOG.ts, _LOG.payload)
        .where(_LOG.type == "audience", _spanning(spans, _LOG.ts, window))
        .order_by(_LOG.ts, _LOG.event_id)
    )
    for event_id, screen_id, ts, payload in session.execute(query):
        lo, hi = spans[screen_id]
        if payload.get("faces") and lo - window <= as_utc(ts) <= hi:
            cells = tuple(cell_of(f["gender"], f["age"]) for f in payload["faces"])
            crowds[screen_id].append(Crowd(event_id, as_utc(ts), cells))
    return crowds


def roll_up(
    session: Session,
    fresh: Sequence[Mapping[str, Any]],
    config: RollupConfig,
    *,
    reattribute: bool = True,
    audience: bool = True,
) -> None:
    """Add the newly logged events ``fresh`` (payloads with ``store_id``) to every rollup.

    ``reattribute=False`` is for rebuilds, which roll the log up in time order with every crowd
    already logged: nothing counted before can have been given the wrong crowd; ``audience=False``
    leaves the store audiences alone (see :mod:`screens.services.rebuild`).
    """
    if not fresh:
        return
    deltas = _Deltas()
    for event in fresh:
        if event["type"] == "store_visit":
            _visit(deltas, event, config.half_life_s if audience else None)
    coupon_events = [e for e in fresh if e["type"] in COUPON_EVENTS]
    new_crowds = [e for e in fresh if e["type"] == "audience" and e["faces"]] if reattribute else []
    if coupon_events or new_crowds:
        _lock_screens(session, {e["screen_id"] for e in (*coupon_events, *new_crowds) if e.get("screen_id")})
        _coupons(session, deltas, coupon_events, new_crowds, timedelta(seconds=config.crowd_window_s))
    write(session, deltas)


def _lock_screens(session: Session, screen_ids: set[str]) -> None:
    """On PostgreSQL, serialise batches that attribute at the same screens until they commit.

    Without it, a showing and the crowd that explains it, ingested at once by two workers, would
    each miss the other (neither sees the other's uncommitted row). Locks are taken in one sorted
    statement, so two batches never wait on each other in a cycle. SQLite has one writer at a time.
    """
    if not screen_ids or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(hashtext('vitrine-crowd:' || s)) "
            "FROM unnest(CAST(:screens AS text[])) AS s ORDER BY s"
        ),
        {"screens": sorted(screen_ids)},
    )


def _visit(deltas: _Deltas, event: Mapping[str, Any], half_life_s: float | None) -> None:
    when = datetime.fromisoformat(event["ts"])
    bucket, store = bucket_of(when), event.get("store_id")
    deltas.add(deltas.traffic[(bucket,)], visits=1)
    if not store:
        return
    cell = cell_of(event["gender"], event["age"])
    deltas.add(deltas.visits[(store, bucket, cell)], visits=1)
    if half_life_s is None:
        return
    ts = when.timestamp()
    t_ref = audience_reference(ts, half_life_s)
    key = (store, t_ref, daypart(as_utc(when).hour), cell)
    deltas.add(deltas.audience[key], weight=visit_increment(ts, t_ref, half_life_s))


def _coupons(
    session: Session,
    deltas: _Deltas,
    events: Sequence[Mapping[str, Any]],
    new_crowds: Sequence[Mapping[str, Any]],
    window: timedelta,
) -> None:
    fresh_ids = frozenset(str(e["event_id"]) for e in events)
    counted = _counted_after(session, new_crowds, fresh_ids, window) if new_crowds else []
    spans: Spans = {}
    for event in events:
        if event.get("screen_id"):
            _widen(spans, event["screen_id"], datetime.fromisoformat(event["ts"]))
    for screen_id, ts, _ in counted:
        _widen(spans, screen_id, ts)
    timeline = CrowdTimeline(load_crowds(session, spans, window), window)
    owners = _owners(session, {e["coupon_id"] for e in events})
    for event in events:
        ts = datetime.fromisoformat(event["ts"])
        _coupon_event(deltas, event, ts, timeline.at(event.get("screen_id"), ts), +1)
        _flow(deltas, event, ts, owners.get(event["coupon_id"]))
    skip = frozenset(str(e["event_id"]) for e in new_crowds)
    for screen_id, ts, payload in counted:
        before, now = timeline.at(screen_id, ts, skip), timeline.at(screen_id, ts)
        if before != now:  # a late crowd explains it now: move its shares
            _coupon_event(deltas, payload, ts, before, -1, counts=False)
            _coupon_event(deltas, payload, ts, now, +1, counts=False)


def _counted_after(
    session: Session, new_crowds: Sequence[Mapping[str, Any]], fresh_ids: frozenset[str], window: timedelta
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Showings and claims counted before that a newly logged crowd may explain (within its window)."""
    spans: Spans = {}
    for crowd in new_crowds:
        _widen(spans, crowd["screen_id"], datetime.fromisoformat(crowd["ts"]))
    spans = {s: (lo, hi + window) for s, (lo, hi) in spans.items()}
    query = select(_LOG.event_id, _LOG.screen_id, _LOG.ts, _LOG.payload).where(
        _LOG.type.in_(COUPON_EVENTS), _spanning(spans, _LOG.ts)
    )
    rows = [(s, as_utc(ts), p) for eid, s, ts, p in session.execute(query) if eid not in fresh_ids]
    return [(s, ts, p) for s, ts, p in rows if spans[s][0] <= ts <= spans[s][1]]


def _owners(session: Session, coupon_ids: set[str]) -> dict[str, str]:
    """The store of each coupon (flow is counted for the store that owned the coupon when shown)."""
    if not coupon_ids:
        return {}
    c = table(Coupon).c
    return {cid: store for cid, store in session.execute(select(c.id, c.store_id).where(c.id.in_(sorted(coupon_ids))))}


def _flow(deltas: _Deltas, event: Mapping[str, Any], ts: datetime, store: str | None) -> None:
    if store is None or not event.get("screen_id"):
        return
    claim = event["type"] == "coupon_claim"
    for grain in GRAINS:
        deltas.add(deltas.flow[(event["screen_id"], store, grain, bucket_of(ts, grain))], **{_KIND[claim]: 1})


_KIND: Final = {True: "claims", False: "impressions"}


def _coupon_event(
    deltas: _Deltas, event: Mapping[str, Any], ts: datetime, crowd: Crowd | None, sign: int, counts: bool = True
) -> None:
    """Add (``sign`` +1) or take back (-1) one showing or claim; ``counts=False`` moves only its crowd."""
    coupon, claim = event["coupon_id"], event["type"] == "coupon_claim"
    for grain in GRAINS:
        bucket = bucket_of(ts, grain)
        row = deltas.coupons[(coupon, grain, bucket)]
        if counts:
            explored = event.get("explored")
            if claim:
                deltas.add(row, claims=sign)
            else:
                deltas.add(row, impressions=sign, flagged=sign * (explored is not None), explored=sign * bool(explored))
        if not claim:
            deltas.add(row, unattributed=sign * (crowd is None))
        if crowd is None:
            continue
        share = sign / len(crowd.cells)
        for cell in crowd.cells:
            target = deltas.cells[(coupon, grain, bucket, cell)]
            if claim:
                deltas.add(target, claims=share)
            else:
                deltas.add(target, impressions=share, faces=sign)


_TABLES: Final[dict[str, type[SQLModel]]] = {
    "traffic": TrafficRollup,
    "visits": VisitRollup,
    "coupons": CouponRollup,
    "flow": FlowRollup,
    "cells": CouponCellRollup,
    "audience": AudienceRollup,
}


def write(session: Session, deltas: _Deltas) -> None:
    """Upsert every delta: ``column = column + excluded.column``, rows in key order.

    Each table's upsert is plain SQL made once per dialect (:func:`_upsert_sql`) and run as one
    DBAPI ``executemany`` of tuples: a batch writes about three rollup rows per event, and binding
    them through a SQLAlchemy statement (a parameter dict per row, processed cell by cell) cost as
    much as the rest of the intake together.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    for name, model in _TABLES.items():
        changes: dict[tuple[Any, ...], dict[str, float]] = getattr(deltas, name)
        if not changes:
            continue
        sql, values, integral = _upsert_sql(model, dialect)
        rows = [
            (*key, *(int(amounts.get(v, 0)) if v in integral else amounts.get(v, 0.0) for v in values))
            for key, amounts in sorted(changes.items())
        ]
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            if dialect == "postgresql":  # one statement of column arrays: one round trip, not one per row
                connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*chunk, strict=True)))
            else:
                connection.exec_driver_sql(sql, chunk)


_PG: Final = postgresql.dialect()  # type: ignore[no-untyped-call]
_UPSERTS: dict[tuple[str, str], tuple[str, tuple[str, ...], frozenset[str]]] = {}


def _upsert_sql(model: type[SQLModel], dialect: str) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """The upsert of ``model`` for ``dialect`` (positional parameters: keys, then counts), its count
    columns, and which of them are whole numbers (the deltas sum in floats).

    SQLite takes one row per parameter tuple; PostgreSQL takes one array per column, ``unnest``
    into rows (psycopg would otherwise send a statement per row).
    """
    cached = _UPSERTS.get((model.__name__, dialect))
    if cached is None:
        target: Table = table(model)
        keys = tuple(c.name for c in target.primary_key.columns)
        values = tuple(c.name for c in target.columns if c.name not in keys)
        columns = ", ".join((*keys, *values))
        if dialect == "postgresql":
            types = [target.c[name].type.compile(dialect=_PG) for name in (*keys, *values)]
            rows = "SELECT * FROM unnest(" + ", ".join(f"CAST(%s AS {t}[])" for t in types) + ")"
        else:
            rows = f"VALUES ({', '.join(['?'] * (len(keys) + len(values)))})"
        updates = ", ".join(f"{v} = {target.name}.{v} + excluded.{v}" for v in values)
        sql = f"INSERT INTO {target.name} ({columns}) {rows} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        integral = frozenset(c.name for c in target.columns if c.name in values and not isinstance(c.type, Float))
        cached = _UPSERTS[(model.__name__, dialect)] = (sql, values, integral)
    return cached
