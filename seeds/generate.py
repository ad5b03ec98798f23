"""Deterministic demo mall: stores, screens, catalogue, coupons and each store's hidden audience.

The same ``seed`` always yields byte-identical files, so a demo, a test and a benchmark that say
``seed=7`` talk about the same mall. Run ``python -m seeds.generate --help`` for the CLI.

The *audience* of a store is the latent distribution of its visitors over the 16 known
(gender, age bucket) cells of ``recsys.attributes``. It exists only for simulators (camera and
shopper simulations draw visitors from it) and for evaluation (does the recommender recover it?);
it is never uploaded to the service, which must infer crowds from cameras alone.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np

from seeds._catalog import generate_catalog
from seeds._vocab import STORE_TYPE_BY_NAME, STORE_TYPES, StoreTypeSpec

__all__ = [
    "PRESETS",
    "REFERENCE_NOW",
    "Mall",
    "generate_catalog",
    "generate_coupons",
    "generate_mall",
    "main",
]

logger = logging.getLogger(__name__)

# A fixed clock for library callers so output is reproducible; the CLI passes "today" instead so
# the coupons of a freshly started demo are valid.
REFERENCE_NOW: Final = datetime(2026, 1, 15, tzinfo=UTC)
PRESETS: Final = {"small": (6, 40), "full": (60, 350)}
ZONES: Final = ("north", "south", "east", "west", "atrium")
# Mirrors the cells of recsys.attributes (kept literal so seeds never imports recsys).
AUDIENCE_GENDERS: Final = ("female", "male")
AGE_BUCKETS: Final = ("0-12", "13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AUDIENCE_CELLS: Final = tuple(f"{g}:{a}" for g in AUDIENCE_GENDERS for a in AGE_BUCKETS)
# Per store type: (share of female visitors, relative weight of each age bucket).
_AUDIENCE_PRIOR: Final[dict[str, tuple[float, tuple[float, ...]]]] = {
    "fashion": (0.70, (0.2, 1.0, 3.0, 3.5, 2.5, 1.5, 0.8, 0.4)),
    "sports": (0.45, (0.4, 2.0, 3.0, 3.0, 2.0, 1.0, 0.5, 0.2)),
    "beauty": (0.85, (0.1, 1.2, 3.0, 3.0, 2.5, 1.8, 1.0, 0.5)),
    "kids": (0.60, (3.0, 0.6, 0.6, 3.0, 3.0, 1.0, 0.8, 0.6)),
    "electronics": (0.35, (0.3, 2.5, 3.0, 3.0, 2.2, 1.5, 0.8, 0.4)),
    "food": (0.50, (1.0, 1.5, 2.0, 2.0, 2.0, 1.8, 1.5, 1.0)),
}
_LEAD_IN_SPOTS: Final = (
    "f1-atrium",
    "f1-entrance_north",
    "f2-atrium",
    "f1-entrance_south",
    "f3-atrium",
    "f3-food_court",
    "f2-north",
    "f2-south",
)
_GIFTS: Final = ("tote bag", "travel-size gift", "drink", "keyring", "sample set")


@dataclass
class Mall:
    """One generated mall. ``audience`` is simulator-only ground truth: never upload it."""

    stores: list[dict[str, Any]]
    screens: list[dict[str, Any]]
    catalog: dict[str, list[dict[str, Any]]]
    coupons: dict[str, list[dict[str, Any]]]
    audience: dict[str, dict[str, float]]
    seed: int
    reference_time: datetime = field(default=REFERENCE_NOW)

    @property
    def n_items(self) -> int:
        return sum(len(items) for items in self.catalog.values())


def generate_mall(n_stores: int = 60, items_per_store: int = 350, seed: int = 7, now: datetime | None = None) -> Mall:
    """A whole mall; ``now`` (default :data:`REFERENCE_NOW`) anchors coupon validity windows."""
    if n_stores < 1 or items_per_store < 0:
        raise ValueError(f"need n_stores >= 1 and items_per_store >= 0, got {n_stores}, {items_per_store}")
    ref = (now or REFERENCE_NOW).astimezone(UTC)
    rng = np.random.default_rng([seed, 0])
    stores = _generate_stores(rng, n_stores)
    ids = [s["id"] for s in stores]
    items = generate_catalog(n_stores * items_per_store, ids, seed, {s["id"]: s["category"] for s in stores})
    catalog: dict[str, list[dict[str, Any]]] = {sid: [] for sid in ids}
    for item in items:
        catalog[item["store_id"]].append(item)
    return Mall(
        stores=stores,
        screens=_generate_screens(stores),
        catalog=catalog,
        coupons={s["id"]: generate_coupons(s, np.random.default_rng([seed, 1, i]), ref) for i, s in enumerate(stores)},
        audience={s["id"]: _generate_audience(rng, s["category"]) for s in stores},
        seed=seed,
        reference_time=ref,
    )


def _allocate_types(n_stores: int) -> list[StoreTypeSpec]:
    """Largest-remainder split of ``n_stores`` by mall share, so even 6 stores get variety."""
    quotas = np.array([st.share for st in STORE_TYPES]) * n_stores
    counts = np.floor(quotas).astype(int)
    for i in np.argsort(-(quotas - counts), kind="stable")[: n_stores - counts.sum()]:
        counts[i] += 1
    return [st for st, c in zip(STORE_TYPES, counts, strict=True) for _ in range(c)]


def _generate_stores(rng: np.random.Generator, n_stores: int) -> list[dict[str, Any]]:
    types = _allocate_types(n_stores)
    order = rng.permutation(n_stores)
    names_by_type: dict[str, list[str]] = {}
    for st in STORE_TYPES:
        combos = [f"{p} {s}" for p in st.name_prefixes for s in st.name_suffixes]
        names_by_type[st.name] = [combos[i] for i in rng.permutation(len(combos))]
    stores = []
    for n, pos in enumerate(order.tolist()):
        st = types[pos]
        pool = names_by_type[st.name]
        name = pool.pop() if pool else f"{st.name.title()} Store {n + 1}"
        food = st.name == "food"
        stores.append(
            {
                "id": f"s{n + 1:03d}",
                "name": name,
                "floor": 3 if food else int(rng.integers(1, 4)),
                "zone": "food_court" if food else ZONES[int(rng.integers(0, len(ZONES)))],
                "category": st.name,
            }
        )
    return stores


def _generate_screens(stores: list[dict[str, Any]]) -> list[dict[str, Any]]:
    n_lead = max(2, min(len(_LEAD_IN_SPOTS), 2 + len(stores) // 12))
    screens: list[dict[str, Any]] = [
        {"id": f"lead-{spot}", "kind": "lead_in", "store_id": None, "zone": spot.split("-", 1)[1]}
        for spot in _LEAD_IN_SPOTS[:n_lead]
    ]
    for s in stores:
        screens.append({"id": f"cam-{s['id']}", "kind": "entrance_camera", "store_id": s["id"], "zone": s["zone"]})
        for m in range(STORE_TYPE_BY_NAME[s["category"]].mirrors):
            screens.append(
                {"id": f"mirror-{s['id']}-{m + 1}", "kind": "mirror", "store_id": s["id"], "zone": s["zone"]}
            )
    return screens


def generate_coupons(store: dict[str, Any], rng: np.random.Generator, now: datetime) -> list[dict[str, Any]]:
    """2–5 coupons for one store, the first always live at ``now``; a few later ones are
    expired or switched off so the service's validity filter has something to filter."""
    coupons = []
    for j in range(int(rng.integers(2, 6))):
        kind = ("percent", "amount", "gift")[int(rng.choice(3, p=[0.5, 0.35, 0.15]))]
        min_spend = float(rng.choice([0, 30, 50, 80, 100, 150])) if kind != "gift" else float(rng.choice([50, 100]))
        if kind == "percent":
            value = float(rng.choice([10, 15, 20, 25, 30]))
            title = f"{value:.0f}% off at {store['name']}"
        elif kind == "amount":
            value = float(rng.choice([5, 10, 20, 30]))
            min_spend = max(min_spend, value * 3)
            title = f"${value:.0f} off when you spend ${min_spend:.0f}"
        else:
            value, gift = 0.0, _GIFTS[int(rng.integers(0, len(_GIFTS)))]
            title = f"Free {gift} with purchases over ${min_spend:.0f}"
        expired = j > 0 and rng.random() < 0.1
        start = now - timedelta(days=int(rng.integers(1, 15)))
        end = now - timedelta(days=1) if expired else now + timedelta(days=int(rng.integers(3, 46)))
        start = min(start, end - timedelta(days=2))
        coupons.append(
            {
                "coupon_id": f"{store['id']}-c{j + 1:02d}",
                "title": title,
                "kind": kind,
                "value": value,
                "min_spend": min_spend,
                "valid_from": start.isoformat(),
                "valid_to": end.isoformat(),
                "daily_cap": int(rng.choice([50, 100, 200, 500])),
                "total_stock": int(rng.choice([500, 1000, 5000])),
                "active": bool(j == 0 or rng.random() > 0.08),
            }
        )
    return coupons


