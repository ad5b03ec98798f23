"""Plain data the fitting-mirror logic works on: catalog items, logged events, the compatibility table.

The service stores these in its database; here they are frozen dataclasses with the service's field
names so the recommender never depends on an ORM. An item is identified by ``(store_id, sku)``: two
stores may reuse a SKU, and a mirror only ever recommends items of its own store.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

logger = logging.getLogger(__name__)

ItemKey = tuple[str, str]
"""``(store_id, sku)``."""

GENDER_TARGETS: Final = ("women", "men", "unisex", "kids")


@dataclass(frozen=True)
class StoreItem:
    """One SKU of one store, with the fields exactly as the catalog upload carries them.

    ``complements`` are the merchandiser's declared outfit partners: SKUs of the same store, or
    category names (``"shoes"``) meaning "anything from that category goes with this".
    """

    store_id: str
    sku: str
    name: str
    category: str
    subcategory: str = ""
    gender_target: str = "unisex"
    colors: tuple[str, ...] = ()
    style_tags: tuple[str, ...] = ()
    price: float = 0.0
    sale_price: float | None = None
    stock: int = 0
    image_url: str | None = None
    complements: tuple[str, ...] = ()

    @property
    def key(self) -> ItemKey:
        return (self.store_id, self.sku)

    @property
    def effective_price(self) -> float:
        """What the shopper pays today: the sale price when there is one below the list price."""
        if self.sale_price is not None and 0 < self.sale_price < self.price:
            return self.sale_price
        return self.price

    @property
    def discount_pct(self) -> int:
        """Whole-percent discount of the sale price against the list price; 0 without a sale."""
        if self.price <= 0:
            return 0
        return max(0, round(100 * (1 - self.effective_price / self.price)))


_QUALIFIER = re.compile(r"\([^)]*\)")
_PUNCTUATION = re.compile(r"[^a-z0-9]+")


def variant_key(item: StoreItem) -> tuple[str, str]:
    """``(category, name)`` shared by the variants of one piece: its colours and cuts of one design.

    Retailers export each colour of a garment as its own SKU under the same product name, at most
    with a parenthesised qualifier ("Strap top", "Strap top (1)"); on held-out H&M baskets another
    colour of the tried piece is the partner in about one basket in six. Case, punctuation and such
    qualifiers are ignored; an item without a name is a variant of nothing.
    """
    name = " ".join(_PUNCTUATION.sub(" ", _QUALIFIER.sub(" ", item.name.lower())).split())
    return (item.category, name)


@dataclass(frozen=True)
class TryOn:
    """A garment scanned at a fitting-room mirror (RFID or barcode) during an anonymous session."""

    session_id: str
    store_id: str
    sku: str
    ts: float


@dataclass(frozen=True)
class Purchase:
    """A till receipt; ``session_id`` links it to a fitting session when the shopper scanned one."""

    session_id: str | None
    store_id: str
    skus: tuple[str, ...]
    ts: float


@dataclass(frozen=True)
class TryOnSession:
    """One fitting session as the metrics read it: the SKUs tried in order, those bought, the crowd.

    Built from the logged :class:`TryOn`/:class:`Purchase` events by
    :func:`~recsys.mirror.training.logged_sessions`, and drawn directly by the lab's simulator.
    """

    session_id: str
    store_id: str
    skus: tuple[str, ...]
    purchased: tuple[str, ...]
    profile: dict[str, float]


def item_from_dict(row: Mapping[str, Any]) -> StoreItem:
    """Build an item from an upload row or ``seeds.generate`` output; list fields may be lists or CSV."""

    def as_tuple(value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(str(v) for v in value)

    gender = str(row.get("gender_target") or "unisex").lower()
    if gender not in GENDER_TARGETS:
        raise ValueError(f"gender_target {gender!r} of sku {row.get('sku')!r}: use one of {GENDER_TARGETS}")
    sale = row.get("sale_price")
    return StoreItem(
        store_id=str(row["store_id"]),
        sku=str(row["sku"]),
        name=str(row.get("name") or ""),
        category=str(row["category"]).lower(),
        subcategory=str(row.get("subcategory") or "").lower(),
        gender_target=gender,
        colors=tuple(c.lower() for c in as_tuple(row.get("colors"))),
        style_tags=tuple(s.lower() for s in as_tuple(row.get("style_tags"))),
        price=float(row.get("price") or 0.0),
        sale_price=None if sale in (None, "") else float(sale),
        stock=int(row.get("stock") or 0),
        image_url=row.get("image_url") or None,
        complements=as_tuple(row.get("complements")),
    )


# Category → compatible category → weight in [0, 1]. A plain dict so ops can edit it and the service
# can store it as JSON; categories missing here get no category-based complements (declared ones
# still show). Same-category pairs are ignored whatever the table says.
DEFAULT_COMPATIBILITY: Final[dict[str, dict[str, float]]] = {
    "tops": {"bottoms": 1.0, "outerwear": 0.8, "shoes": 0.6, "accessories": 0.5, "bags": 0.4},
    "bottoms": {"tops": 1.0, "shoes": 0.8, "outerwear": 0.6, "accessories": 0.5, "bags": 0.4},
    "dresses": {"shoes": 1.0, "outerwear": 0.8, "accessories": 0.8, "bags": 0.7},
    "shoes": {"bottoms": 0.8, "dresses": 0.7, "tops": 0.5, "accessories": 0.5, "bags": 0.5},
    "outerwear": {"tops": 0.8, "bottoms": 0.6, "dresses": 0.6, "accessories": 0.6, "shoes": 0.5},
    "accessories": {"tops": 0.5, "dresses": 0.7, "outerwear": 0.5, "shoes": 0.4, "bottoms": 0.4},
    "bags": {"dresses": 0.7, "shoes": 0.5, "outerwear": 0.5, "tops": 0.4},
    "equipment": {"accessories": 0.6, "tops": 0.4, "shoes": 0.4},
    "swimwear": {"accessories": 0.8, "shoes": 0.5},
}


def validate_compatibility(table: Mapping[str, Mapping[str, float]]) -> list[tuple[str, str]]:
    """``(field, reason)`` for every malformed entry of an ops-edited compatibility table."""
    errors: list[tuple[str, str]] = []
    for category, row in table.items():
        for other, weight in row.items():
            where = f"{category}.{other}"
            if not isinstance(weight, int | float) or not 0.0 <= float(weight) <= 1.0:
                errors.append((where, f"weight must be a number in [0, 1], got {weight!r}"))
            if other == category:
                errors.append((where, "an item never completes an outfit with its own category"))
    return errors
