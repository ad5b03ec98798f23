"""Proof of play with its audience: per lead-in screen and coupon, the showings, the crowd in front of
the screen when each was shown (faces, attention share) and the claims scanned there.

Signage players prove a spot ran; a camera beside the screen can also say who was there. A showing
is credited with the screen's latest ``audience`` event within ``crowd_window_s`` before it (the
same window as coupon analytics; an audience event with no faces says nobody was there). The
credit is given at ingest (:class:`screens.db.rollups.PlayRollup`, late crowds included), so the
report is a ``GROUP BY`` over the window's rollup rows, whatever the size of the log, and it reaches
as far back as the rollups do, not only as far as raw events are kept.

k-anonymity: faces and claims describe people and are published only at ``k`` or more (see
:mod:`screens.services.analytics`). Claims are also published elsewhere as margins — per coupon
(coupon analytics) and per screen × store (flow) — so a withheld cell could be recovered by
subtraction; :func:`suppress_complementary` hides further cells until no margin exposes one.
"""

from __future__ import annotations

import csv
import heapq
import io
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import BigInteger, Float, cast, func, or_, select, union_all
from sqlmodel import Session, col

from screens.db.rollups import PAIR_SHIFT, PlayName, PlayRollup, pair_number
from screens.db.session import plain_rows
from screens.db.tables import Coupon, Screen, table
from screens.schemas import proof_of_play as schema
from screens.services.analytics import Window, published, signed_span_ranges, span_ranges
from screens.services.rollups import EPOCH

Key = TypeVar("Key", bound=Hashable)
PAGE_MAX = 1_000  # rows one JSON page may hold; the CSV has every pair
CSV_COLUMNS = (
    "screen_id",
    "coupon_id",
    "store_id",
    "title",
    "impressions",
    "impressions_with_audience",
    "faces",
    "faces_per_impression",
    "attention_share",
    "claims",
    "claim_rate",
    "first_shown",
    "last_shown",
)


class _Play(NamedTuple):
    """One pair's sums over the window; first and last showing in UTC epoch microseconds, as the
    rollup keeps them (turned into times only for the rows a page holds: a week is 18,000 pairs)."""

    impressions: int
    with_audience: int
    faces: int
    attention_faces: int
    attentive: float
    claims: int
    first: int | None
    last: int | None


def suppress_complementary(cells: Mapping[Key, int], groups: Iterable[Iterable[Key]], k: int) -> set[Key]:
    """Cells to withhold: those under ``k``, then, in any group whose withheld cells add up to between 1
    and ``k - 1`` (its published total would reveal them), the smallest published cell.

    One pass over the groups is enough: a published cell holds ``k`` or more by itself, so once it
    is withheld every group holding it withholds at least ``k`` and can never need more.
    """
    hidden = {key for key, n in cells.items() if not published(n, k)}
    for group in groups:  # a plain loop: half the time of two comprehensions per group (6,000 groups)
        withheld, shown = 0, []
        for key in group:
            if key in hidden:
                withheld += cells[key]
            else:
                shown.append(key)
        if 0 < withheld < k and shown:
            hidden.add(min(shown, key=lambda key: (cells[key], str(key))))
    return hidden


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=int(micros))


Pair = tuple[str, str]
"""(lead-in screen, coupon)."""
_SUMMED = ("impressions", "with_audience", "faces", "attention_faces", "attentive", "claims")


class _Names(NamedTuple):
    """The numbers (:class:`PlayName`) of the lead-in screens and coupons a report covers."""

    screens: dict[int, str]
    coupons: dict[int, str]

    def keyed(self, rows: Iterable[Sequence[Any]]) -> Iterator[tuple[Pair, list[Any]]]:
        """``(pair, the other columns)`` of rows that start with a pair number, for the pairs covered
        (:func:`screens.db.rollups.pair_of` inlined: two calls a row cost ~1 µs, 18 ms a report)."""
        screens, coupons, mask = self.screens, self.coupons, (1 << PAIR_SHIFT) - 1
        for number, *rest in rows:
            screen, coupon = screens.get(number >> PAIR_SHIFT), coupons.get(number & mask)
            if screen is not None and coupon is not None:
                yield (screen, coupon), rest

    def numbers(self, pairs: Iterable[Pair]) -> list[int]:
        screens = {name: number for number, name in self.screens.items()}
        coupons = {name: number for number, name in self.coupons.items()}
        return [pair_number(screens[screen], coupons[coupon]) for screen, coupon in pairs]


