"""Rollups kept at ingest: every accepted event adds to the counts analytics reads.

:func:`roll_up` runs in the transaction that inserted the events, on the events the log did not
hold before (its ``ON CONFLICT DO NOTHING ... RETURNING`` answer), so a re-sent event changes
nothing and a failed transaction leaves neither the event nor its counts: exactly once across
restarts, duplicates and workers, with no consumer bookkeeping.

Coupon showings and claims are attributed to the crowd their screen saw just before (its latest
audience event with faces at most ``crowd_window_s`` earlier; each face an equal share); proof of
play credits a showing with the screen's latest audience event of any kind in that window (an empty
one says nobody was there). Cameras and screens are different devices, so an audience event can
arrive after the showings it explains; it then moves those showings from the crowd they were given
to its own (:func:`_counted_after`), and the answer is the one a read of the whole log would give.

Upserts are sorted by key so concurrent PostgreSQL transactions lock rows in the same order.
"""

from __future__ import annotations

import json
import math
import operator
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

from sqlalchemy import Connection, Float, Table, Text, and_, cast, select, text
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
    PlayName,
    PlayRollup,
    TrafficRollup,
    VisitRollup,
    pair_number,
)
from screens.db.session import as_utc
from screens.db.tables import Coupon, EventRecord, table

_cell: Final = lru_cache(maxsize=4_096)(cell_of)
""":func:`recsys.attributes.cell_of`, memoised: a batch maps the same few (gender, age) pairs thousands of times."""
EPOCH_HALF_LIVES: Final = 64.0
"""Audience weights restart their reference time every 64 half-lives (stored values stay < 2^64)."""
COUPON_EVENTS: Final = ("coupon_impression", "coupon_claim")
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
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


Amounts = list[float]
"""One rollup row's additions, in the order of its table's count columns (see :data:`_COLUMNS`)."""


@dataclass
class _Deltas:
    """What one batch adds to each rollup, keyed by primary key, summed before any SQL runs.

    Amounts are lists indexed by the ``_I_*`` positions (no keyword arguments, no name lookups):
    summing them is the intake's innermost loop, a few rows per event.
    """

    traffic: defaultdict[tuple[int], Amounts] = field(default_factory=lambda: defaultdict(lambda: [0.0]))
    visits: defaultdict[tuple[str, int, str], Amounts] = field(default_factory=lambda: defaultdict(lambda: [0.0]))
    coupons: defaultdict[tuple[str, int, int], Amounts] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0])
    )
    flow: defaultdict[tuple[str, str, int, int], Amounts] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0])
    )
    cells: defaultdict[tuple[str, int, int, str], Amounts] = field(
        default_factory=lambda: defaultdict(lambda: [0.0, 0.0, 0.0])
    )
    audience: defaultdict[tuple[str, int, str, str], Amounts] = field(
        default_factory=lambda: defaultdict(lambda: [0.0])
    )
    plays: defaultdict[tuple[int, int, str, str], Amounts] = field(
        default_factory=lambda: defaultdict(lambda: [0.0] * 6 + [math.inf, -math.inf])
    )


_COLUMNS: Final = {
    "traffic": ("visits",),
    "visits": ("visits",),
    "coupons": ("impressions", "claims", "unattributed", "flagged", "explored"),
    "flow": ("impressions", "claims"),
    "cells": ("impressions", "claims", "faces"),
    "audience": ("weight",),
    "plays": (
        "impressions",
        "with_audience",
        "faces",
        "attention_faces",
        "attentive",
        "claims",
        "first_shown",
        "last_shown",
    ),
}
"""The count columns of each rollup in the order :class:`_Deltas` keeps them (checked against the tables)."""
EXTREMES: Final = {"first_shown": "min", "last_shown": "max"}
"""Columns kept as the smallest or largest value seen, not summed (infinite in a delta: nothing seen)."""
_IMPRESSIONS, _CLAIMS, _UNATTRIBUTED, _FLAGGED, _EXPLORED = range(5)
_FACES = 2  # in a cell row: impressions, claims, faces
_P_SHOWN, _P_SEEN, _P_FACES, _P_ATTENTION_FACES, _P_ATTENTIVE, _P_CLAIMS, _P_FIRST, _P_LAST = range(8)


