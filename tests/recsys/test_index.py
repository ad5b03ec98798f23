"""Per-store FAISS partitions: the right index kind, exact filtering, atomic swaps."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.mirror.catalog import item_from_dict
from recsys.mirror.embeddings import ContentEncoder
from recsys.mirror.index import IndexConfig, IndexRegistry, build_partition, make_index


@pytest.fixture(scope="module")
def store() -> tuple[list, np.ndarray]:  # type: ignore[type-arg]
    from seeds.generate import generate_catalog

    items = [item_from_dict(r) for r in generate_catalog(30_000, ["f"], 3, {"f": "fashion"})]
    return items, ContentEncoder().encode(items)


def test_small_partitions_are_exact_and_large_ones_approximate(store) -> None:  # type: ignore[no-untyped-def]
    items, vectors = store[0][:12_000], store[1][:12_000]
    part = build_partition("f", items, vectors, vectors.shape[1], IndexConfig(exact_threshold=2000))
    kinds = {c.category: c.kind for c in part.categories.values()}
    sizes = {c.category: len(c.rows) for c in part.categories.values()}
    assert all(kinds[c] == ("hnsw" if sizes[c] >= 2000 else "flat") for c in kinds)
    assert "hnsw" in kinds.values()
    ivf = build_partition("f", items, vectors, vectors.shape[1], IndexConfig(2000, approximate="ivf"))
    assert {c.kind for c in ivf.categories.values()} == {"flat", "ivf"}


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_approximate_recall_against_exact_search(store, kind: str) -> None:  # type: ignore[no-untyped-def]
    items, vectors = store
    tops = np.array([i for i, it in enumerate(items) if it.category == "tops"])
    exact, _, _ = make_index(vectors[tops], IndexConfig(), kind="flat")
    approx, _, effort = make_index(vectors[tops], IndexConfig(), kind=kind)
    queries = vectors[tops[:200]]
    _, want = exact.search(queries, 10)
    if kind == "ivf":
        approx.nprobe = effort
    else:
        approx.hnsw.efSearch = effort
    scores, got = approx.search(queries, 10)
    # Content-only vectors have exact ties; count a hit on score, not on which tied row came back.
    want_scores, _ = exact.search(queries, 10)
    recall = np.mean([np.sum(s >= w[-1] - 1e-6) / 10 for s, w in zip(scores, want_scores, strict=True)])
    assert recall >= 0.95


@pytest.mark.parametrize(("threshold", "kind"), [(10**9, "ivf"), (500, "ivf"), (500, "hnsw")])
def test_selector_drops_excluded_items_and_still_returns_k(store, threshold: int, kind: str) -> None:  # type: ignore[no-untyped-def]
    items, vectors = store[0][:4000], store[1][:4000]
    config = IndexConfig(exact_threshold=threshold, approximate=kind)
    part = build_partition("f", items, vectors, vectors.shape[1], config)
    row = next(i for i, it in enumerate(items) if it.category == "shoes" and it.stock > 0)
    mask = part.allowed_mask("shoes", [row])
    scores, rows = part.categories["shoes"].search(vectors[row], 10, mask)
    assert len(rows) == 10 and row not in rows
    assert all(items[r].stock > 0 and items[r].category == "shoes" for r in rows)
    assert np.all(np.diff(scores) <= 1e-6)


def test_partition_rejects_other_stores_items(store) -> None:  # type: ignore[no-untyped-def]
    items, vectors = store
    with pytest.raises(ValueError, match="split by store"):
        build_partition("g", items[:10], vectors[:10], vectors.shape[1])


def test_registry_drops_a_build_that_finished_after_a_newer_one(store) -> None:  # type: ignore[no-untyped-def]
    items, vectors = store
    registry = IndexRegistry()
    old = build_partition("f", items[:50], vectors[:50], vectors.shape[1], version="old")
    new = build_partition("f", items[:60], vectors[:60], vectors.shape[1], version="new")
    registry.swap(new, generation=2)
    assert registry.swap(old, generation=1) is False
    assert registry.get("f") is new
    assert registry.rebuild_async("f", lambda: old).result(timeout=10) is True
    assert registry.get("f") is old and registry.stores() == ["f"]
    registry.close()
