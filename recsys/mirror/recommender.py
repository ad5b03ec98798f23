"""Fitting-mirror recommendations: the tried item's details, similar pieces, what completes the outfit.

The mirror knows the item scanned in the fitting room, the session's earlier try-ons and the
anonymous crowd profile in front of it, never who the shopper is. :class:`MirrorRecommender` answers

* **similar** — same category, same store, in stock, not the item nor an earlier try-on, ranked by
  content similarity (style, colours, price band, gender target, name) blended with co-try-on, with
  the tried piece's other variants (same name: its other colours) lifted by ``mirror_variant``;
* **complementary** — only categories *other* than the tried item's that the editable compatibility
  table (or the merchandiser, through ``complements``) allows, ranked by co-try-on/co-purchase (ALS),
  content fit in the target category and the merchandiser's declared picks;

both re-ranked by the session's earlier try-ons and the crowd profile (see :mod:`recsys.mirror.scoring`
for the blend). Catalog uploads rebuild one store's partition off the request path and swap it in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from recsys.mirror.catalog import DEFAULT_COMPATIBILITY, StoreItem, validate_compatibility
from recsys.mirror.compatibility import LearnedCompatibility, merge_compatibility
from recsys.mirror.embeddings import ContentEncoder, item_embeddings
from recsys.mirror.index import IndexConfig, IndexRegistry, StorePartition, build_partition
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import ProfileModel, ProfileShares
from recsys.mirror.scoring import (
    COMPLEMENT_REASONS,
    SIMILAR_REASONS,
    RequestSignals,
    blended_query,
    contributions,
    explain,
)
from recsys.weights import default_weights

logger = logging.getLogger(__name__)


class UnknownItemError(LookupError):
    """The store has no catalog yet, or the scanned SKU is not in it (the route answers 404)."""


@dataclass(frozen=True)
class ShelfItem:
    """One shelf entry: the item (so a page needs no second call), its score and a shopper-facing reason."""

    item: StoreItem
    score: float
    reason: str

    @property
    def sku(self) -> str:
        return self.item.sku


@dataclass(frozen=True)
class TriedItem:
    """A scanned SKU found in one published partition: later steps of the request read that same
    partition, so a catalog swapped in meanwhile cannot make the item vanish halfway."""

    part: StorePartition
    row: int

    @property
    def item(self) -> StoreItem:
        return self.part.items[self.row]


@dataclass(frozen=True)
class MirrorResult:
    """What a mirror shows for one try-on; the route turns it into its HTTP schema."""

    item: StoreItem
    similar: list[ShelfItem] = field(default_factory=list)
    complementary: list[ShelfItem] = field(default_factory=list)
    model_version: str = ""


class MirrorRecommender:
    """Per-store mirror recommendations over swappable FAISS partitions; see the module docstring."""

    def __init__(
        self,
        als: CoTryOnALS | None = None,
        taste: ProfileModel | None = None,
        compatibility: Mapping[str, Mapping[str, float]] | None = None,
        index_config: IndexConfig | None = None,
        collaborative_weight: float = 0.7,
        candidates_per_category: int = 40,
        collaborative_min_support: int = 3,
    ) -> None:
        self.als = als if als is not None and als.is_fitted else None
        self.taste = taste
        self.encoder = ContentEncoder()
        self.index_config = index_config or IndexConfig()
        self.collaborative_weight = collaborative_weight
        self.candidates_per_category = candidates_per_category
        # ALS factors of items seen in one or two sessions are mostly noise: on held-out H&M baskets
        # (docs/evaluation.md) giving them no collaborative vector lifts HR@10 from 0.21 to 0.25.
        self.collaborative_min_support = collaborative_min_support
        self.registry = IndexRegistry()
        self._catalogs: dict[str, tuple[StoreItem, ...]] = {}
        self.merchandiser_compatibility: dict[str, dict[str, float]] = {}
        self.learned_compatibility: LearnedCompatibility | None = None
        self.compatibility: dict[str, dict[str, float]] = {}
        """The table in force: learned pairs under the merchandiser's (see :mod:`recsys.mirror.compatibility`)."""
        self.set_compatibility(compatibility if compatibility is not None else DEFAULT_COMPATIBILITY)

    # -- catalog and model updates ---------------------------------------------------------------

    def build_store(self, store_id: str, items: Sequence[StoreItem]) -> StorePartition:
        """Embed and index one store's items without publishing them (safe on any thread)."""
        items = tuple(it for it in items if it.store_id == store_id)
        content = self.encoder.encode(items)
        keys = [it.key for it in items]
        cf = self.als.item_vectors(keys, self.collaborative_min_support) if self.als is not None else None
        popularity = self.als.popularity(keys) if self.als is not None else None
        vectors = item_embeddings(content, cf, self.collaborative_weight, popularity)
        return build_partition(
            store_id, items, vectors, self.encoder.dim, self.index_config, popularity_dims=int(popularity is not None)
        )

    def update_store(self, store_id: str, items: Sequence[StoreItem]) -> None:
        """Rebuild ``store_id``'s partition now and swap it in; requests keep using the old one meanwhile."""
        self._catalogs[store_id] = tuple(items)
        self.registry.swap(self.build_store(store_id, items))

    def update_store_async(self, store_id: str, items: Sequence[StoreItem]) -> Future[bool]:
        """Like :meth:`update_store` on the registry's background thread; the future says if it was published."""
        self._catalogs[store_id] = tuple(items)
        return self.registry.rebuild_async(store_id, lambda: self.build_store(store_id, items))

    def load_catalog(self, items: Iterable[StoreItem]) -> None:
        """Index a whole mall (start-up): one partition per store."""
        by_store: dict[str, list[StoreItem]] = {}
        for item in items:
            by_store.setdefault(item.store_id, []).append(item)
        for store_id, store_items in by_store.items():
            self.update_store(store_id, store_items)

    def set_models(
        self, als: CoTryOnALS | None, taste: ProfileModel | None, compatibility: LearnedCompatibility | None = None
    ) -> None:
        """Adopt retrained models (``vitrine train mirror``) and re-embed every known store."""
        self.als = als if als is not None and als.is_fitted else None
        self.taste = taste
        self.learned_compatibility = compatibility
        self.compatibility = merge_compatibility(
            compatibility.table if compatibility is not None else {}, self.merchandiser_compatibility
        )
        for store_id, items in list(self._catalogs.items()):
            self.update_store(store_id, items)

    def set_compatibility(self, table: Mapping[str, Mapping[str, float]]) -> None:
        """Adopt the merchandiser's (ops-edited) table, which overrides learned pairs; ``ValueError`` if malformed."""
        errors = validate_compatibility(table)
        if errors:
            raise ValueError("; ".join(f"{where}: {why}" for where, why in errors))
        self.merchandiser_compatibility = {
            c.lower(): {o.lower(): float(w) for o, w in row.items()} for c, row in table.items()
        }
        learned = self.learned_compatibility.table if self.learned_compatibility is not None else {}
        self.compatibility = merge_compatibility(learned, self.merchandiser_compatibility)

    @property
    def model_version(self) -> str:
        als = self.als.version if self.als is not None else "content-only"
        taste = self.taste.version if self.taste is not None else "no-profile"
        return f"{als}+{taste}"

    # -- requests --------------------------------------------------------------------------------

    def locate(self, store_id: str, sku: str) -> TriedItem:
        """The SKU in the store's published partition; ``UnknownItemError`` if either is missing."""
        part = self.registry.get(store_id)
        if part is None:
            raise UnknownItemError(f"store {store_id!r} has no catalog indexed; upload one first")
        row = part.row(sku)
        if row is None:
            raise UnknownItemError(f"sku {sku!r} is not in the catalog of store {store_id!r}")
        return TriedItem(part, row)

    def recommend(
        self,
        store_id: str,
        sku: str,
        session_skus: Sequence[str] = (),
        profile: ProfileShares | None = None,
        k: int = 10,
        weights: Mapping[str, float] | None = None,
    ) -> MirrorResult:
        """Details, ``k`` similar and ``k`` complementary items for ``sku`` tried at a mirror of ``store_id``."""
        return self.recommend_for(self.locate(store_id, sku), session_skus, profile, k, weights)

    def recommend_for(
        self,
        tried: TriedItem,
        session_skus: Sequence[str] = (),
        profile: ProfileShares | None = None,
        k: int = 10,
        weights: Mapping[str, float] | None = None,
    ) -> MirrorResult:
        """:meth:`recommend` for an item already located (the service checks the SKU once, up front)."""
        part, row, sku = tried.part, tried.row, tried.item.sku
        w = {**default_weights(), **(weights or {})}
        session_rows = [r for s in session_skus if s != sku and (r := part.row(s)) is not None]
        taste = self.taste.query(profile) if self.taste is not None else np.zeros(0, np.float32)
        cf_weight = self.collaborative_weight if self.als is not None else 0.0
        sig = RequestSignals.of(part, row, session_rows, taste, cf_weight)
        exclude = [row, *session_rows]
        return MirrorResult(
            item=part.items[row],
            similar=self._similar(part, row, sig, exclude, w, k, cf_weight),
            complementary=self._complementary(part, row, sig, exclude, w, k, cf_weight),
            model_version=f"{self.model_version}+{part.version}",
        )

    def _similar(
        self,
        part: StorePartition,
        row: int,
        sig: RequestSignals,
        exclude: list[int],
        w: dict[str, float],
        k: int,
        cf_weight: float,
    ) -> list[ShelfItem]:
        category = part.items[row].category
        w = {**w, "mirror_popularity": 0.0}  # the prior is for complements (see the weight's help)
        query = blended_query(sig.content, sig, w, cf_weight)
        scores, rows = part.categories[category].search(query, k, part.allowed_mask(category, exclude))
        variants = part.variants(row, exclude) if w["mirror_variant"] > 0 else []
        bonus = np.zeros(len(rows), dtype=np.float32)
        if variants:
            # A second candidate source: the tried piece's other variants, wherever the index ranks them.
            extra = np.setdiff1d(np.asarray(variants, dtype=np.int64), rows)
            rows = np.concatenate([rows, extra])
            scores = np.concatenate([scores, part.vectors[extra] @ query])
            bonus = np.where(np.isin(rows, variants), np.float32(w["mirror_variant"]), np.float32(0.0))
            order = np.argsort(-(scores + bonus), kind="stable")[:k]
            rows, scores, bonus = rows[order], (scores + bonus)[order], bonus[order]
        parts = contributions(part, rows, sig.content, sig, w, cf_weight)
        parts["variant"] = bonus
        reasons = explain(parts, SIMILAR_REASONS)
        return [
            ShelfItem(part.items[r], float(s), reason)
            for s, r, reason in zip(scores[:k], rows[:k], reasons, strict=False)
        ]

    def _complementary(
        self,
        part: StorePartition,
        row: int,
        sig: RequestSignals,
        exclude: list[int],
        w: dict[str, float],
        k: int,
        cf_weight: float,
    ) -> list[ShelfItem]:
        item = part.items[row]
        compat, declared = self._targets(part, item, exclude)
        scored: dict[int, tuple[float, str]] = {}
        n = max(k, self.candidates_per_category)
        for category, factor in compat.items():
            content_q = self.encoder.with_category(sig.content, category)[0]
            query = blended_query(content_q, sig, w, cf_weight)
            scores, rows = part.categories[category].search(query, n, part.allowed_mask(category, exclude))
            extra = [r for r in declared if part.items[r].category == category and r not in set(rows.tolist())]
            if extra:
                rows = np.concatenate([rows, np.asarray(extra, dtype=np.int64)])
                scores = np.concatenate([scores, part.vectors[extra] @ query])
            parts = contributions(part, rows, content_q, sig, w, cf_weight)
            parts = {name: factor * values for name, values in parts.items()}
            parts["declared"] = np.array([w["mirror_declared"] if r in declared else 0.0 for r in rows])
            totals = factor * scores + parts["declared"]
            for r, total, reason in zip(rows.tolist(), totals, explain(parts, COMPLEMENT_REASONS), strict=True):
                scored[r] = (float(total), reason)
        best = sorted(scored.items(), key=lambda kv: -kv[1][0])[:k]
        return [ShelfItem(part.items[r], score, reason) for r, (score, reason) in best]

    def _targets(self, part: StorePartition, item: StoreItem, exclude: list[int]) -> tuple[dict[str, float], set[int]]:
        """Compatible categories with their factor, and the declared complement rows still eligible."""
        compat = dict(self.compatibility.get(item.category, {}))
        declared: set[int] = set()
        for ref in item.complements:
            ref_row = part.row(ref)
            if ref_row is not None:
                other = part.items[ref_row]
                if other.category != item.category and part.in_stock[ref_row] and ref_row not in exclude:
                    declared.add(ref_row)
                    compat.setdefault(other.category, 1.0)
            elif ref.lower() in part.categories:
                compat[ref.lower()] = max(compat.get(ref.lower(), 0.0), 1.0)
        compat = {c: f for c, f in compat.items() if c != item.category and f > 0 and c in part.categories}
        return compat, declared
