"""Inputs of coupon ranking: row dataclasses the service fills from the DB, and their columnar form.

Ranking 2,000 coupons in a few milliseconds leaves no room for per-request attribute access on 2,000
Python objects, so :class:`CouponTable` converts the rows once into numpy columns. The service
should build it when the coupon set changes and patch only the live counters
(:meth:`CouponTable.with_counters`) between requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

import numpy as np

CouponKind = Literal["percent", "amount", "gift"]
KINDS: Final = ("percent", "amount", "gift")
DEPTH_BANDS: Final = (0.10, 0.20, 0.35)
"""Upper edges of the discount-depth bands used as model features (the last band is open)."""
MAX_CACHED_JOINS: Final = 8
"""Joins kept per table family; older ones are dropped so periodic stats refreshes cannot leak."""


@dataclass(frozen=True)
class CouponCandidate:
    """One coupon as the DB and live counters know it.

    ``claims_total`` and ``impressions`` are lifetime counters (stock and Thompson sampling);
    ``claims_today`` drives the daily cap and pacing. ``None`` for ``daily_cap``/``total_stock``
    means unlimited.
    """

    coupon_id: str
    store_id: str
    title: str
    store_category: str
    kind: CouponKind
    value: float
    valid_from: datetime
    valid_to: datetime
    min_spend: float = 0.0
    daily_cap: int | None = None
    claims_today: int = 0
    total_stock: int | None = None
    claims_total: int = 0
    impressions: int = 0
    active: bool = True
    store_median_price: float = 50.0


@dataclass(frozen=True)
class StoreStats:
    """Live and historical numbers of one store; ``capacity`` is the crowd count considered full."""

    visits: float = 0.0
    claims: float = 0.0
    impressions: float = 0.0
    crowd_now: float = 0.0
    capacity: float = 30.0


@dataclass(frozen=True)
class RankedCoupon:
    """One returned coupon; ``score`` equals the sum of ``explain`` (component × weight).

    ``propensity`` is the probability with which the policy showed it (the screen logs it with the
    impression, for off-policy evaluation; :func:`recsys.leadin.rerank.slate_propensities`).
    """

    coupon_id: str
    store_id: str
    title: str
    score: float
    explain: dict[str, float]
    explored: bool = False
    propensity: float = 1.0


def discount_depth(kind: str, value: float, min_spend: float, median_price: float) -> float:
    """Discount as a fraction of what a shopper typically spends at the store, in [0, 1]."""
    if kind == "percent":
        return min(max(value / 100.0, 0.0), 1.0)
    basket = max(median_price, min_spend, 1e-6)
    return min(max(value / basket, 0.0), 1.0)


def depth_band(depth: float) -> int:
    return int(np.searchsorted(DEPTH_BANDS, depth, side="right"))


@dataclass(frozen=True)
class CouponTable:
    """Columnar view of the candidates; row ``i`` is ``candidates[i]``."""

    coupon_ids: tuple[str, ...]
    titles: tuple[str, ...]
    store_ids: tuple[str, ...]
    """Unique store ids; ``store_idx`` indexes into it."""
    store_idx: np.ndarray
    categories: tuple[str, ...]
    category_idx: np.ndarray
    kinds: tuple[str, ...]
    depth: np.ndarray
    valid_from: np.ndarray
    valid_to: np.ndarray
    daily_cap: np.ndarray
    claims_today: np.ndarray
    total_stock: np.ndarray
    claims_total: np.ndarray
    impressions: np.ndarray
    active: np.ndarray
    _joins: dict[int, tuple[object, np.ndarray]] = field(default_factory=dict, compare=False, repr=False)
    coupon_set: object = field(default_factory=object, compare=False, repr=False)
    """Identity of the coupons and their fixed columns: :meth:`with_counters` keeps it, a rebuilt
    table gets a new one, so caches of anything that does not read the counters can key on it."""

    def __len__(self) -> int:
        return len(self.coupon_ids)

    @classmethod
    def from_candidates(cls, candidates: Sequence[CouponCandidate]) -> CouponTable:
        stores: dict[str, int] = {}
        cats: dict[str, int] = {}
        store_idx = [stores.setdefault(c.store_id, len(stores)) for c in candidates]
        cat_idx = [cats.setdefault(c.store_category, len(cats)) for c in candidates]
        inf = np.inf

        def col(values: list[float]) -> np.ndarray:
            return np.asarray(values, dtype=np.float64)

        return cls(
            coupon_ids=tuple(c.coupon_id for c in candidates),
            titles=tuple(c.title for c in candidates),
            store_ids=tuple(stores),
            store_idx=np.asarray(store_idx, dtype=np.int64),
            categories=tuple(cats),
            category_idx=np.asarray(cat_idx, dtype=np.int64),
            kinds=tuple(c.kind for c in candidates),
            depth=col([discount_depth(c.kind, c.value, c.min_spend, c.store_median_price) for c in candidates]),
            valid_from=col([c.valid_from.timestamp() for c in candidates]),
            valid_to=col([c.valid_to.timestamp() for c in candidates]),
            daily_cap=col([inf if c.daily_cap is None else c.daily_cap for c in candidates]),
            claims_today=col([c.claims_today for c in candidates]),
            total_stock=col([inf if c.total_stock is None else c.total_stock for c in candidates]),
            claims_total=col([c.claims_total for c in candidates]),
            impressions=col([c.impressions for c in candidates]),
            active=np.asarray([c.active for c in candidates], dtype=bool),
        )

    def with_counters(self, claims_today: np.ndarray, claims_total: np.ndarray, impressions: np.ndarray) -> CouponTable:
        """Same coupons with fresh live counters (arrays aligned with ``coupon_ids``); joins stay cached."""
        return CouponTable(
            **{
                **{f: getattr(self, f) for f in self.__dataclass_fields__},
                "claims_today": np.asarray(claims_today, dtype=np.float64),
                "claims_total": np.asarray(claims_total, dtype=np.float64),
                "impressions": np.asarray(impressions, dtype=np.float64),
            }
        )

    def store_join(self, other_store_ids: Sequence[str], cache_key: object | None = None) -> np.ndarray:
        """Per coupon, the row of its store in another store-indexed table, or -1 if absent.

        Pass ``cache_key`` (e.g. the other table object) to reuse the join across requests.
        """
        key = id(cache_key) if cache_key is not None else None
        cached = self._joins.get(key) if key is not None else None
        if cached is not None and cached[0] is cache_key:
            return cached[1]
        where = {s: i for i, s in enumerate(other_store_ids)}
        per_store = np.asarray([where.get(s, -1) for s in self.store_ids], dtype=np.int64)
        joined = per_store[self.store_idx] if len(self.store_idx) else np.zeros(0, dtype=np.int64)
        if key is not None:
            while len(self._joins) >= MAX_CACHED_JOINS:
                self._joins.pop(next(iter(self._joins), -1), None)  # tolerant of concurrent callers
            self._joins[key] = (cache_key, joined)
        return joined

    def valid_mask(self, now_ts: float, until_ts: float | None = None) -> np.ndarray:
        """Active, within validity (from ``now_ts`` through ``until_ts`` if given), under today's cap, stock left."""
        return (
            self.active
            & (self.valid_from <= now_ts)
            & ((now_ts < self.valid_to) if until_ts is None else (until_ts <= self.valid_to))
            & (self.claims_today < self.daily_cap)
            & (self.claims_total < self.total_stock)
        )


@dataclass(frozen=True)
class StoreTable:
    """Columnar :class:`StoreStats`; build once per stats refresh, not per request."""

    store_ids: tuple[str, ...]
    visits: np.ndarray
    claims: np.ndarray
    impressions: np.ndarray
    crowd_now: np.ndarray
    capacity: np.ndarray

    @classmethod
    def from_stats(cls, stats: Mapping[str, StoreStats]) -> StoreTable:
        rows = list(stats.values())

        def col(name: str) -> np.ndarray:
            return np.asarray([getattr(r, name) for r in rows], dtype=np.float64)

        return cls(tuple(stats), col("visits"), col("claims"), col("impressions"), col("crowd_now"), col("capacity"))
