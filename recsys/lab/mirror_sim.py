"""Simulated fitting-room sessions for evaluating mirror recommendations offline.

Shoppers carry latent tastes the recommender never sees directly: a gender (which decides the
gender targets they try), an age bucket whose cohort leans to some styles, a personal style mix and
colour palette (Dirichlet draws), and a price position within each category. Each store also has
latent *looks* — outfits a merchandiser would dress a mannequin in, built around the declared
complements of the catalog — that shoppers copy. A session tries a first item chosen by taste and
item popularity, then either an alternative in the same category (close in style and colour) or a
piece completing the outfit (a look partner, or a compatible-category item matching the current
piece); at the end some of the tried items are bought, complements included.

So "similar" can be learned from content, "complementary" from looks (co-try-on) and declared
complements, and the crowd profile from the age/gender style leanings: the signals the blended
recommender combines, in proportions nobody tuned it to.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recsys.attributes import AGE_BUCKETS, cell_of
from recsys.mirror.catalog import DEFAULT_COMPATIBILITY, Purchase, StoreItem, TryOn, TryOnSession, item_from_dict


@dataclass(frozen=True)
class SimConfig:
    n_items: int = 2400
    store_types: tuple[tuple[str, str], ...] = (
        ("fashion-1", "fashion"),
        ("fashion-2", "fashion"),
        ("sports-1", "sports"),
    )
    n_train_sessions: int = 20_000
    n_test_sessions: int = 2_000
    seed: int = 1


@dataclass
class SimulatedLog:
    items: list[StoreItem]
    train: list[TryOnSession] = field(default_factory=list)
    test: list[TryOnSession] = field(default_factory=list)

    def tryons(self, sessions: Sequence[TryOnSession] | None = None) -> list[TryOn]:
        return [
            TryOn(s.session_id, s.store_id, sku, float(t))
            for s in (self.train if sessions is None else sessions)
            for t, sku in enumerate(s.skus)
        ]

    def purchases(self, sessions: Sequence[TryOnSession] | None = None) -> list[Purchase]:
        return [
            Purchase(s.session_id, s.store_id, s.purchased, 99.0)
            for s in (self.train if sessions is None else sessions)
            if s.purchased
        ]

    def profiles(self) -> dict[str, dict[str, float]]:
        return {s.session_id: s.profile for s in self.train}


class _Store:
    """Vectorised view of one store's catalog plus its latent popularity and looks."""

    def __init__(self, items: list[StoreItem], rng: np.random.Generator) -> None:
        self.items = items
        self.row = {it.sku: i for i, it in enumerate(items)}
        self.styles = sorted({s for it in items for s in it.style_tags})
        self.colours = sorted({c for it in items for c in it.colors})
        self.categories = sorted({it.category for it in items})
        self.cat = np.array([self.categories.index(it.category) for it in items])
        self.style_m = _multi_hot(items, self.styles, lambda it: it.style_tags)
        self.colour_m = _multi_hot(items, self.colours, lambda it: it.colors)
        logp = np.log(np.maximum([it.price for it in items], 0.5))
        means = np.array([logp[self.cat == c].mean() for c in range(len(self.categories))])
        self.price_z = logp - means[self.cat]
        self.gender = np.array([it.gender_target for it in items])
        self.in_stock = np.array([it.stock > 0 for it in items])
        self.log_pop = rng.normal(0.0, 1.0, len(items))
        self.looks = self._build_looks(rng)

    def _build_looks(self, rng: np.random.Generator) -> dict[int, list[int]]:
        """Each in-stock anchor gets a look: its declared complements, topped up with matching pieces."""
        looks: dict[int, list[int]] = {}
        for anchor in np.flatnonzero(self.in_stock & (rng.random(len(self.items)) < 0.6)).tolist():
            item = self.items[anchor]
            members = [self.row[s] for s in item.complements if s in self.row and self.in_stock[self.row[s]]]
            for category in DEFAULT_COMPATIBILITY.get(item.category, {}):
                if category in self.categories and rng.random() < 0.5:
                    cand = np.flatnonzero((self.cat == self.categories.index(category)) & self.in_stock)
                    if len(cand):
                        fit = (
                            self.style_m[cand] @ self.style_m[anchor]
                            + 0.5 * self.colour_m[cand] @ self.colour_m[anchor]
                        )
                        members.append(int(cand[np.argmax(fit + rng.gumbel(size=len(cand)))]))
            looks[anchor] = list(dict.fromkeys(m for m in members if self.cat[m] != self.cat[anchor]))
        return looks


