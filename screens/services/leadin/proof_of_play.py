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
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import BigInteger, Float, cast, func, select, union_all
from sqlmodel import Session, col

from screens.db.rollups import PlayPair, PlayRollup
from screens.db.session import plain_rows
from screens.db.tables import Coupon, Screen, table
from screens.schemas import proof_of_play as schema
from screens.services.analytics import Window, published, span_ranges
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
    for group in groups:
        members = list(group)
        withheld = sum(cells[key] for key in members if key in hidden)
        shown = [key for key in members if key not in hidden]
        if 0 < withheld < k and shown:
            hidden.add(min(shown, key=lambda key: (cells[key], str(key))))
    return hidden


def _moment(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=int(micros))


def _plays(
    session: Session, window: Window, lead_ins: Iterable[str], coupons: Iterable[str]
) -> dict[tuple[str, str], _Play]:
    """The window's rollup rows summed per (screen, coupon), for these lead-in screens and coupons.

    SQL groups every pair of the window by number (a list of wanted pairs tested on every row cost
    more than the rows it would drop); the pairs' names, read apart, keep the wanted ones.
    """
    r = table(PlayRollup).c
    summed = ("impressions", "with_audience", "faces", "attention_faces", "attentive", "claims")
    columns = [r.pair_id, *(r[name] for name in (*summed, "first_shown", "last_shown"))]
    parts = [
        select(*columns).where(r.grain == grain, r.bucket >= first, r.bucket < end)
        for grain, first, end in span_ranges(window)
    ]
    rows = union_all(*parts).subquery().c
    query = select(
        rows.pair_id,
        *(cast(func.sum(rows[name]), Float if name == "attentive" else BigInteger) for name in summed),
        func.min(rows.first_shown),
        func.max(rows.last_shown),
    ).group_by(rows.pair_id)
    p = table(PlayPair).c
    screens, wanted = set(lead_ins), set(coupons)
    names = {
        number: (screen, coupon)
        for number, screen, coupon in plain_rows(session, select(p.id, p.screen_id, p.coupon_id))
        if screen in screens and coupon in wanted
    }
    return {  # the casts make the sums plain ints and floats (PostgreSQL sums bigints as numerics)
        names[number]: _Play(n, seen, faces, watched, attentive, claims, first, last)
        for number, n, seen, faces, watched, attentive, claims, first, last in plain_rows(session, query)
        if number in names
    }


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
    the totals cover every pair. ``crowd_window_s`` is the setting the rollups were credited with
    (changing it needs ``vitrine analytics rebuild``); the report states it.
    """
    coupons = {c.id: c for c in session.execute(select(Coupon)).scalars()}
    lead_ins = set(session.execute(select(col(Screen.id)).where(col(Screen.kind) == "lead_in")).scalars())
    visible = {c.id for c in coupons.values() if store_ids is None or c.store_id in store_ids}
    plays = _plays(session, window, lead_ins, visible)
    report = {
        "window": window.public(),
        "crowd_window_s": crowd_window_s,
        "pairs": len(plays),
        "screens": len({screen for screen, _ in plays}),
        "impressions": sum(play.impressions for play in plays.values()),
        "rows": _rows(plays, coupons, window.k, page),
    }
    return schema.ProofOfPlay.model_validate(report)


def _rows(
    plays: Mapping[tuple[str, str], _Play],
    coupons: Mapping[str, Coupon],
    k: int,
    page: tuple[int, int] | None = None,
) -> list[dict[str, Any]]:
    """The published rows (all, or the ``(offset, limit)`` page of the most shown), as plain data:
    a mall's report is thousands of rows (100 screens × 180 coupons at the bench's), validated in
    one call with the report rather than built one by one."""
    store_of = {coupon_id: coupon.store_id for coupon_id, coupon in coupons.items()}
    by_coupon: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    by_screen_store: defaultdict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key in plays:
        by_coupon[key[1]].append(key)
        by_screen_store[(key[0], store_of[key[1]])].append(key)
    claims = {key: play.claims for key, play in plays.items()}
    hidden = suppress_complementary(claims, [*by_coupon.values(), *by_screen_store.values()], k)
    chosen = sorted(plays.items()) if page is None else _most_shown(plays, *page)
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


def _most_shown(plays: Mapping[tuple[str, str], _Play], offset: int, limit: int) -> list[tuple[tuple[str, str], _Play]]:
    """Places ``offset`` to ``offset + limit`` of the pairs by impressions (most first; ties in key
    order): only the pairs shown at least as often as the last place's are sorted."""
    if not plays:
        return []
    top = heapq.nlargest(offset + limit, (play.impressions for play in plays.values()))[-1]
    contenders = [(key, play) for key, play in plays.items() if play.impressions >= top]
    contenders.sort(key=lambda item: (-item[1].impressions, item[0]))
    return contenders[offset : offset + limit]


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
