"""Fitting-mirror benchmark: ``python -m recsys.lab.mirror_bench`` (200,000 SKUs, 1M try-on events).

Measures, in one run: ALS training time on the try-on events; index build time (content encoding,
collaborative vectors, one FAISS index per store × category); per-request latency of
``MirrorRecommender.recommend`` (single request at a time, one FAISS thread); and, for the
partitions above the exact threshold, recall@10 of the approximate index against exact
inner-product search with the same selector, plus the speed ratio of the two.

The catalog comes from ``seeds.generate.generate_catalog`` (real item embeddings, not random
vectors). The 1M events are drawn in bulk — sessions built from popularity-weighted anchors and
their looks — because the shopper simulator of :mod:`recsys.lab.mirror_sim` walks sessions one by one
and is meant for evaluation quality, not volume; ALS time depends on the matrix shape and nnz.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import faiss
import numpy as np

from recsys.attributes import KNOWN_CELLS
from recsys.mirror.catalog import StoreItem, TryOn, item_from_dict
from recsys.mirror.index import IndexConfig, build_partition
from recsys.mirror.models.als import CoTryOnALS
from recsys.mirror.models.cell_taste import CellTasteModel
from recsys.mirror.recommender import MirrorRecommender

logger = logging.getLogger(__name__)


def bulk_tryons(items: list[StoreItem], n_events: int, seed: int) -> list[TryOn]:
    """About ``n_events`` try-ons: sessions of a popular anchor, its look-mates and a stray piece."""
    rng = np.random.default_rng(seed)
    n = len(items)
    pop = rng.pareto(1.2, n) + 1.0
    pop /= pop.sum()
    look_of = rng.permutation(n) // 4  # latent looks of four items
    members = np.argsort(look_of, kind="stable").reshape(-1, 4) if n % 4 == 0 else None
    n_sessions = n_events // 4
    anchors = rng.choice(n, size=n_sessions, p=pop)
    events: list[TryOn] = []
    strays = rng.choice(n, size=n_sessions, p=pop)
    for s, (a, stray) in enumerate(zip(anchors.tolist(), strays.tolist(), strict=True)):
        look = members[look_of[a]].tolist() if members is not None else [a]
        session = [a] + [m for m in look if m != a][:2] + [stray]
        events.extend(TryOn(f"b{s}", items[i].store_id, items[i].sku, float(t)) for t, i in enumerate(session))
    return events


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000, q))


def recall_and_speed(
    exact_rec: MirrorRecommender, rec: MirrorRecommender, store: str, queries: list[str], passes: int = 3
) -> dict[str, float]:
    """Raw index comparison on the 'similar' query of each item, same selector for both indexes.

    Recall is tie-aware: an approximate hit counts when its score reaches the exact 10th score, since
    items with identical vectors (same attributes, no events yet) are interchangeable. Exact and
    approximate searches alternate query by query; of ``passes`` passes over all queries the fastest
    total of each is kept, because the machine is shared and a preempted pass says nothing about
    the index.
    """
    approx_part, exact_part = rec.registry.get(store), exact_rec.registry.get(store)
    assert approx_part is not None and exact_part is not None
    cases = []
    for sku in queries:
        row = approx_part.row(sku)
        assert row is not None
        category = approx_part.items[row].category
        if approx_part.categories[category].kind != "flat":
            cases.append((category, approx_part.vectors[row], approx_part.allowed_mask(category, [row])))
    hits = total = 0
    best_exact = best_approx = float("inf")
    for n in range(passes):
        t_exact = t_approx = 0.0
        for category, query, mask in cases:
            t0 = time.perf_counter()
            exact_scores, _ = exact_part.categories[category].search(query, 10, mask)
            t1 = time.perf_counter()
            approx_scores, _ = approx_part.categories[category].search(query, 10, mask)
            t_approx += time.perf_counter() - t1
            t_exact += t1 - t0
            if n == 0 and len(exact_scores):
                hits += int(np.sum(approx_scores >= exact_scores[-1] - 1e-5))
                total += len(exact_scores)
        best_exact, best_approx = min(best_exact, t_exact), min(best_approx, t_approx)
    return {
        "recall@10": hits / max(total, 1),
        "exact_ms": 1000 * best_exact / max(len(cases), 1),
        "approx_ms": 1000 * best_approx / max(len(cases), 1),
        "speedup": best_exact / max(best_approx, 1e-12),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fitting-mirror benchmark")
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--stores", type=int, default=1, help="the catalog is split evenly over this many stores")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--threshold", type=int, default=IndexConfig.exact_threshold)
    parser.add_argument("--ef-search", type=int, default=IndexConfig.ef_search)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    from seeds.generate import generate_catalog

    store_ids = [f"flagship-{i}" for i in range(args.stores)]
    t0 = time.perf_counter()
    rows = generate_catalog(args.items, store_ids, args.seed, dict.fromkeys(store_ids, "fashion"))
    items = [item_from_dict(r) for r in rows]
    report: dict[str, float | str] = {"load_avg_at_start": os.getloadavg()[0], "catalog_s": time.perf_counter() - t0}
    logger.info("catalog of %d items in %.1fs", len(items), report["catalog_s"])

    tryons = bulk_tryons(items, args.events, args.seed)
    t0 = time.perf_counter()
    als = CoTryOnALS().fit(tryons)
    report["als_fit_s"] = time.perf_counter() - t0
    report["als_events"] = len(tryons)
    rng = np.random.default_rng(args.seed)
    profiles = {f"b{s}": {KNOWN_CELLS[int(rng.integers(len(KNOWN_CELLS)))]: 1.0} for s in range(20_000)}
    taste = CellTasteModel().fit([t for t in tryons[:80_000]], profiles, items)

    config = IndexConfig(exact_threshold=args.threshold, ef_search=args.ef_search)
    rec = MirrorRecommender(als=als, taste=taste, index_config=config)
    t0 = time.perf_counter()
    rec.load_catalog(items)
    report["index_build_s"] = time.perf_counter() - t0
    kinds = sorted({c.kind for s in store_ids for c in rec.registry.get(s).categories.values()})  # type: ignore[union-attr]
    report["index_kinds"] = ",".join(kinds)
    logger.info("index built in %.1fs (%s)", report["index_build_s"], report["index_kinds"])

    exact = MirrorRecommender(als=als, taste=taste, index_config=IndexConfig(exact_threshold=10**12))
    for s in store_ids:
        part = rec.registry.get(s)
        assert part is not None
        exact.registry.swap(
            build_partition(
                s, part.items, part.vectors, part.content_dim, exact.index_config, popularity_dims=part.popularity_dims
            )
        )

    faiss.omp_set_num_threads(1)  # one request at a time, one core: the in-process latency
    in_stock = [it for it in items if it.stock > 0]
    picks = [in_stock[i] for i in rng.choice(len(in_stock), size=args.queries, replace=False)]
    sessions = [
        [in_stock[j].sku for j in rng.choice(len(in_stock), 2) if in_stock[j].store_id == it.store_id] for it in picks
    ]
    for name, recommender in (("approx", rec), ("exact", exact)):
        latencies = []
        for it, session in zip(picks, sessions, strict=True):
            t = time.perf_counter()
            recommender.recommend(it.store_id, it.sku, session, {"female:25-34": 0.6, "male:25-34": 0.4}, 10)
            latencies.append(time.perf_counter() - t)
        report[f"{name}_p50_ms"] = percentile_ms(latencies, 50)
        report[f"{name}_p99_ms"] = percentile_ms(latencies, 99)
    overlap = []  # tie-aware, as in recall_and_speed
    for it, session in zip(picks[:300], sessions[:300], strict=True):
        a, e = rec.recommend(it.store_id, it.sku, session), exact.recommend(it.store_id, it.sku, session)
        for got, want in ((a.similar, e.similar), (a.complementary, e.complementary)):
            if want:
                overlap.append(sum(r.score >= want[-1].score - 1e-4 for r in got) / len(want))
    report["end_to_end_recall@10"] = float(np.mean(overlap)) if overlap else float("nan")
    by_store: dict[str, list[str]] = {}
    for it in picks:
        by_store.setdefault(it.store_id, []).append(it.sku)
    raw = [recall_and_speed(exact, rec, s, q) for s, q in by_store.items()]
    for key in ("recall@10", "exact_ms", "approx_ms", "speedup"):
        report[f"index_{key}"] = float(np.mean([r[key] for r in raw]))
    report["load_avg_at_end"] = os.getloadavg()[0]
    print("| metric | value |\n|---|---|")
    for key, value in report.items():
        print(f"| {key} | {value:.3f} |" if isinstance(value, float) else f"| {key} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
