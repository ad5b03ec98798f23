"""The simulator's view of the demo mall: screens, SKUs and the hidden audiences shoppers come from."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from seeds.generate import PRESETS, generate_mall

_AGE_RANGES = {
    "0-12": (4, 12),
    "13-17": (13, 17),
    "18-24": (18, 24),
    "25-34": (25, 34),
    "35-44": (35, 44),
    "45-54": (45, 54),
    "55-64": (55, 64),
    "65+": (65, 85),
}
BASE_CLAIM = 0.06
"""Claim probability of the top coupon for a shopper of average taste for its store."""


@dataclass(frozen=True)
class Shopper:
    """One anonymous shopper: an attribute cell and a hidden taste for each store (1.0 = average)."""

    cell: str
    taste: Mapping[str, float]

    @property
    def gender(self) -> str:
        return self.cell.split(":")[0]

    def age(self, rng: random.Random) -> int:
        low, high = _AGE_RANGES[self.cell.split(":")[1]]
        return rng.randint(low, high)

    def face(self, rng: random.Random) -> dict[str, Any]:
        return {"gender": self.gender, "age": self.age(rng), "confidence": round(rng.uniform(0.7, 0.99), 2)}

    def visit_fields(self, rng: random.Random) -> dict[str, Any]:
        return {"gender": self.gender, "age": self.age(rng), "group": rng.choice(("solo", "solo", "pair", "family"))}

    def claim_probability(self, store_id: str, rank: int) -> float:
        """Higher for stores the shopper's cell over-visits, lower further down the list."""
        return float(min(0.8, BASE_CLAIM * float(self.taste.get(store_id, 0.0)) ** 1.5 * 0.85**rank))

    def stores_to_visit(self, rng: random.Random) -> list[str]:
        stores = list(self.taste)
        weights = [self.taste[s] ** 2 + 1e-6 for s in stores]
        chosen: list[str] = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            pick = rng.choices(stores, weights)[0]
            if pick not in chosen:
                chosen.append(pick)
        return chosen


@dataclass(frozen=True)
class SimMall:
    audience: Mapping[str, Mapping[str, float]]
    lead_in_screens: list[str]
    mirrors: Mapping[str, list[str]]
    skus: Mapping[str, list[str]]

    def draw_shopper(self, rng: random.Random) -> Shopper:
        cells, mall_mix, shoppers = self._shopper_cells
        cell = rng.choices(cells, mall_mix)[0]
        return shoppers[cell]

    @cached_property
    def _shopper_cells(self) -> tuple[list[str], list[float], dict[str, Shopper]]:
        """The cells, their mall-wide weights and one shopper per cell (a cell's taste is fixed): drawing
        thousands of shoppers for the demo's history must not redo this per shopper."""
        cells = sorted({c for mix in self.audience.values() for c in mix})
        mall_mix = [sum(mix.get(c, 0.0) for mix in self.audience.values()) for c in cells]
        shoppers = {}
        for cell in cells:
            mean = sum(mix.get(cell, 0.0) for mix in self.audience.values()) / len(self.audience)
            shoppers[cell] = Shopper(cell, {store: mix.get(cell, 0.0) / mean for store, mix in self.audience.items()})
        return cells, mall_mix, shoppers

    def busiest_mirror(self) -> str | None:
        """The mirror expecting the most try-ons: the store's expected share of visits (a shopper of
        cell ``c`` picks store ``s`` with weight taste²) split over the store's mirrors."""
        visits: dict[str, float] = dict.fromkeys(self.audience, 0.0)
        for cell in {c for mix in self.audience.values() for c in mix}:
            cell_weight = sum(mix.get(cell, 0.0) for mix in self.audience.values())
            squared = {store: mix.get(cell, 0.0) ** 2 for store, mix in self.audience.items()}
            total = sum(squared.values()) or 1.0
            for store, weight in squared.items():
                visits[store] += cell_weight * weight / total
        per_mirror = {m: visits.get(store, 0.0) / len(ms) for store, ms in self.mirrors.items() for m in ms}
        return max(sorted(per_mirror), key=per_mirror.__getitem__) if per_mirror else None

    def pick_items(self, store_id: str, rng: random.Random, n: int) -> list[str]:
        skus = self.skus.get(store_id, [])
        return rng.sample(skus, min(n, len(skus)))


def load_sim_mall(preset: str, seed: int) -> SimMall:
    """The same mall ``vitrine demo`` loads (same preset and seed), plus its hidden audiences."""
    n_stores, per_store = PRESETS[preset]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    mall = generate_mall(n_stores, per_store, seed, today)
    mirrors: dict[str, list[str]] = {}
    for screen in mall.screens:
        if screen["kind"] == "mirror":
            mirrors.setdefault(screen["store_id"], []).append(screen["id"])
    return SimMall(
        audience=mall.audience,
        lead_in_screens=[s["id"] for s in mall.screens if s["kind"] == "lead_in"],
        mirrors=mirrors,
        skus={store: [item["sku"] for item in items] for store, items in mall.catalog.items()},
    )