@dataclass(frozen=True)
class Crowd:
    """One audience event: its id, time, one cell per face (none: the camera saw nobody) and the
    share of those faces turned to the screen, where the camera reported it."""

    event_id: str
    ts: datetime
    cells: tuple[str, ...]
    attention: float | None = None


class CrowdTimeline:
    """Each screen's crowds in time order; :meth:`at` finds the one in front of it at a moment."""

    def __init__(self, crowds: Mapping[str, list[Crowd]], window: timedelta) -> None:
        """``crowds``: each screen's crowds sorted by ``(ts, event_id)``."""
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


def load_crowds(
    session: Session, spans: Spans, window: timedelta, batch: Mapping[str, list[Crowd]] | None = None
) -> dict[str, list[Crowd]]:
    """Audience events (empty ones too) that can explain a moment of each screen's span, oldest first.

    ``batch`` holds, per screen, the crowds of the events being rolled up: they are taken from
    memory, and only the logged crowds outside the batch are decoded from the log.
    """
    crowds: dict[str, list[Crowd]] = defaultdict(list)
    if not spans:
        return crowds
    batch = batch or {}
    own = {c.event_id for items in batch.values() for c in items}
    query = select(_LOG.event_id, _LOG.screen_id, _LOG.ts, cast(_LOG.payload, Text)).where(
        _LOG.type == "audience", _spanning(spans, _LOG.ts, window)
    )
    for event_id, screen_id, ts, payload in session.execute(query):
        if event_id in own:
            continue
        lo, hi = spans[screen_id]
        ts = as_utc(ts)
        if lo - window <= ts <= hi:
            crowds[screen_id].append(_crowd(event_id, ts, json.loads(payload)))
    for screen_id, items in batch.items():
        if screen_id in spans:
            lo, hi = spans[screen_id]
            crowds[screen_id] += (c for c in items if lo - window <= c.ts <= hi)
    for items in crowds.values():
        items.sort(key=lambda c: (c.ts, c.event_id))
    return crowds


def _crowd(event_id: str, ts: datetime, audience: Mapping[str, Any]) -> Crowd:
    cells = tuple(_cell(f["gender"], f["age"]) for f in audience.get("faces") or ())
    return Crowd(event_id, ts, cells, audience.get("attention"))


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
    half_life = config.half_life_s if audience else None
    coupon_events: list[tuple[Mapping[str, Any], datetime]] = []
    crowds: dict[str, list[Crowd]] = defaultdict(list)
    for event in fresh:
        kind = event["type"]
        if kind == "store_visit":
            _visit(deltas, event, half_life)
        elif kind in COUPON_EVENTS:
            coupon_events.append((event, datetime.fromisoformat(event["ts"])))
        elif kind == "audience" and event.get("screen_id"):
            crowd = _crowd(str(event["event_id"]), datetime.fromisoformat(event["ts"]), event)
            crowds[event["screen_id"]].append(crowd)
    new_crowds = crowds if reattribute else {}
    if coupon_events or new_crowds:
        _lock_screens(session, {e["screen_id"] for e, _ in coupon_events if e.get("screen_id")} | set(new_crowds))
        _coupons(session, deltas, coupon_events, crowds, new_crowds, timedelta(seconds=config.crowd_window_s))
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
    ts = as_utc(when).timestamp()
    bucket, store = math.floor(ts / BUCKET_S) * BUCKET_S, event.get("store_id")
    deltas.traffic[(bucket,)][0] += 1
    if not store:
        return
    cell = _cell(event["gender"], event["age"])
    deltas.visits[(store, bucket, cell)][0] += 1
    if half_life_s is None:
        return
    t_ref = audience_reference(ts, half_life_s)
    key = (store, t_ref, daypart(as_utc(when).hour), cell)
    deltas.audience[key][0] += visit_increment(ts, t_ref, half_life_s)