def _names(session: Session, lead_ins: Iterable[str], coupons: Iterable[str]) -> _Names:
    """The numbers of these lead-in screens and coupons: a few hundred rows, where a list of wanted
    pairs tested on every rollup row cost more than the rows it would drop."""
    n = table(PlayName).c
    screens, wanted = set(lead_ins), set(coupons)
    names = _Names({}, {})
    for number, kind, name in plain_rows(session, select(n.id, n.kind, n.name)):
        if kind == "screen" and name in screens:
            names.screens[number] = name
        elif kind == "coupon" and name in wanted:
            names.coupons[number] = name
    return names


def _shown_and_claimed(session: Session, window: Window, names: _Names) -> dict[Pair, tuple[int, int]]:
    """Showings and claims in ``window`` of the pairs ``names``: what every pair needs (totals,
    order, suppression).

    Two sums, where a row takes eight: on SQLite the aggregate steps cost as much as the sort
    (docs/benchmarks.md). Whole counts can be subtracted, so the window is read as flow reads it
    (:func:`signed_span_ranges`: today as its daily row, less the empty future), about a day of
    quarter-hour rows fewer per pair. A pair that nets to nothing was not in the window.
    """
    r = table(PlayRollup).c
    parts = []
    for grain, first, end, sign in signed_span_ranges(window):
        shown, claimed = (r.impressions, r.claims) if sign > 0 else (-r.impressions, -r.claims)
        part = select(r.pair_id, shown.label("shown"), claimed.label("claimed"))
        parts.append(part.where(r.grain == grain, r.bucket >= first, r.bucket < end))
    rows = union_all(*parts).subquery().c
    shown_sum, claimed_sum = func.sum(rows.shown), func.sum(rows.claimed)
    query = (
        select(rows.pair_id, cast(shown_sum, BigInteger), cast(claimed_sum, BigInteger))
        .group_by(rows.pair_id)
        .having(or_(shown_sum != 0, claimed_sum != 0))
    )
    return {pair: (n, c) for pair, (n, c) in names.keyed(plain_rows(session, query))}


def _plays(session: Session, window: Window, names: _Names, numbers: Sequence[int] | None = None) -> dict[Pair, _Play]:
    """The window's rollup rows (:func:`span_ranges`) summed per pair, for the pairs ``names``.

    With ``numbers`` (a page's pairs), only their rows, read by key bucket by bucket: 100 pairs are
    ~10,000 primary-key lookups, where a range would scan the window's 170,000 rows.
    """
    r = table(PlayRollup).c
    columns = [r.pair_id, *(r[name] for name in (*_SUMMED, "first_shown", "last_shown"))]
    parts = []
    for grain, first, end in span_ranges(window):
        if numbers is None:
            parts.append(select(*columns).where(r.grain == grain, r.bucket >= first, r.bucket < end))
        else:
            buckets = r.bucket.in_(range(first, end, grain))
            parts.append(select(*columns).where(r.grain == grain, buckets, r.pair_id.in_(numbers)))
    rows = union_all(*parts).subquery().c
    query = select(
        rows.pair_id,
        *(cast(func.sum(rows[name]), Float if name == "attentive" else BigInteger) for name in _SUMMED),
        func.min(rows.first_shown),
        func.max(rows.last_shown),
    ).group_by(rows.pair_id)
    # the casts make the sums plain ints and floats (PostgreSQL sums bigints as numerics)
    return {pair: _Play(*amounts) for pair, amounts in names.keyed(plain_rows(session, query))}


