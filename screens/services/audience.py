"""Store audiences read back from the live counters, and what of them may be published.

The counters hold the :mod:`recsys.audience` representation split by reference epoch (see
:func:`screens.services.live_state.audience_reference`); this module folds the epochs into one
:class:`~recsys.audience.StoreAudience` at a common ``t_ref`` so all the smoothing, lift and
k-anonymity logic stays in ``recsys``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from recsys.attributes import CELLS, DAYPARTS
from recsys.audience import PublishedAudience, StoreAudience
from screens.bus import LiveCounters
from screens.services.live_state import EPOCH_HALF_LIVES, audience_reference

_FIELD_INDEX: Final = {f"{d}|{c}": (i, j) for i, d in enumerate(DAYPARTS) for j, c in enumerate(CELLS)}


def load_store_audience(
    counters: LiveCounters, store_ids: Sequence[str], now: float, half_life_s: float
) -> StoreAudience:
    """All stores' decayed counts, one round trip, expressed at the current epoch's ``t_ref``."""
    t_ref = audience_reference(now, half_life_s)
    oldest = t_ref - EPOCH_HALF_LIVES * half_life_s
    counts = np.zeros((len(store_ids), len(DAYPARTS), len(CELLS)))
    hashes = counters.get_many([f"store_audience:{s}" for s in store_ids])
    for row, fields in enumerate(hashes):
        for name, value in fields.items():
            epoch, _, rest = name.partition("|")
            at = _FIELD_INDEX.get(rest)
            if at is None or float(epoch) < oldest:
                continue
            counts[row, at[0], at[1]] += value * 2.0 ** ((float(epoch) - t_ref) / half_life_s)
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
