"""Vectorised catalogue generator: 200,000 believable SKUs in a couple of seconds.

Every random attribute is drawn for the whole catalogue at once with numpy and only the final
dicts are assembled in Python, because the benchmark calls this with 200k items and a per-item
``random`` loop would take most of a minute.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from seeds._vocab import (
    COLOURS,
    COMPLEMENTS,
    GENDER_TARGETS,
    STORE_TYPES,
    WOMEN_ONLY,
    CategorySpec,
)

SALE_SHARE = 0.18
OUT_OF_STOCK_SHARE = 0.07
CHINESE_NAME_SHARE = 0.12
NO_IMAGE_SHARE = 0.08
IMAGE_BASE_URL = "https://img.vitrine.example"
_DISCOUNTS = np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.40, 0.50])

_CATS: list[tuple[int, CategorySpec]] = [(t, c) for t, st in enumerate(STORE_TYPES) for c in st.categories]
_CAT_NAMES: list[str] = sorted({c.name for _, c in _CATS})
_NAME_INDEX = {name: i for i, name in enumerate(_CAT_NAMES)}
_NAME_OF_CAT = np.array([_NAME_INDEX[c.name] for _, c in _CATS])
_MAX_COMP = max(len(v) for v in COMPLEMENTS.values())
# Row per category name: complement category-name indices padded with -1, plus the row length.
_COMP_TABLE = np.full((len(_CAT_NAMES), _MAX_COMP), -1)
_COMP_LEN = np.zeros(len(_CAT_NAMES), dtype=np.int64)
for _name, _targets in COMPLEMENTS.items():
    _COMP_TABLE[_NAME_INDEX[_name], : len(_targets)] = [_NAME_INDEX[t] for t in _targets]
    _COMP_LEN[_NAME_INDEX[_name]] = len(_targets)
_COLOUR_P = np.array([w for _, _, w in COLOURS], dtype=float) / sum(w for _, _, w in COLOURS)


def default_store_type(store_id: str) -> str:
    """A stable store type for a bare store id (crc32, weighted by each type's mall share).

    Used when a caller (the SKU benchmark) passes only ids; ``generate_mall`` passes the real types.
    """
    shares = np.cumsum([st.share for st in STORE_TYPES])
    u = (zlib.crc32(store_id.encode()) % 10_000) / 10_000 * shares[-1]
    return STORE_TYPES[int(np.searchsorted(shares, u, side="right"))].name


def generate_catalog(
    n_items: int,
    store_ids: list[str],
    seed: int,
    store_types: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``n_items`` upload-ready item dicts spread evenly (contiguous blocks) over ``store_ids``.

    Each dict has exactly the upload keys plus ``store_id``. ``store_types`` maps a store id to a
    store type (fashion, sports, ...); missing ids fall back to :func:`default_store_type`.
    """
    if n_items < 0:
        raise ValueError(f"n_items must be >= 0, got {n_items}")
    if not store_ids:
        raise ValueError("store_ids is empty; pass at least one store id")
    rng = np.random.default_rng(seed)
    n_stores = len(store_ids)
    per_store = np.full(n_stores, n_items // n_stores)
    per_store[: n_items % n_stores] += 1
    store_of = np.repeat(np.arange(n_stores), per_store)
    first_of_store = np.concatenate([[0], np.cumsum(per_store)[:-1]])
    type_names = [st.name for st in STORE_TYPES]
    types = store_types or {}
    type_of_store = np.array([type_names.index(types.get(s) or default_store_type(s)) for s in store_ids])
    item_type = type_of_store[store_of]

    cat = _draw_categories(rng, item_type)
    attrs = _draw_attributes(rng, cat)
    complements = _draw_complements(rng, store_of, cat, n_stores)
    skus = [
        f"{store_ids[s].upper()}-{k:05d}"
        for s, k in zip(store_of.tolist(), (np.arange(n_items) - first_of_store[store_of]).tolist(), strict=True)
    ]
    return _assemble(store_ids, store_of, item_type, cat, attrs, complements, skus)


def _draw_categories(rng: np.random.Generator, item_type: np.ndarray) -> np.ndarray:
    cat = np.empty(item_type.size, dtype=np.int64)
    for t, st in enumerate(STORE_TYPES):
        mask = item_type == t
        gids = [g for g, (tt, _) in enumerate(_CATS) if tt == t]
        weights = np.array([st.categories[i].weight for i in range(len(gids))])
        cat[mask] = rng.choice(gids, size=int(mask.sum()), p=weights / weights.sum())
    return cat


def _draw_attributes(rng: np.random.Generator, cat: np.ndarray) -> dict[str, np.ndarray]:
    n = cat.size
    sub, gender = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    price: np.ndarray = np.zeros(n)
    coloured = np.zeros(n, dtype=bool)
    for g, (_, spec) in enumerate(_CATS):
        mask = cat == g
        m = int(mask.sum())
        sub[mask] = rng.integers(0, len(spec.subcategories), m)
        price[mask] = spec.price_median * np.exp(spec.price_sigma * rng.standard_normal(m))
        gender[mask] = rng.choice(len(GENDER_TARGETS), size=m, p=spec.gender_p)
        coloured[mask] = spec.coloured
    # Charm prices: x.99 above ten, one decimal below (a coffee is 4.5, not 4.99).
    charm = np.where(price >= 10, np.ceil(price) - 0.01, np.maximum(np.round(price, 1), 0.5))
    price = np.round(charm, 2)
    on_sale = rng.random(n) < SALE_SHARE
    sale = np.round(price * (1 - rng.choice(_DISCOUNTS, n)), 2)
    stock = rng.geometric(1 / 25, n)
    stock[rng.random(n) < OUT_OF_STOCK_SHARE] = 0
    colour2 = rng.choice(len(COLOURS), n, p=_COLOUR_P)
    return {
        "sub": sub,
        "price": price,
        "gender": gender,
        "coloured": coloured,
        "sale": np.where(on_sale, np.minimum(sale, price), np.nan),
        "stock": stock,
        "colour1": rng.choice(len(COLOURS), n, p=_COLOUR_P),
        "colour2": np.where(rng.random(n) < 0.3, colour2, -1),
        "styles": rng.random((n, 3)),
        "n_styles": rng.integers(1, 4, n),
        "adj": rng.random(n),
        "suffix": rng.random(n),
        "chinese": rng.random(n) < CHINESE_NAME_SHARE,
        "no_image": rng.random(n) < NO_IMAGE_SHARE,
    }


def _draw_complements(
    rng: np.random.Generator, store_of: np.ndarray, cat: np.ndarray, n_stores: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to three complement item indices per item (-1 = none) and a fallback category index.

    A complement is a random item of the same store whose category complements the item's; the
    lookup sorts items by (store, category) once and finds each target group by binary search.
    """
    n, n_names = cat.size, len(_CAT_NAMES)
    name = _NAME_OF_CAT[cat]
    key = store_of * n_names + name
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    n_comp = rng.choice([0, 1, 2, 3], size=n, p=[0.3, 0.3, 0.25, 0.15])
    picks = np.full((n, 3), -1)
    for j in range(3):
        slot = np.floor(rng.random(n) * np.maximum(_COMP_LEN[name], 1)).astype(np.int64)
        target = _COMP_TABLE[name, np.minimum(slot, _MAX_COMP - 1)]
        tkey = store_of * n_names + target
        lo, hi = np.searchsorted(sorted_key, tkey, "left"), np.searchsorted(sorted_key, tkey, "right")
        idx = lo + np.floor(rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
        ok = (j < n_comp) & (target >= 0) & (hi > lo)
        picks[ok, j] = order[idx[ok]]
    # Items left without a SKU complement sometimes declare a category instead.
    fallback = np.where((n_comp > 0) & (_COMP_LEN[name] > 0), _COMP_TABLE[name, 0], -1)
    return picks, fallback


def _pick(options: Sequence[str], u: float) -> str:
    return options[int(u * len(options))]


def _assemble(
    store_ids: Sequence[str],
    store_of: np.ndarray,
    item_type: np.ndarray,
    cat: np.ndarray,
    a: dict[str, np.ndarray],
    complements: tuple[np.ndarray, np.ndarray],
    skus: list[str],
) -> list[dict[str, Any]]:
    picks, fallback = (x.tolist() for x in complements)
    cols = {k: v.tolist() for k, v in a.items()}
    items: list[dict[str, Any]] = []
    for i, (s, t, g) in enumerate(zip(store_of.tolist(), item_type.tolist(), cat.tolist(), strict=True)):
        spec = _CATS[g][1]
        styles = STORE_TYPES[t].styles
        sub_en, sub_zh = spec.subcategories[cols["sub"][i]]
        colours = [cols["colour1"][i]] + ([cols["colour2"][i]] if cols["colour2"][i] >= 0 else [])
        colours = list(dict.fromkeys(colours)) if cols["coloured"][i] else []
        tags = [_pick(styles, u) for u in cols["styles"][i][: cols["n_styles"][i]]]
        if cols["chinese"][i]:
            name = (COLOURS[colours[0]][1] if colours else "经典") + sub_zh
        else:
            lead = f"{COLOURS[colours[0]][0].title()} " if colours else ""
            adj = _pick(STORE_TYPES[t].adjectives, cols["adj"][i])
            name = f"{adj} {lead}{sub_en}{_pick(STORE_TYPES[t].item_suffixes, cols['suffix'][i])}"
        comp = [skus[p] for p in picks[i] if p >= 0]
        if not comp and fallback[i] >= 0:
            comp = [_CAT_NAMES[fallback[i]]]
        sale = cols["sale"][i]
        items.append(
            {
                "store_id": store_ids[s],
                "sku": skus[i],
                "name": name,
                "category": spec.name,
                "subcategory": sub_en.lower(),
                "gender_target": "women" if sub_en in WOMEN_ONLY else GENDER_TARGETS[cols["gender"][i]],
                "colors": [COLOURS[c][0] for c in colours],
                "style_tags": list(dict.fromkeys(tags)),
                "price": cols["price"][i],
                "sale_price": None if sale != sale else sale,
                "stock": cols["stock"][i],
                "image_url": None if cols["no_image"][i] else f"{IMAGE_BASE_URL}/{store_ids[s]}/{skus[i]}.jpg",
                "complements": list(dict.fromkeys(comp)),
            }
        )
    return items
