"""Who visits each store: time-decayed visit counts per store × daypart × attribute cell.

Representation (also what the service keeps in Redis)
-----------------------------------------------------
An exponentially decayed count with half-life ``h`` at time ``t`` is ``c(t) = Σ_i 2^(-(t - t_i)/h)``.
Instead of rewriting every counter as time passes, we store counts *at a fixed reference time*
``t_ref``: a visit at ``t_i`` adds ``2^((t_i - t_ref)/h)`` and the decayed count at ``t`` is the stored
value times ``2^(-(t - t_ref)/h)``. Every update is then a single ``HINCRBYFLOAT`` and all counters
of a mall share one ``t_ref``. Stored values grow by a factor 2 per half-life, so the service should
:meth:`StoreAudience.rebased` (one multiply per field) when ``t - t_ref`` exceeds a few hundred
half-lives; :func:`visit_increment` says when.

Redis layout suggested by :meth:`StoreAudience.to_state`: one hash ``store_audience:{store_id}`` with
fields ``"{daypart}|{cell}"`` → float, plus ``t_ref`` and ``half_life_s`` in a meta hash.

Smoothing is hierarchical shrinkage (a Dirichlet prior of ``prior_visits`` pseudo-visits): a store's
distribution is pulled toward the mall's, and a store-daypart toward the store's, so a store with
five visits looks like the mall rather than like those five people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from recsys.attributes import CELLS, DAYPARTS, KNOWN_CELLS, UNKNOWN
from recsys.attributes import daypart as daypart_of
from recsys.profile import cell_index

DAY_S: Final = 86_400.0
DEFAULT_HALF_LIFE_S: Final = 7 * DAY_S
DEFAULT_K_ANONYMITY: Final = 20
DEFAULT_PRIOR_VISITS: Final = 30.0
MAX_REF_AGE_HALF_LIVES: Final = 500.0
DAYPART_INDEX: Final = {d: i for i, d in enumerate(DAYPARTS)}
N_CELLS: Final = len(CELLS)
N_KNOWN: Final = len(KNOWN_CELLS)


def _compatibility() -> np.ndarray:
    """``C[c, k] = 1`` when known cell ``k`` is consistent with (possibly partial) cell ``c``."""
    comp = np.zeros((N_CELLS, N_KNOWN))
    for c, cell in enumerate(CELLS):
        g, a = cell.split(":")
        for k, known in enumerate(KNOWN_CELLS):
            kg, ka = known.split(":")
            comp[c, k] = (g in (UNKNOWN, kg)) and (a in (UNKNOWN, ka))
    return comp


COMPATIBILITY: Final = _compatibility()


def visit_increment(ts: float, t_ref: float, half_life_s: float = DEFAULT_HALF_LIFE_S) -> float:
    """Amount to add to a stored counter for one visit at ``ts``: ``2^((ts - t_ref)/h)``.

    Raises ``OverflowError`` when ``t_ref`` is so old that counters should be rebased first.
    """
    exponent = (ts - t_ref) / half_life_s
    if exponent > MAX_REF_AGE_HALF_LIVES:
        raise OverflowError("t_ref is too old for these counters; rebase them (StoreAudience.rebased)")
    return float(2.0**exponent)


@dataclass(frozen=True)
class AudienceLift:
    """Per-store log over-representation of each cell versus the mall, ready for ranking.

    ``log_lift[s, c] = log P(c | store s) - log P(c | mall)`` where a partial cell such as
    ``"female:unknown"`` uses the marginal over its compatible known cells; ``"unknown:unknown"``
    is therefore always 0. ``visits`` are the decayed visit counts used for popularity.
    """

    store_ids: tuple[str, ...]
    log_lift: np.ndarray
    visits: np.ndarray

    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.store_ids)}


@dataclass(frozen=True)
class PublishedAudience:
    """What ``GET /v1/stores/{id}/audience`` may show: shares (possibly noised) and a visit count."""

    store_id: str
    visits: float
    shares: dict[str, float]
    epsilon: float | None
    daypart: str | None


class StoreAudience:
    """Decayed visit counts per store × daypart × cell, with smoothing, k-anonymity and noise."""

    def __init__(self, half_life_s: float = DEFAULT_HALF_LIFE_S, t_ref: float | None = None) -> None:
        """``t_ref`` defaults to the time of the first visit counted."""
        if half_life_s <= 0:
            raise ValueError(f"half_life_s must be positive, got {half_life_s}")
        self.half_life_s = float(half_life_s)
        self.t_ref = t_ref
        self.store_ids: list[str] = []
        self._index: dict[str, int] = {}
        self._counts = np.zeros((0, len(DAYPARTS), N_CELLS))

    def _row(self, store_id: str) -> int:
        row = self._index.get(store_id)
        if row is None:
            row = len(self.store_ids)
            self._index[store_id] = row
            self.store_ids.append(store_id)
            if row >= self._counts.shape[0]:
                grown = np.zeros((max(8, 2 * row), len(DAYPARTS), N_CELLS))
                grown[:row] = self._counts[:row]
                self._counts = grown
        return row

    def add_visit(
        self,
        store_id: str,
        ts: float,
        hour: int,
        gender: str | None,
        age: float | str | None,
        weight: float = 1.0,
    ) -> None:
        """Count one ``store_visit`` event (``hour`` is mall-local, for the daypart)."""
        dp = DAYPART_INDEX[daypart_of(hour)]
        inc = weight * visit_increment(ts, self._reference(ts), self.half_life_s)
        row = self._row(store_id)
        self._counts[row, dp, cell_index(gender, age)] += inc

    def add_visits(self, store_ids: Sequence[str], ts: np.ndarray, dayparts: np.ndarray, cells: np.ndarray) -> None:
        """Vectorised bulk load (replays, simulators): arrays of daypart and cell indices."""
        ts = np.asarray(ts, dtype=np.float64)
        if len(ts) == 0:
            return
        rows = np.array([self._row(s) for s in store_ids], dtype=np.int64)
        t_ref = self._reference(float(ts.max()))
        inc = np.exp2((ts - t_ref) / self.half_life_s)
        np.add.at(self._counts, (rows, np.asarray(dayparts), np.asarray(cells)), inc)

    def _reference(self, ts: float) -> float:
        """The current ``t_ref``, set on first use and moved forward before stored values get huge."""
        if self.t_ref is None:
            self.t_ref = ts
        elif (ts - self.t_ref) / self.half_life_s > MAX_REF_AGE_HALF_LIVES / 2:
            rebased = self.rebased(ts)
            self._counts, self.t_ref = rebased._counts, ts
        return self.t_ref

    def counts(self, now: float) -> np.ndarray:
        """Decayed counts at ``now``, shape ``(n_stores, n_dayparts, n_cells)``."""
        t_ref = now if self.t_ref is None else self.t_ref
        return np.asarray(self._counts[: len(self.store_ids)] * 2.0 ** (-(now - t_ref) / self.half_life_s))

    def _slice(self, now: float, daypart: str | None) -> np.ndarray:
        counts = self.counts(now)
        return counts.sum(axis=1) if daypart is None else counts[:, DAYPART_INDEX[daypart]]

    def visits(self, now: float, daypart: str | None = None) -> np.ndarray:
        return np.asarray(self._slice(now, daypart).sum(axis=1))

    def mall_distribution(self, now: float) -> np.ndarray:
        """Distribution over known cells across all stores; uniform before any visit."""
        known = self.counts(now)[:, :, :N_KNOWN].sum(axis=(0, 1))
        total = known.sum()
        return known / total if total > 0 else np.full(N_KNOWN, 1.0 / N_KNOWN)

    def smoothed_distribution(
        self, now: float, daypart: str | None = None, prior_visits: float = DEFAULT_PRIOR_VISITS
    ) -> np.ndarray:
        """Known-cell distribution per store, shrunk toward the mall (and, per daypart, toward the store)."""
        counts = self.counts(now)[:, :, :N_KNOWN]
        store_counts = counts.sum(axis=1)
        mall = self.mall_distribution(now)
        dist = (store_counts + prior_visits * mall) / (store_counts.sum(axis=1, keepdims=True) + prior_visits)
        if daypart is not None:
            part = counts[:, DAYPART_INDEX[daypart]]
            dist = (part + prior_visits * dist) / (part.sum(axis=1, keepdims=True) + prior_visits)
        return np.asarray(dist)

    def lift(self, now: float, daypart: str | None = None, prior_visits: float = DEFAULT_PRIOR_VISITS) -> AudienceLift:
        """Snapshot for ranking; cheap enough to recompute every few seconds, not per request."""
        dist = self.smoothed_distribution(now, daypart, prior_visits)
        mall = self.mall_distribution(now)
        floor = 1e-9
        log_lift = np.log(dist @ COMPATIBILITY.T + floor) - np.log(COMPATIBILITY @ mall + floor)
        return AudienceLift(tuple(self.store_ids), log_lift, self.visits(now))

    def publishable(
        self,
        store_id: str,
        now: float,
        k: int = DEFAULT_K_ANONYMITY,
        epsilon: float | None = None,
        rng: np.random.Generator | None = None,
        daypart: str | None = None,
    ) -> PublishedAudience | None:
        """The store's audience if its window holds at least ``k`` (decayed) visits, else ``None``.

        With ``epsilon`` each cell count gets Laplace(1/ε) noise before shares are derived: one visit
        changes one count by at most 1, so the published vector is ε-differentially private (the k gate
        itself reads true counts; it hides sparse stores, it is not part of the DP guarantee).
        """
        row = self._index.get(store_id)
        if row is None:
            return None
        counts = self._slice(now, daypart)[row]
        if counts.sum() < k:
            return None
        if epsilon is not None:
            if epsilon <= 0:
                raise ValueError(f"epsilon must be positive, got {epsilon}")
            noise_rng = rng if rng is not None else np.random.default_rng()
            counts = np.clip(counts + noise_rng.laplace(0.0, 1.0 / epsilon, counts.shape), 0.0, None)
        total = float(counts.sum())
        shares = {CELLS[i]: float(counts[i] / total) for i in np.flatnonzero(counts)} if total > 0 else {}
        return PublishedAudience(store_id, total, shares, epsilon, daypart)

    def rebased(self, new_t_ref: float) -> StoreAudience:
        """Same decayed counts expressed at a later reference time (keeps stored floats small)."""
        out = StoreAudience(self.half_life_s, new_t_ref)
        out.store_ids = list(self.store_ids)
        out._index = dict(self._index)
        old_ref = new_t_ref if self.t_ref is None else self.t_ref
        out._counts = self._counts[: len(self.store_ids)] * 2.0 ** (-(new_t_ref - old_ref) / self.half_life_s)
        return out

    def to_state(self) -> dict[str, Any]:
        """Plain-dict state: ``{"t_ref", "half_life_s", "stores": {store_id: {"daypart|cell": count}}}``."""
        stores: dict[str, dict[str, float]] = {}
        for store_id, row in self._index.items():
            d_idx, c_idx = np.nonzero(self._counts[row])
            stores[store_id] = {
                f"{DAYPARTS[d]}|{CELLS[c]}": float(self._counts[row, d, c]) for d, c in zip(d_idx, c_idx, strict=True)
            }
        return {"t_ref": self.t_ref, "half_life_s": self.half_life_s, "stores": stores}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> StoreAudience:
        t_ref = state.get("t_ref")
        out = cls(float(state["half_life_s"]), None if t_ref is None else float(t_ref))
        cell_idx = {c: i for i, c in enumerate(CELLS)}
        for store_id, fields in state["stores"].items():
            row = out._row(store_id)
            for key, value in fields.items():
                dp, cell = key.split("|", 1)
                out._counts[row, DAYPART_INDEX[dp], cell_idx[cell]] = float(value)
        return out