def _coupons(
    session: Session,
    deltas: _Deltas,
    events: Sequence[tuple[Mapping[str, Any], datetime]],
    batch: Mapping[str, list[Crowd]],
    new_crowds: Mapping[str, list[Crowd]],
    window: timedelta,
) -> None:
    """Count the showings and claims ``events`` and move the shares a late crowd in ``new_crowds`` explains.

    ``batch`` holds every crowd of the batch by screen (``new_crowds`` too, unless rebuilding).
    """
    fresh_ids = frozenset(str(e["event_id"]) for e, _ in events)
    counted = _counted_after(session, new_crowds, fresh_ids, window) if new_crowds else []
    spans: Spans = {}
    for event, ts in events:
        if event.get("screen_id"):
            _widen(spans, event["screen_id"], ts)
    for screen, at, _ in counted:
        _widen(spans, screen, at)
    loaded = load_crowds(session, spans, window, batch)
    everyone = CrowdTimeline(loaded, window)  # proof of play: empty crowds count
    timeline = CrowdTimeline({s: [c for c in items if c.cells] for s, items in loaded.items()}, window)
    owners = _owners(session, {e["coupon_id"] for e, _ in events})
    for event, ts in events:
        buckets, shown_at = _buckets(ts), event.get("screen_id")
        _coupon_event(deltas, event, buckets, timeline.at(shown_at, ts), +1)
        _flow(deltas, event, buckets, owners.get(event["coupon_id"]))
        if shown_at:
            _play(deltas, event, buckets, shown_at, ts, everyone.at(shown_at, ts), +1)
    skip = frozenset(c.event_id for items in new_crowds.values() for c in items)
    for screen_id, ts, payload in counted:
        before, now = timeline.at(screen_id, ts, skip), timeline.at(screen_id, ts)
        if before != now:  # a late crowd explains it now: move its shares
            buckets = _buckets(ts)
            _coupon_event(deltas, payload, buckets, before, -1, counts=False)
            _coupon_event(deltas, payload, buckets, now, +1, counts=False)
        before, now = everyone.at(screen_id, ts, skip), everyone.at(screen_id, ts)
        if before != now and payload["type"] == "coupon_impression":
            buckets = _buckets(ts)
            _play(deltas, payload, buckets, screen_id, ts, before, -1, counts=False)
            _play(deltas, payload, buckets, screen_id, ts, now, +1, counts=False)


def _buckets(ts: datetime) -> tuple[tuple[int, int], ...]:
    """``(grain, bucket)`` of ``ts`` at every grain (as :func:`bucket_of`)."""
    t = as_utc(ts).timestamp()
    return tuple((grain, math.floor(t / grain) * grain) for grain in GRAINS)


def _counted_after(
    session: Session, new_crowds: Mapping[str, list[Crowd]], fresh_ids: frozenset[str], window: timedelta
) -> list[tuple[str, datetime, dict[str, Any]]]:
    """Showings and claims counted before that a newly logged crowd may explain (within its window).

    The batch's own showings (``fresh_ids``) are skipped before their payloads are decoded.
    """
    spans: Spans = {}
    for screen_id, items in new_crowds.items():
        for crowd in items:
            _widen(spans, screen_id, crowd.ts)
    spans = {s: (lo, hi + window) for s, (lo, hi) in spans.items()}
    query = select(_LOG.event_id, _LOG.screen_id, _LOG.ts, cast(_LOG.payload, Text)).where(
        _LOG.type.in_(COUPON_EVENTS), _spanning(spans, _LOG.ts)
    )
    counted = []
    for event_id, screen_id, ts, payload in session.execute(query):
        if event_id in fresh_ids:
            continue
        ts = as_utc(ts)
        if spans[screen_id][0] <= ts <= spans[screen_id][1]:
            counted.append((screen_id, ts, json.loads(payload)))
    return counted


def _owners(session: Session, coupon_ids: set[str]) -> dict[str, str]:
    """The store of each coupon (flow is counted for the store that owned the coupon when shown)."""
    if not coupon_ids:
        return {}
    c = table(Coupon).c
    return {cid: store for cid, store in session.execute(select(c.id, c.store_id).where(c.id.in_(sorted(coupon_ids))))}


def _flow(deltas: _Deltas, event: Mapping[str, Any], buckets: tuple[tuple[int, int], ...], store: str | None) -> None:
    if store is None or not event.get("screen_id"):
        return
    kind = _CLAIMS if event["type"] == "coupon_claim" else _IMPRESSIONS
    screen = event["screen_id"]
    for grain, bucket in buckets:
        deltas.flow[(screen, store, grain, bucket)][kind] += 1


