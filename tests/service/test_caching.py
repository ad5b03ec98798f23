"""The one cache mechanism: entries expire, invalidation wins over a slow load, memory stays bounded."""

from __future__ import annotations

import pytest

from screens.caching import TtlCache


def test_an_entry_is_fresh_only_within_its_ttl_of_the_callers_clock() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl_s=1.0)
    cache.put("a", 1, now=100.0)
    assert cache.get("a", now=100.5) == 1
    assert cache.get("a", now=101.0) is None
    assert cache.last("a") == 1, "an expired value is still held for a refresh to compare with"
    assert cache.get("a", now=99.0) is None, "a request for an earlier moment never reads a later value"


def test_an_invalidation_during_a_load_discards_the_loaded_value() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_s=60.0)

    def slow_load() -> str:
        cache.invalidate("k")  # e.g. the upload announcement arrives while the old rows are read
        return "old"

    assert cache.get_or_load("k", slow_load) == "old"
    assert cache.get("k") is None
    assert cache.get_or_load("k", lambda: "new") == "new" and cache.get("k") == "new"


def test_a_load_of_several_keys_keeps_all_but_the_ones_invalidated_meanwhile() -> None:
    cache: TtlCache[str, str] = TtlCache(ttl_s=60.0)

    def read_all() -> list[str]:
        cache.invalidate("b")  # e.g. the consumer applied b's newer events during the read
        return ["a-read", "b-old", "c-read"]

    cache.load_many(["a", "b", "c"], read_all)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("a-read", None, "c-read")
    assert cache.last("b") is None and cache.last("a") == "a-read"
    cache.load_many(["b"], lambda: ["b-new"])
    assert cache.get("b") == "b-new", "a later load is kept"


def test_a_clear_during_a_load_discards_every_loaded_value() -> None:
    cache: TtlCache[str, int] = TtlCache(ttl_s=60.0)

    def read_all() -> list[int]:
        cache.clear()
        return [1, 2]

    cache.load_many(["a", "b"], read_all)
    assert len(cache) == 0


def test_the_cache_is_bounded() -> None:
    cache: TtlCache[int, int] = TtlCache(ttl_s=60.0, max_entries=3)
    for i in range(10):
        cache.put(i, i)
        assert len(cache) <= 3
    assert cache.get(9) == 9


def test_a_cache_needs_a_positive_ttl() -> None:
    with pytest.raises(ValueError):
        TtlCache(ttl_s=0.0)
