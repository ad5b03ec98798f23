"""The coupons a fitting mirror shows with the tried item: its own store's, usable right now.

Usable means what it means on a lead-in screen (:meth:`recsys.leadin.table.CouponTable.valid_mask`):
active, valid now, under today's cap and with stock left. The mirror reads that from its store's own
rows and the two claim counters, so a try-on never builds the lead-in ranking snapshot.

Staleness rules (both :class:`~screens.caching.TtlCache`):

- a store's rows: :data:`ROWS_TTL_S`, dropped at once when a coupon upload for the store is announced
  (``on_coupons_change``);
- the claim counts: :data:`CLAIMS_TTL_S`, as the lead-in's live stats, dropped at once when this
  worker applies a ``coupon_claim`` (so a claimed-out coupon leaves the mirror of this worker with
  the next request; other workers follow within the TTL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from screens.bus import LiveCounters
from screens.caching import TtlCache
from screens.db.session import as_utc
from screens.db.tables import Coupon

ROWS_TTL_S: Final = 30.0
CLAIMS_TTL_S: Final = 1.0


@dataclass(frozen=True)
class UsableCoupon:
    coupon_id: str
    title: str
    kind: str
    value: float
    min_spend: float
    valid_from: datetime
    valid_to: datetime
    daily_cap: float
    total_stock: float

    def usable(self, now: datetime, claims_today: float, claims_total: float) -> bool:
        return (
            self.valid_from <= now < self.valid_to and claims_today < self.daily_cap and claims_total < self.total_stock
        )


def _usable(row: Coupon) -> UsableCoupon:
    return UsableCoupon(
        coupon_id=row.id,
        title=row.title,
        kind=row.kind,
        value=row.value,
        min_spend=row.min_spend,
        valid_from=as_utc(row.valid_from),
        valid_to=as_utc(row.valid_to),
        daily_cap=math.inf if row.daily_cap is None else row.daily_cap,
        total_stock=math.inf if row.total_stock is None else row.total_stock,
    )


class ShowableCoupons:
    """The store's coupons a shopper can use now; see the module docstring for how they go stale."""

    def __init__(self, engine: Engine, counters: LiveCounters) -> None:
        self._engine, self._counters = engine, counters
        self._rows: TtlCache[str, list[UsableCoupon]] = TtlCache(ROWS_TTL_S)
        self._claims: TtlCache[str, tuple[dict[str, float], dict[str, float]]] = TtlCache(CLAIMS_TTL_S)

    def of_store(self, store_id: str, now: datetime) -> list[UsableCoupon]:
        rows = self._rows.get_or_load(store_id, lambda: self._load(store_id, now))
        day = now.date().isoformat()
        today, total = self._claims.get_or_load(day, lambda: self._read_claims(day))
        return [c for c in rows if c.usable(now, today.get(c.coupon_id, 0.0), total.get(c.coupon_id, 0.0))]

    def _load(self, store_id: str, now: datetime) -> list[UsableCoupon]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(Coupon)
                .where(Coupon.store_id == store_id, col(Coupon.active).is_(True), col(Coupon.valid_to) > now)
                .order_by(col(Coupon.id))
            ).all()
        return [_usable(row) for row in rows]

    def _read_claims(self, day: str) -> tuple[dict[str, float], dict[str, float]]:
        today, total = self._counters.get_many([f"coupons:claims:{day}", "coupons:claims"])
        return today, total

    def coupons_changed(self, store_id: str) -> None:
        """``on_coupons_change`` listener: forget the store's rows (``"*"``: every store's)."""
        if store_id == "*":
            self._rows.clear()
        else:
            self._rows.invalidate(store_id)

    def claims_changed(self) -> None:
        """This worker applied a claim: the next request re-reads the counters."""
        self._claims.clear()
