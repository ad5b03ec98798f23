"""Category compatibility learned from baskets, merged under the merchandiser's table.

The built-in table (:data:`recsys.mirror.catalog.DEFAULT_COMPATIBILITY`) knows "tops go with
bottoms", but nothing of a retailer's own categories ("socks", "nightwear") nor of how its shoppers
really combine them. Fitting sessions and receipts say it: for every category ``c``, the share of
sessions with a ``c`` item that also hold an ``o`` item estimates how often ``o`` completes ``c``.
A receipt counts ``purchase_weight`` times a try-on session (paying for two pieces together is
stronger evidence than trying them on together), and a pair seen in fewer than ``min_support``
sessions or receipts is left out: a handful of baskets is noise, not a rule.

Each learned row is scaled so its best partner gets 1.0, the range of the merchandiser's table.
The merchandiser's table still overrides: :func:`merge_compatibility` keeps every entry the
merchandiser wrote (a 0 switches a learned pair off) and adds the learned pairs it does not name.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from recsys.mirror.catalog import ItemKey, Purchase, TryOn
from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT

DEFAULT_MIN_SUPPORT: Final = 5
CompatibilityTable = dict[str, dict[str, float]]
"""``category → compatible category → weight in [0, 1]``, as the merchandiser and the trainer write it."""


@dataclass(frozen=True)
class LearnedCompatibility:
    """``table[c][o]`` in (0, 1] and ``support[c][o]``: sessions or receipts holding both categories."""

    table: CompatibilityTable = field(default_factory=dict)
    support: dict[str, dict[str, int]] = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"table": self.table, "support": self.support}, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> LearnedCompatibility:
        data = json.loads(Path(path).read_text())
        return cls({c: dict(r) for c, r in data["table"].items()}, {c: dict(r) for c, r in data["support"].items()})


def learn_compatibility(
    tryons: Iterable[TryOn],
    purchases: Iterable[Purchase],
    category_of: Mapping[ItemKey, str],
    purchase_weight: float = DEFAULT_PURCHASE_WEIGHT,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> LearnedCompatibility:
    """Estimate the table from logged sessions and receipts; items not in ``category_of`` are skipped."""
    baskets: list[tuple[set[str], float]] = []
    tried: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in tryons:
        category = category_of.get((event.store_id, event.sku))
        if category is not None:
            tried[(event.store_id, event.session_id)].add(category)
    baskets.extend((categories, 1.0) for categories in tried.values())
    for receipt in purchases:
        bought = {c for sku in receipt.skus if (c := category_of.get((receipt.store_id, sku))) is not None}
        baskets.append((bought, purchase_weight))
    evidence: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    support: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    mass: dict[str, float] = defaultdict(float)
    for categories, weight in baskets:
        for c in categories:
            mass[c] += weight
            for o in categories - {c}:
                evidence[c][o] += weight
                support[c][o] += 1
    table: CompatibilityTable = {}
    kept: dict[str, dict[str, int]] = {}
    for c, row in evidence.items():
        shares = {o: e / mass[c] for o, e in row.items() if support[c][o] >= min_support}
        if shares:
            best = max(shares.values())
            table[c] = {o: round(s / best, 3) for o, s in sorted(shares.items())}
            kept[c] = {o: support[c][o] for o in table[c]}
    return LearnedCompatibility(table, kept)


def merge_compatibility(
    learned: Mapping[str, Mapping[str, float]], merchandiser: Mapping[str, Mapping[str, float]]
) -> CompatibilityTable:
    """The table in force: the learned pairs, with every entry of the merchandiser's table on top."""
    merged: CompatibilityTable = {c: dict(row) for c, row in learned.items()}
    for c, row in merchandiser.items():
        merged.setdefault(c, {}).update(row)
    return merged
