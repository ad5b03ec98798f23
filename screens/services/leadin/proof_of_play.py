"""Proof of play with its audience: per lead-in screen and coupon, the showings, the crowd in front of
the screen when each was shown (faces, attention share) and the claims scanned there.

Signage players prove a spot ran; a camera beside the screen can also say who was there. A showing
is credited with the screen's latest ``audience`` event within ``crowd_window_s`` before it (the
same rule as :mod:`screens.services.leadin.analytics`). It reads the raw event log — counts rolled
up per hour cannot say which crowd stood before which showing — in one time-ordered pass keeping
only each screen's latest crowd, so memory stays bounded by the number of screens and the reach
back by the window (at most 92 days, and no further than raw events are kept).

k-anonymity: faces and claims describe people and are published only at ``k`` or more (see
:mod:`screens.services.analytics`). Claims are also published elsewhere as margins — per coupon
(coupon analytics) and per screen × store (flow) — so a withheld cell could be recovered by
subtraction; :func:`suppress_complementary` hides further cells until no margin exposes one.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlmodel import Session, col

from screens.db.session import as_utc
from screens.db.tables import Coupon, EventRecord, Screen
from screens.schemas import proof_of_play as schema
from screens.services.analytics import Window, published

Key = TypeVar("Key", bound=Hashable)
EVENTS = ("audience", "coupon_impression", "coupon_claim")
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


@dataclass
class _Play:
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


def suppress_complementary(cells: Mapping[Key, int], groups: Iterable[Iterable[Key]], k: int) -> set[Key]:
    """Cells to withhold: those under ``k``, then, in any group whose withheld cells add up to between 1
    and ``k - 1`` (its published total would reveal them), the smallest published cell, until none does."""
    hidden = {key for key, n in cells.items() if not published(n, k)}
    members = [list(group) for group in groups]
    changed = True
    while changed:
        changed = False
        for group in members:
            withheld = sum(cells[key] for key in group if key in hidden)
            shown = [key for key in group if key not in hidden]
            if 0 < withheld < k and shown:
                hidden.add(min(shown, key=lambda key: (cells[key], str(key))))
                changed = True
    return hidden


def _played(
    session: Session, since: datetime, until: datetime, screen_ids: list[str]
) -> Iterator[tuple[datetime, str, dict[str, Any]]]:
    """Audience, impression and claim events of ``screen_ids`` in ``[since, until)``, oldest first."""
    query = (
        select(col(EventRecord.ts), col(EventRecord.screen_id), col(EventRecord.payload))
        .where(
            col(EventRecord.type).in_(EVENTS),
            col(EventRecord.ts) >= since,
            col(EventRecord.ts) < until,
            col(EventRecord.screen_id).in_(screen_ids),
        )
        .order_by(col(EventRecord.ts))
    )
    for ts, screen_id, payload in session.execute(query.execution_options(yield_per=5000)):
        yield as_utc(ts), screen_id or "", payload


def proof_of_play(
    session: Session, window: Window, crowd_window_s: float, store_ids: frozenset[str] | None = None
) -> schema.ProofOfPlay:
    """Every (lead-in screen, coupon) pair shown or claimed in ``window``, for the stores the caller may see."""
    coupons = {c.id: c for c in session.execute(select(Coupon)).scalars()}
    lead_ins = list(session.execute(select(col(Screen.id)).where(col(Screen.kind) == "lead_in")).scalars())
    reach = timedelta(seconds=crowd_window_s)
    crowd: dict[str, tuple[datetime, int, float | None]] = {}
    plays: defaultdict[tuple[str, str], _Play] = defaultdict(_Play)
    for ts, screen, payload in _played(session, window.since - reach, window.until, lead_ins):
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
    return schema.ProofOfPlay(
        window=window.public(), crowd_window_s=crowd_window_s, rows=_rows(plays, coupons, window.k)
    )


def _rows(plays: Mapping[tuple[str, str], _Play], coupons: Mapping[str, Coupon], k: int) -> list[schema.PlayRow]:
    by_coupon: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    by_screen_store: defaultdict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for key in plays:
        by_coupon[key[1]].append(key)
        by_screen_store[(key[0], coupons[key[1]].store_id)].append(key)
    claims = {key: play.claims for key, play in plays.items()}
    hidden = suppress_complementary(claims, [*by_coupon.values(), *by_screen_store.values()], k)
    rows = []
    for (screen_id, coupon_id), play in sorted(plays.items()):
        coupon, faces_ok, claims_ok = coupons[coupon_id], published(play.faces, k), (screen_id, coupon_id) not in hidden
        rows.append(
            schema.PlayRow(
                screen_id=screen_id,
                coupon_id=coupon_id,
                store_id=coupon.store_id,
                title=coupon.title,
                impressions=play.impressions,
                impressions_with_audience=play.with_audience,
                faces=play.faces if faces_ok else None,
                faces_per_impression=round(play.faces / play.impressions, 2) if faces_ok and play.impressions else None,
                attention_share=round(play.attentive / play.attention_faces, 3)
                if faces_ok and published(play.attention_faces, k)
                else None,
                claims=play.claims if claims_ok else None,
                claim_rate=round(play.claims / play.impressions, 4) if claims_ok and play.impressions else None,
                first_shown=play.first,
                last_shown=play.last,
            )
        )
    return rows


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