def _play(
    deltas: _Deltas,
    event: Mapping[str, Any],
    buckets: tuple[tuple[int, int], ...],
    screen_id: str,
    ts: datetime,
    crowd: Crowd | None,
    sign: int,
    counts: bool = True,
) -> None:
    """Add (+1) or take back (-1) one showing's crowd at its screen, or count a claim there;
    ``counts=False`` moves only the crowd (first and last showings never move)."""
    claim = event["type"] == "coupon_claim"
    moment = (as_utc(ts) - EPOCH) // timedelta(microseconds=1)
    faces = len(crowd.cells) if crowd is not None else 0
    for grain, bucket in buckets:
        row = deltas.plays[(grain, bucket, screen_id, event["coupon_id"])]
        if claim:
            row[_P_CLAIMS] += sign
            continue
        if counts:
            row[_P_SHOWN] += sign
            row[_P_FIRST], row[_P_LAST] = min(row[_P_FIRST], moment), max(row[_P_LAST], moment)
        if crowd is None or not faces:
            continue
        row[_P_SEEN] += sign
        row[_P_FACES] += sign * faces
        if crowd.attention is not None:
            row[_P_ATTENTION_FACES] += sign * faces
            row[_P_ATTENTIVE] += sign * crowd.attention * faces


def _coupon_event(
    deltas: _Deltas,
    event: Mapping[str, Any],
    buckets: tuple[tuple[int, int], ...],
    crowd: Crowd | None,
    sign: int,
    counts: bool = True,
) -> None:
    """Add (``sign`` +1) or take back (-1) one showing or claim; ``counts=False`` moves only its crowd."""
    coupon, claim = event["coupon_id"], event["type"] == "coupon_claim"
    explored = event.get("explored")
    for grain, bucket in buckets:
        row = deltas.coupons[(coupon, grain, bucket)]
        if counts:
            if claim:
                row[_CLAIMS] += sign
            else:
                row[_IMPRESSIONS] += sign
                row[_FLAGGED] += sign * (explored is not None)
                row[_EXPLORED] += sign * bool(explored)
        if crowd is None:
            if not claim:
                row[_UNATTRIBUTED] += sign
            continue
        share = sign / len(crowd.cells)
        for cell in crowd.cells:
            target = deltas.cells[(coupon, grain, bucket, cell)]
            if claim:
                target[_CLAIMS] += share
            else:
                target[_IMPRESSIONS] += share
                target[_FACES] += sign