def _multi_hot(items: list[StoreItem], vocab: list[str], get) -> np.ndarray:  # type: ignore[no-untyped-def]
    index = {v: i for i, v in enumerate(vocab)}
    m = np.zeros((len(items), max(len(vocab), 1)), dtype=np.float32)
    for r, it in enumerate(items):
        for v in get(it):
            m[r, index[v]] = 1.0
    norms = m.sum(axis=1, keepdims=True)
    return np.asarray(m / np.maximum(norms, 1.0))


class _Shopper:
    def __init__(self, store: _Store, rng: np.random.Generator) -> None:
        self.gender = "female" if rng.random() < 0.6 else "male"
        age = AGE_BUCKETS[int(rng.integers(2, 7))]
        self.cell = cell_of(self.gender, {"18-24": 20, "25-34": 30, "35-44": 40, "45-54": 50, "55-64": 60}[age])
        cohort = np.random.default_rng(zlib.crc32(f"{self.cell}:{len(store.styles)}".encode()))
        prior = cohort.dirichlet(np.full(len(store.styles), 0.5))
        self.style = 0.5 * prior + 0.5 * rng.dirichlet(np.full(len(store.styles), 0.4))
        self.colour = rng.dirichlet(np.full(len(store.colours), 0.4))
        self.price_z = rng.normal(0.0, 0.35)
        ok = {"female": ("women", "unisex"), "male": ("men", "unisex")}[self.gender]
        self.utility = (
            4.0 * len(store.styles) / 4 * (store.style_m @ self.style)
            + 2.0 * len(store.colours) / 6 * (store.colour_m @ self.colour)
            - 3.0 * (store.price_z - self.price_z) ** 2
            + 0.7 * store.log_pop
            + np.where(np.isin(store.gender, ok), 0.0, -6.0)
            + np.where(store.in_stock, 0.0, -np.inf)
        )

    def profile(self, rng: np.random.Generator) -> dict[str, float]:
        if rng.random() < 0.5:
            return {self.cell: 1.0}
        other = cell_of("female" if rng.random() < 0.5 else "male", float(rng.integers(18, 64)))
        return {self.cell: 0.7, other: 0.3} if other != self.cell else {self.cell: 1.0}


def _sample(scores: np.ndarray, rng: np.random.Generator, exclude: list[int]) -> int | None:
    scores = scores.copy()
    scores[exclude] = -np.inf
    if not np.isfinite(scores).any():
        return None
    return int(np.argmax(scores + rng.gumbel(size=len(scores))))


def _session(store: _Store, rng: np.random.Generator) -> tuple[list[int], list[int], dict[str, float], _Shopper]:
    shopper = _Shopper(store, rng)
    first = _sample(shopper.utility, rng, [])
    assert first is not None
    tried = [first]
    for _ in range(int(min(1 + rng.geometric(0.35), 7))):
        cur = tried[-1]
        closeness = (
            2.0 * (store.style_m @ store.style_m[cur]) * len(store.styles) / 3
            + store.colour_m @ store.colour_m[cur] * 2
        )
        look = [m for m in store.looks.get(cur, []) + store.looks.get(first, []) if m not in tried]
        u = rng.random()
        if u < 0.35:
            nxt = _sample(np.where(store.cat == store.cat[cur], shopper.utility + closeness, -np.inf), rng, tried)
        elif u < 0.7 and look:
            nxt = look[int(rng.integers(len(look)))]
        else:
            compat = DEFAULT_COMPATIBILITY.get(store.categories[store.cat[cur]], {})
            bonus = np.array([np.log(compat[c]) if c in compat else -np.inf for c in store.categories])
            nxt = _sample(shopper.utility + closeness + bonus[store.cat], rng, tried)
        if nxt is None:
            break
        tried.append(nxt)
    bought = [t for t in tried if rng.random() < (0.45 if t == tried[0] else 0.3)]
    return tried, bought, shopper.profile(rng), shopper


def simulate(config: SimConfig | None = None) -> SimulatedLog:
    """Catalog from ``seeds.generate.generate_catalog`` plus train and test sessions."""
    from seeds.generate import generate_catalog

    config = config or SimConfig()
    rng = np.random.default_rng(config.seed)
    store_ids = [s for s, _ in config.store_types]
    rows = generate_catalog(config.n_items, store_ids, config.seed, dict(config.store_types))
    items = [item_from_dict(r) for r in rows]
    stores = {s: _Store([it for it in items if it.store_id == s], rng) for s in store_ids}
    log = SimulatedLog(items)
    for n in range(config.n_train_sessions + config.n_test_sessions):
        store = stores[store_ids[int(rng.integers(len(store_ids)))]]
        tried, bought, profile, _ = _session(store, rng)
        session = TryOnSession(
            f"sim-{n}",
            store.items[0].store_id,
            tuple(store.items[t].sku for t in tried),
            tuple(store.items[b].sku for b in bought),
            profile,
        )
        (log.train if n < config.n_train_sessions else log.test).append(session)
    return log
