"""Store audiences read back from their rollup, and what of them may be published.

The rollup (:class:`~screens.db.rollups.AudienceRollup`, kept at ingest) holds the
:mod:`recsys.audience` representation split by reference epoch (see
:func:`screens.services.rollups.audience_reference`); this module folds the epochs into one
:class:`~recsys.audience.StoreAudience` at a common ``t_ref`` so all the smoothing, lift and
k-anonymity logic stays in ``recsys``. Being in the database, audiences survive restarts and are
the same for every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine

from recsys.attributes import CELLS, DAYPARTS
from recsys.audience import PublishedAudience, StoreAudience
from screens.db.rollups import AudienceRollup
from screens.db.tables import table
from screens.services.rollups import EPOCH_HALF_LIVES, audience_reference

_DAYPART_INDEX: Final = {d: i for i, d in enumerate(DAYPARTS)}
_CELL_INDEX: Final = {c: j for j, c in enumerate(CELLS)}


def load_store_audience(engine: Engine, store_ids: Sequence[str], now: float, half_life_s: float) -> StoreAudience:
    """All stores' decayed counts, one query, expressed at the current epoch's ``t_ref``."""
    t_ref = audience_reference(now, half_life_s)
    oldest = t_ref - EPOCH_HALF_LIVES * half_life_s
    counts = np.zeros((len(store_ids), len(DAYPARTS), len(CELLS)))
    row_of = {s: i for i, s in enumerate(store_ids)}
    r = table(AudienceRollup).c
    query = select(r.store_id, r.t_ref, r.daypart, r.cell, r.weight).where(r.t_ref >= oldest)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for store_id, epoch, part, cell, weight in rows:
        row, d, c = row_of.get(store_id), _DAYPART_INDEX.get(part), _CELL_INDEX.get(cell)
        if row is not None and d is not None and c is not None:
            counts[row, d, c] += weight * 2.0 ** ((epoch - t_ref) / half_life_s)
    stores = {}
    for row, store_id in enumerate(store_ids):
        d_idx, c_idx = np.nonzero(counts[row])
        stores[store_id] = {
            f"{DAYPARTS[d]}|{CELLS[c]}": float(counts[row, d, c]) for d, c in zip(d_idx, c_idx, strict=True)
        }
    return StoreAudience.from_state({"t_ref": t_ref, "half_life_s": half_life_s, "stores": stores})


@dataclass
class PublishedCache:
    """Published (possibly noised) audiences of one snapshot, drawn once per store and daypart.

    Re-drawing Laplace noise on every request would let a caller average it away by asking again;
    keeping one draw per snapshot bounds how many independent releases a caller can collect.
    """

    audience: StoreAudience
    now: float
    k: int
    epsilon: float | None
    _drawn: dict[tuple[str, str | None], PublishedAudience | None] = field(default_factory=dict)

    def get(self, store_id: str, daypart: str | None) -> PublishedAudience | None:
        key = (store_id, daypart)
        if key not in self._drawn:
            self._drawn[key] = self.audience.publishable(store_id, self.now, self.k, self.epsilon, daypart=daypart)
        return self._drawn[key]