def _generate_audience(rng: np.random.Generator, store_type: str) -> dict[str, float]:
    """Dirichlet draw around the store type's prior: similar stores differ, but believably."""
    female, ages = _AUDIENCE_PRIOR[store_type]
    age_w = np.array(ages) / sum(ages)
    prior = np.concatenate([female * age_w, (1 - female) * age_w])
    p = rng.dirichlet(40 * prior + 0.05)
    return {cell: round(float(x), 6) for cell, x in zip(AUDIENCE_CELLS, p, strict=True)}


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m seeds.generate",
        description="Write a deterministic demo mall (stores.json, screens.json, catalog/*.csv, "
        "coupons/*.csv, hidden_audience.json) to a folder. Same seed, same files.",
        epilog="Examples: --preset small --out var/mall  |  --stores 80 --items-per-store 500 --out var/big",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="full",
        help="small = 6 stores x 40 items (tests, quick demo); full = 60 x 350 (default)",
    )
    parser.add_argument("--stores", type=int, help="number of stores (overrides the preset)")
    parser.add_argument("--items-per-store", type=int, help="SKUs per store (overrides the preset)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="ISO-8601 reference time for coupon validity (default: today 00:00 UTC)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; progress goes to stderr through logging."""
    from seeds.files import write_mall

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    args = _parse_args(argv)
    n_stores, per_store = PRESETS[args.preset]
    now = args.now or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    started = time.perf_counter()
    n_stores = n_stores if args.stores is None else args.stores
    per_store = per_store if args.items_per_store is None else args.items_per_store
    mall = generate_mall(n_stores, per_store, args.seed, now)
    logger.info(
        "generated %d stores, %d screens, %d SKUs in %.1fs",
        len(mall.stores),
        len(mall.screens),
        mall.n_items,
        time.perf_counter() - started,
    )
    write_mall(mall, args.out)
    logger.info("wrote mall to %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
