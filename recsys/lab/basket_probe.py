"""Probes of the real-basket evaluation: which candidate lists *could* lift the mirror's hit-rate.

``vitrine eval mirror --dataset DIR --validation --probe`` (``screens/tools/basket_eval.py``) trains
the mirror on the inner training split exactly as the evaluation does, then scores, on the
validation baskets only (tuning never reads the held-out ones), the 20 items a mirror shows under
alternative list rules built from the same trained recommender and training baskets:

* *slot split* — 15 similar + 5 complementary, or 5 + 15, instead of 10 + 10;
* *co-purchase first* — the first item's co-purchase neighbours in the training baskets (item-item
  counts, ``n_ab / sqrt(n_a · n_b)`` cosine) at the head of the list of their category's kind;
* *best seller slots* — the last one or two similar slots given to the tried category's most sold
  items (a popularity fallback the similar list does not otherwise carry);

and two ceilings that say what the data can give at all: the share of baskets with a partner among
the first item's co-purchase neighbours (any number of them, whatever the list length), and 10 most
sold items of the partners' *other* categories (an oracle of the category, as the baseline's).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

from recsys.mirror.recommender import MirrorRecommender

Lists = tuple[list[str], list[str]]
"""The mirror's similar and complementary lists, 20 items each (a probe takes what it shows)."""
Probe = Callable[[str, Lists], list[str]]


def co_purchase_neighbours(baskets: Sequence[Sequence[str]]) -> dict[str, list[str]]:
    """Each item's co-bought items, best first by cosine of the basket counts (ties: by SKU)."""
    pairs: dict[str, Counter[str]] = defaultdict(Counter)
    count: Counter[str] = Counter()
    for basket in baskets:
        items = list(dict.fromkeys(basket))
        count.update(items)
        for a in items:
            pairs[a].update(b for b in items if b != a)
    return {a: sorted(row, key=lambda b: (-row[b] / math.sqrt(count[a] * count[b]), b)) for a, row in pairs.items()}


def probe_rates(
    rec: MirrorRecommender, store_id: str, train: Sequence[Sequence[str]], test: Sequence[Sequence[str]], k: int = 10
) -> dict[str, float]:
    """Hit-rate (another basket item among what is shown) of every probe, over ``test``'s baskets."""
    part = rec.registry.get(store_id)
    if part is None:
        raise ValueError(f"store {store_id!r} has no catalog indexed")
    category = {it.sku: it.category for it in part.items}
    neighbours = co_purchase_neighbours(train)
    sold = Counter(sku for basket in train for sku in basket if sku in category)
    best_sellers: dict[str, list[str]] = defaultdict(list)
    for sku, _ in sold.most_common():
        best_sellers[category[sku]].append(sku)
    probes = _probes(category, neighbours, best_sellers, k)
    hits: Counter[str] = Counter()
    n = 0
    for basket in test:
        first, others = basket[0], set(basket[1:])
        if first not in category:
            continue
        n += 1
        answer = rec.recommend(store_id, first, (), None, 2 * k)
        lists = ([r.sku for r in answer.similar], [r.sku for r in answer.complementary])
        for name, probe in probes.items():
            hits[name] += bool(others & set(probe(first, lists)))
        wanted = {category[s] for s in others if s in category} - {category[first]}
        oracle = [s for c in wanted for s in best_sellers[c]]
        oracle.sort(key=lambda s: -sold[s])
        hits["ceiling: 10 most sold of the partners' other categories (oracle)"] += bool(others & set(oracle[:k]))
        hits["ceiling: a partner among the co-purchase neighbours (any number)"] += bool(
            others & set(neighbours.get(first, ()))
        )
    return {name: hits[name] / n if n else math.nan for name in [*probes, *sorted(set(hits) - set(probes))]}


def _probes(
    category: dict[str, str], neighbours: dict[str, list[str]], best_sellers: dict[str, list[str]], k: int
) -> dict[str, Probe]:
    def split(n_similar: int) -> Probe:
        return lambda first, lists: lists[0][:n_similar] + lists[1][: 2 * k - n_similar]

    def co_purchase_first(cap: int) -> Probe:
        def probe(first: str, lists: Lists) -> list[str]:
            same = [s for s in neighbours.get(first, ()) if category.get(s) == category[first]][:cap]
            other = [s for s in neighbours.get(first, ()) if category.get(s, category[first]) != category[first]]
            return _head(same, lists[0], k) + _head(other[:cap], lists[1], k)

        return probe

    def best_seller_slots(m: int) -> Probe:
        def probe(first: str, lists: Lists) -> list[str]:
            similar = lists[0][: k - m]
            extra = [s for s in best_sellers[category[first]] if s != first and s not in similar][:m]
            return similar + extra + lists[1][:k]

        return probe

    return {
        "mirror as shipped (10 similar + 10 complementary)": split(k),
        "slot split 15 similar + 5 complementary": split(k + k // 2),
        "slot split 5 similar + 15 complementary": split(k // 2),
        "co-purchase neighbours first (up to 1 per list)": co_purchase_first(1),
        "co-purchase neighbours first (up to 3 per list)": co_purchase_first(3),
        "last similar slot to the category's best seller": best_seller_slots(1),
        "last 2 similar slots to the category's best sellers": best_seller_slots(2),
    }


def _head(first_items: list[str], rest: list[str], k: int) -> list[str]:
    return (first_items + [s for s in rest if s not in first_items])[:k]
