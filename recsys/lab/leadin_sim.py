"""A small mall simulator for offline evaluation of lead-in coupon policies.

Ground truth the policies never see: every known attribute cell has a latent taste vector (the sum
of a gender part and an age part), every store a latent vector near its category's. Their dot
product is the cell's affinity for the store; it shapes who *visits* the store (what the
store-entrance cameras report) and how likely a shopper of that cell is to *claim* its coupon. Claims
also depend on discount depth, a per-store quality, category × group-type and category × daypart
effects, and on the crowd already in the store: a store that gets too many sends loses claims, which
is why spreading the crowd matters. A group claims at most one coupon, examining the slate from the
top with a position bias.

Screens observe groups imperfectly: some attributes come back unknown, some ages land one bucket off.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from recsys.attributes import AGE_BUCKETS, DAYPARTS, GENDERS, GROUP_TYPES, KNOWN_CELLS
from recsys.audience import StoreAudience
from recsys.leadin.model import CouponImpression, coupon_features_of
from recsys.leadin.table import CouponCandidate, CouponTable, StoreStats
from recsys.profile import CrowdProfile

CATEGORIES: Final = ("fashion", "sports", "toys", "beauty", "electronics", "food", "home", "books")
EVAL_DAY: Final = datetime(2024, 6, 14, tzinfo=UTC)
N_AGES: Final = len(AGE_BUCKETS)


@dataclass(frozen=True)
class SimConfig:
    n_stores: int = 60
    max_coupons_per_store: int = 4
    history_days: int = 14
    visits_per_day: int = 2000
    history_groups_per_day: int = 300
    eval_groups: int = 2000
    k: int = 5
    seed: int = 1


@dataclass(frozen=True)
class Group:
    """A group in front of a screen: true cells (indices into KNOWN_CELLS) and what the camera saw."""

    cells: np.ndarray
    group_type: str
    when: datetime
    profile: CrowdProfile


@dataclass
class Mall:
    """Latent world plus the coupons, store stats and logs a service would have after the history."""

    config: SimConfig
    affinity: np.ndarray  # (n_known_cells, n_stores)
    store_ids: tuple[str, ...]
    store_category: np.ndarray
    popularity: np.ndarray
    quality: np.ndarray
    group_effect: np.ndarray  # (n_categories, n_group_types)
    daypart_effect: np.ndarray  # (n_categories, n_dayparts)
    capacity: np.ndarray
    coupons: list[CouponCandidate] = field(default_factory=list)
    audience: StoreAudience = field(default_factory=StoreAudience)
    impressions: list[CouponImpression] = field(default_factory=list)
    stats: dict[str, StoreStats] = field(default_factory=dict)
    _row_cache: dict[int, tuple[CouponTable, np.ndarray]] = field(default_factory=dict, repr=False)

    @classmethod
    def generate(cls, config: SimConfig) -> Mall:
        rng = np.random.default_rng(config.seed)
        dim = 4
        taste = rng.normal(0, 0.8, (len(GENDERS), 1, dim)) + rng.normal(0, 0.8, (1, N_AGES, dim))
        taste = taste.reshape(len(KNOWN_CELLS), dim)
        category = rng.integers(0, len(CATEGORIES), config.n_stores)
        cat_vec = rng.normal(0, 0.7, (len(CATEGORIES), dim))
        store_vec = cat_vec[category] + rng.normal(0, 0.5, (config.n_stores, dim))
        popularity = rng.lognormal(0, 0.8, config.n_stores)
        mall = cls(
            config=config,
            affinity=taste @ store_vec.T,
            store_ids=tuple(f"store-{i:03d}" for i in range(config.n_stores)),
            store_category=category,
            popularity=popularity / popularity.mean(),
            quality=rng.normal(0, 0.4, config.n_stores),
            group_effect=rng.normal(0, 0.5, (len(CATEGORIES), len(GROUP_TYPES))),
            daypart_effect=rng.normal(0, 0.3, (len(CATEGORIES), len(DAYPARTS))),
            capacity=8.0 * np.sqrt(popularity / popularity.mean()) + 4.0,
        )
        mall.coupons = mall._make_coupons(rng)
        return mall

    def _make_coupons(self, rng: np.random.Generator) -> list[CouponCandidate]:
        out: list[CouponCandidate] = []
        start = EVAL_DAY - timedelta(days=self.config.history_days + 1)
        for s, store_id in enumerate(self.store_ids):
            median_price = float(rng.uniform(20, 150))
            for j in range(int(rng.integers(1, self.config.max_coupons_per_store + 1))):
                kind = str(rng.choice(["percent", "amount", "gift"], p=[0.6, 0.3, 0.1]))
                value = (
                    float(rng.integers(5, 45)) if kind == "percent" else float(rng.uniform(0.05, 0.4) * median_price)
                )
                out.append(
                    CouponCandidate(
                        coupon_id=f"{store_id}-c{j}",
                        store_id=store_id,
                        title=f"{kind} {value:.0f} at {store_id}",
                        store_category=CATEGORIES[self.store_category[s]],
                        kind=kind,  # type: ignore[arg-type]
                        value=value,
                        valid_from=start,
                        valid_to=EVAL_DAY + timedelta(days=float(rng.uniform(0.5, 30))),
                        daily_cap=int(rng.integers(3, 15)) if rng.random() < 0.5 else None,
                        total_stock=int(rng.integers(100, 1000)) if rng.random() < 0.5 else None,
                        active=bool(rng.random() < 0.95),
                        store_median_price=median_price,
                    )
                )
        return out

    def sample_group(self, rng: np.random.Generator, when: datetime) -> Group:
        group_type = str(rng.choice(GROUP_TYPES, p=[0.45, 0.35, 0.2]))
        adult_ages = np.arange(2, N_AGES)
        if group_type == "family":
            ages = np.concatenate([rng.choice(np.arange(3, 6), 2), rng.choice([0, 0, 1], rng.integers(1, 4))])
            genders = np.concatenate([[0, 1], rng.integers(0, 2, len(ages) - 2)])
        else:
            size = 1 if group_type == "solo" else 2
            ages = np.repeat(rng.choice(adult_ages), size)
            genders = rng.integers(0, 2, size)
        cells = genders * N_AGES + ages
        return Group(cells, group_type, when, self._observe(rng, genders, ages, group_type, when))

    def _observe(
        self, rng: np.random.Generator, genders: np.ndarray, ages: np.ndarray, group_type: str, when: datetime
    ) -> CrowdProfile:
        seen_age = np.clip(ages + (rng.random(len(ages)) < 0.2) * rng.choice([-1, 1], len(ages)), 0, N_AGES - 1)
        faces = [
            {
                "gender": GENDERS[g] if rng.random() < 0.95 else None,
                "age": AGE_BUCKETS[a] if rng.random() < 0.9 else None,
                "confidence": float(rng.uniform(0.5, 1.0)),
            }
            for g, a in zip(genders, seen_age, strict=True)
        ]
        payload = {"faces": faces, "group": group_type if rng.random() < 0.8 else None}
        return CrowdProfile.from_explicit(payload, when)

    def claim_probability(self, group: Group, table: CouponTable, crowd: np.ndarray) -> np.ndarray:
        """True claim probability of every coupon for this group at the top of the slate."""
        store_rows = self._store_rows(table)
        cat = self.store_category[store_rows]
        logit = (
            -4.0
            + self.affinity[group.cells].mean(axis=0)[store_rows]
            + 3.0 * np.clip(table.depth, 0, 0.5)
            + self.quality[store_rows]
            + self.group_effect[cat, GROUP_TYPES.index(group.group_type)]
            + self.daypart_effect[cat, DAYPARTS.index(group.profile.context.daypart)]
        )
        overload = np.clip(crowd[store_rows] / self.capacity[store_rows] - 1.0, 0.0, 1.0)
        return np.asarray((1.0 / (1.0 + np.exp(-logit))) * (1.0 - 0.7 * overload))

    def _store_rows(self, table: CouponTable) -> np.ndarray:
        cached = self._row_cache.get(id(table))
        if cached is None or cached[0] is not table:
            rows = np.asarray([self.store_ids.index(s) for s in table.store_ids])[table.store_idx]
            cached = self._row_cache[id(table)] = (table, rows)
        return cached[1]

    def background_crowd(self, rng: np.random.Generator) -> np.ndarray:
        """People already in each store regardless of the screens; popular stores run closer to full."""
        share = np.sqrt(self.popularity / self.popularity.max())
        return np.asarray(rng.poisson(0.7 * self.capacity * share), dtype=float)

    def simulate_history(self) -> Mall:
        """Store visits and a uniformly random logging policy's impressions and claims before EVAL_DAY."""
        cfg, rng = self.config, np.random.default_rng(self.config.seed + 1)
        start = EVAL_DAY - timedelta(days=cfg.history_days)
        n_visits = cfg.visits_per_day * cfg.history_days
        stores = rng.choice(cfg.n_stores, n_visits, p=self.popularity / self.popularity.sum())
        base = np.full(len(KNOWN_CELLS), 1.0)
        base[[0, 1, N_AGES, N_AGES + 1]] = 0.4  # fewer children and teens shop on their own
        weights = base[:, None] * np.exp(self.affinity)
        cum = np.cumsum(weights / weights.sum(axis=0), axis=0)
        cells = (rng.random(n_visits)[None, :] > cum[:, stores]).sum(axis=0)
        ts = start.timestamp() + rng.uniform(0, cfg.history_days * 86_400, n_visits)
        dayparts = rng.integers(0, len(DAYPARTS), n_visits)
        self.audience = StoreAudience()
        self.audience.add_visits([self.store_ids[s] for s in stores], ts, dayparts, cells)
        self._log_random_slates(rng, start)
        return self

    def _log_random_slates(self, rng: np.random.Generator, start: datetime) -> None:
        cfg = self.config
        table = CouponTable.from_candidates(self.coupons)
        features = coupon_features_of(table)
        claims_total = np.zeros(len(table))
        impressions = np.zeros(len(table))
        for g in range(cfg.history_days * cfg.history_groups_per_day):
            day, minute = divmod(g, cfg.history_groups_per_day)
            when = start + timedelta(days=day, hours=10 + 11 * minute / cfg.history_groups_per_day)
            group = self.sample_group(rng, when)
            valid = np.flatnonzero(table.valid_mask(when.timestamp()))
            shown = first_per_store(rng.permutation(valid), table.store_idx, cfg.k)
            p = self.claim_probability(group, table, self.background_crowd(rng))[shown]
            claimed = cascade_claim(p, rng.random(len(shown)))
            impressions[shown] += 1
            for pos, row in enumerate(shown):
                hit = pos == claimed
                claims_total[row] += hit
                self.impressions.append(CouponImpression(when.timestamp(), features[row], group.profile, hit))
        self.coupons = [
            _with_counters(c, int(claims_total[i]), int(impressions[i])) for i, c in enumerate(self.coupons)
        ]
        visits = self.audience.visits(EVAL_DAY.timestamp())
        store_claims = np.bincount(table.store_idx, weights=claims_total, minlength=len(table.store_ids))
        store_imps = np.bincount(table.store_idx, weights=impressions, minlength=len(table.store_ids))
        vis = dict(zip(self.audience.store_ids, visits, strict=True))
        self.stats = {
            s: StoreStats(
                float(vis.get(s, 0.0)),
                float(store_claims[i]),
                float(store_imps[i]),
                0.0,
                float(self.capacity[self.store_ids.index(s)]),
            )
            for i, s in enumerate(table.store_ids)
        }


def _with_counters(c: CouponCandidate, claims: int, impressions: int) -> CouponCandidate:
    return replace(c, claims_total=claims, impressions=impressions)


def first_per_store(order: np.ndarray, store_idx: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` rows of ``order`` with at most one row per store."""
    _, first = np.unique(store_idx[order], return_index=True)
    return order[np.sort(first)[:k]]


def position_bias(n: int) -> np.ndarray:
    return np.asarray(1.0 / np.sqrt(1.0 + np.arange(n)))


def cascade_claim(p_top: np.ndarray, uniforms: np.ndarray) -> int:
    """Position of the one coupon claimed (or -1): the shopper scans down and stops at a claim."""
    hits = uniforms[: len(p_top)] < p_top * position_bias(len(p_top))
    return int(np.argmax(hits)) if hits.any() else -1