_TABLES: Final[dict[str, type[SQLModel]]] = {
    "traffic": TrafficRollup,
    "visits": VisitRollup,
    "coupons": CouponRollup,
    "flow": FlowRollup,
    "cells": CouponCellRollup,
    "audience": AudienceRollup,
    "plays": PlayRollup,
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
        changes: dict[tuple[Any, ...], Amounts] = getattr(deltas, name)
        if not changes:
            continue
        if model is PlayRollup:
            changes = _by_pair_number(connection, deltas.plays)
        sql, values, integral = _upsert_sql(model, dialect)
        if values != _COLUMNS[name]:
            raise RuntimeError(f"{model.__name__}'s count columns {values} are not the deltas' {_COLUMNS[name]}")
        stored = [_extreme if v in EXTREMES else int if v in integral else float for v in values]
        rows = [(*key, *map(operator.call, stored, amounts)) for key, amounts in sorted(changes.items())]
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            if dialect == "postgresql":  # one statement of column arrays: one round trip, not one per row
                connection.exec_driver_sql(sql, tuple(list(column) for column in zip(*chunk, strict=True)))
            else:
                connection.exec_driver_sql(sql, chunk)


NAMES_PER_QUERY: Final = 500
"""Names looked up per statement: two parameters each, well under SQLite's limit."""
_NAMES: Final = table(PlayName).name


def _by_pair_number(
    connection: Connection, plays: Mapping[tuple[int, int, str, str], Amounts]
) -> dict[tuple[int, int, int], Amounts]:
    """The play deltas keyed ``(grain, bucket, pair number)`` (:func:`screens.db.rollups.pair_number`),
    numbering the screens and coupons never seen before (in the same transaction, so a rollback
    takes the numbers back too)."""
    names = sorted({("screen", screen) for _, _, screen, _ in plays} | {("coupon", coupon) for *_, coupon in plays})
    numbers = _numbers(connection, names)
    new = [name for name in names if name not in numbers]
    if new:
        _name_sql(connection, new, f"INSERT INTO {_NAMES} (kind, name) {{rows}} ON CONFLICT DO NOTHING")
        numbers.update(_numbers(connection, new))
    return {
        (grain, bucket, pair_number(numbers[("screen", screen)], numbers[("coupon", coupon)])): amounts
        for (grain, bucket, screen, coupon), amounts in plays.items()
    }


def _numbers(connection: Connection, names: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The numbers of those ``(kind, name)`` that have one: a join on the unique index (SQLite
    answers a row-value ``IN`` by scanning the whole table)."""
    query = (
        "WITH w (kind, name) AS ({rows}) SELECT n.kind, n.name, n.id FROM w"
        f" JOIN {_NAMES} n ON n.kind = w.kind AND n.name = w.name"
    )
    return {(kind, name): number for kind, name, number in _name_sql(connection, names, query)}


def _name_sql(connection: Connection, names: Sequence[tuple[str, str]], template: str) -> list[Any]:
    """Run ``template`` with ``{rows}`` standing for ``names`` as rows (a ``VALUES`` list on SQLite,
    ``unnest`` of two binary arrays on PostgreSQL), a chunk at a time; the rows it returns."""
    found: list[Any] = []
    for start in range(0, len(names), NAMES_PER_QUERY):
        chunk = names[start : start + NAMES_PER_QUERY]
        if connection.dialect.name == "postgresql":
            rows = "SELECT * FROM unnest(CAST(%b AS varchar[]), CAST(%b AS varchar[]))"
            columns = ([kind for kind, _ in chunk], [name for _, name in chunk])
            result = connection.exec_driver_sql(template.format(rows=rows), columns)
        else:
            rows = "VALUES " + ", ".join(["(?, ?)"] * len(chunk))
            result = connection.exec_driver_sql(template.format(rows=rows), tuple(v for pair in chunk for v in pair))
        if result.returns_rows:
            found.extend(result.all())
    return found


def _extreme(amount: float) -> int | None:
    """A smallest or largest moment as its column stores it: null where the delta saw none."""
    return None if math.isinf(amount) else int(amount)


_PG: Final = postgresql.dialect()  # type: ignore[no-untyped-call]
_UPSERTS: dict[tuple[str, str], tuple[str, tuple[str, ...], frozenset[str]]] = {}


def _upsert_sql(model: type[SQLModel], dialect: str) -> tuple[str, tuple[str, ...], frozenset[str]]:
    """The upsert of ``model`` for ``dialect`` (positional parameters: keys, then counts), its count
    columns, and which of them are whole numbers (the deltas sum in floats).

    SQLite takes one row per parameter tuple; PostgreSQL takes one array per column, ``unnest``
    into rows (psycopg would otherwise send a statement per row), sent in binary (``%b``: text
    arrays are escaped element by element in Python).
    """
    cached = _UPSERTS.get((model.__name__, dialect))
    if cached is None:
        target: Table = table(model)
        keys = tuple(c.name for c in target.primary_key.columns)
        values = tuple(c.name for c in target.columns if c.name not in keys)
        columns = ", ".join((*keys, *values))
        if dialect == "postgresql":
            types = [target.c[name].type.compile(dialect=_PG) for name in (*keys, *values)]
            rows = "SELECT * FROM unnest(" + ", ".join(f"CAST(%b AS {t}[])" for t in types) + ")"
        else:
            rows = f"VALUES ({', '.join(['?'] * (len(keys) + len(values)))})"
        updates = ", ".join(_update(target.name, v, dialect) for v in values)
        sql = f"INSERT INTO {target.name} ({columns}) {rows} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        integral = frozenset(c.name for c in target.columns if c.name in values and not isinstance(c.type, Float))
        cached = _UPSERTS[(model.__name__, dialect)] = (sql, values, integral)
    return cached


def _update(name: str, column: str, dialect: str) -> str:
    """``column``'s new value on conflict: the sum, or for :data:`EXTREMES` the smaller or larger of
    two (either may be null: a row of claims only has no showing time)."""
    extreme = EXTREMES.get(column)
    if extreme is None:
        return f"{column} = {name}.{column} + excluded.{column}"
    pick = {"min": "LEAST", "max": "GREATEST"}[extreme] if dialect == "postgresql" else extreme
    old, new = f"{name}.{column}", f"excluded.{column}"
    return f"{column} = {pick}(coalesce({old}, {new}), coalesce({new}, {old}))"