def proof_of_play(
    session: Session,
    window: Window,
    crowd_window_s: float,
    store_ids: frozenset[str] | None = None,
    page: tuple[int, int] | None = None,
) -> schema.ProofOfPlay:
    """The (lead-in screen, coupon) pairs shown or claimed in ``window``, for the stores the caller may see:
    all of them in key order, or with ``page = (offset, limit)`` that slice of them, most shown first.

    A page is what a console draws (a mall's week is 18,000 pairs at the bench's); suppression is
    still decided over every pair, so a row reads the same on any page as in the whole report, and
    the totals cover every pair. A page reads the showings and claims of every pair, then the rest
    for its own pairs (a showing logged between the two reads can be in a row and not yet in the
    totals). ``crowd_window_s`` is the setting the rollups were credited with (changing it needs
    ``vitrine analytics rebuild``); the report states it.
    """
    coupons = {c.id: c for c in session.execute(select(Coupon)).scalars()}
    lead_ins = set(session.execute(select(col(Screen.id)).where(col(Screen.kind) == "lead_in")).scalars())
    visible = {c.id for c in coupons.values() if store_ids is None or c.store_id in store_ids}
    names = _names(session, lead_ins, visible)
    if page is None:
        plays = _plays(session, window, names)
        counts = {pair: (play.impressions, play.claims) for pair, play in plays.items()}
        chosen = sorted(plays.items())
    else:
        counts = _shown_and_claimed(session, window, names)
        keys = _most_shown(counts, *page)
        details = _plays(session, window, names, names.numbers(keys)) if keys else {}
        chosen = [(pair, details[pair]) for pair in keys if pair in details]
    report = {
        "window": window.public(),
        "crowd_window_s": crowd_window_s,
        "pairs": len(counts),
        "screens": len({screen for screen, _ in counts}),
        "impressions": sum(shown for shown, _ in counts.values()),
        "rows": _rows(chosen, _withheld(counts, coupons, window.k), coupons, window.k),
    }
    return schema.ProofOfPlay.model_validate(report)


def _withheld(counts: Mapping[Pair, tuple[int, int]], coupons: Mapping[str, Coupon], k: int) -> set[Pair]:
    """The pairs whose claims are withheld: under ``k``, or exposed by the per-coupon or per screen
    × store margins published elsewhere (:func:`suppress_complementary`)."""
    store_of = {coupon_id: coupon.store_id for coupon_id, coupon in coupons.items()}
    by_coupon: defaultdict[str, list[Pair]] = defaultdict(list)
    by_screen_store: defaultdict[tuple[str, str], list[Pair]] = defaultdict(list)
    for pair in counts:
        by_coupon[pair[1]].append(pair)
        by_screen_store[(pair[0], store_of[pair[1]])].append(pair)
    claims = {pair: claimed for pair, (_, claimed) in counts.items()}
    return suppress_complementary(claims, [*by_coupon.values(), *by_screen_store.values()], k)


def _rows(
    chosen: Iterable[tuple[Pair, _Play]], hidden: set[Pair], coupons: Mapping[str, Coupon], k: int
) -> list[dict[str, Any]]:
    """The published rows of the ``chosen`` pairs, as plain data: a mall's report is thousands of
    rows (100 screens × 180 coupons at the bench's), validated in one call with the report rather
    than built one by one."""
    rows = []
    for (screen_id, coupon_id), play in chosen:
        coupon, faces_ok, claims_ok = coupons[coupon_id], published(play.faces, k), (screen_id, coupon_id) not in hidden
        rows.append(
            {
                "screen_id": screen_id,
                "coupon_id": coupon_id,
                "store_id": coupon.store_id,
                "title": coupon.title,
                "impressions": play.impressions,
                "impressions_with_audience": play.with_audience,
                "faces": play.faces if faces_ok else None,
                "faces_per_impression": round(play.faces / play.impressions, 2)
                if faces_ok and play.impressions
                else None,
                "attention_share": round(play.attentive / play.attention_faces, 3)
                if faces_ok and published(play.attention_faces, k)
                else None,
                "claims": play.claims if claims_ok else None,
                "claim_rate": round(play.claims / play.impressions, 4) if claims_ok and play.impressions else None,
                "first_shown": _moment(play.first),
                "last_shown": _moment(play.last),
            }
        )
    return rows


def _most_shown(counts: Mapping[Pair, tuple[int, int]], offset: int, limit: int) -> list[Pair]:
    """Places ``offset`` to ``offset + limit`` of the pairs by showings (most first; ties in key
    order): only the pairs shown at least as often as the last place's are sorted."""
    if not counts:
        return []
    top = heapq.nlargest(offset + limit, (shown for shown, _ in counts.values()))[-1]
    contenders = [(pair, shown) for pair, (shown, _) in counts.items() if shown >= top]
    contenders.sort(key=lambda item: (-item[1], item[0]))
    return [pair for pair, _ in contenders[offset : offset + limit]]


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run: text starting with = + - @ (or tab / CR) gets a
    leading apostrophe (OWASP's CSV-injection advice); numbers stay numbers, nulls stay empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def proof_of_play_csv(report: schema.ProofOfPlay) -> str:
    """The report as CSV, one row per screen and coupon; withheld (below k) values are empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        values = row.model_dump()
        writer.writerow([csv_cell(values[name]) for name in CSV_COLUMNS])
    return out.getvalue()
