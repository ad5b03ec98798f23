"""The one cache mechanism: entries expire, invalidation wins over a slow load, memory stays bounded."""

from __future__ import annotations

import pytest

from screens.caching import TtlCache


def test_an_entry_is_fresh_only_within_its_ttl_of_the_callers_clock() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl_s=1.0)
    cache.put("a", 1, now=100.0)
    assert cache.get("a", now=100.5) == 1
    assert cache.get("a", now=101.0) is None
    assert cache.get("a", now=99.0) is None, "a request for an earlier moment never reads a later value"


def test_an_invalidation_during_a_load_discards_the_loaded_value() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_s=60.0)

    def slow_load() -> str:
        cache.invalidate("k")  # e.g. the upload announcement arrives while the old rows are read
        return "old"

    assert cache.get_or_load("k", slow_load) == "old"
    assert cache.get("k") is None
    assert cache.get_or_load("k", lambda: "new") == "new" and cache.get("k") == "new"


def test_the_cache_is_bounded() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl_s=60.0, max_entries=3)
    for i in range(10):
        cache.put(i, i)
        assert len(cache) <= 3
    assert cache.get(9) == 9


def test_a_cache_needs_a_positive_ttl() -> None:
    with pytest.raises(ValueError):
        TtlCache(ttl_s=0.0)
