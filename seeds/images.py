"""Small product pictures for the demo mall: one SVG per (category, colour), drawn offline.

The generated catalogue's image URLs point at a host that does not exist, so without this a demo
shows no pictures. A drawn silhouette in the item's colour is enough for a screen to look like a
shop window, weighs under a kilobyte and needs no internet; a few hundred files cover every item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

COLOUR_HEX: Final = {
    "black": "#222222",
    "white": "#f4f4f0",
    "navy": "#1f2f5a",
    "grey": "#8a8d91",
    "beige": "#d9c7a7",
    "camel": "#b8864b",
    "brown": "#6b4428",
    "olive": "#6b7035",
    "khaki": "#bfae7a",
    "red": "#c8312c",
    "burgundy": "#7a1f35",
    "pink": "#ef9fb8",
    "lavender": "#b9a6dc",
    "sky blue": "#8cc4ec",
    "denim blue": "#4a6d9c",
    "green": "#3f8f4f",
    "mustard": "#d5a021",
    "cream": "#f2e8cf",
    "silver": "#c0c4c8",
    "gold": "#d4af37",
}
PLAIN: Final = "plain"
_PLAIN_HEX: Final = "#e0a458"

# Silhouettes on a 100 × 100 canvas, one per kind of product.
_SHAPES: Final = {
    "top": "M30 22 L42 16 Q50 24 58 16 L70 22 L86 38 L76 48 L70 42 L70 84 L30 84 L30 42 L24 48 L14 38 Z",
    "coat": "M30 16 L44 12 L50 30 L56 12 L70 16 L84 40 L84 86 L74 86 L72 48 L72 90 L28 90 L28 48 L26 86 L16 86 "
    "L16 40 Z",
    "trousers": "M30 12 L70 12 L74 90 L56 90 L50 40 L44 90 L26 90 Z",
    "dress": "M40 12 L60 12 L58 30 L66 40 L80 90 L20 90 L34 40 L42 30 Z",
    "shoe": "M12 62 L16 40 L30 42 Q40 56 58 56 L82 62 Q90 66 88 74 L12 74 Z",
    "bag": "M24 40 L76 40 L82 88 L18 88 Z M36 40 Q36 18 50 18 Q64 18 64 40 L58 40 Q58 24 50 24 Q42 24 42 40 Z",
    "bottle": "M42 10 L58 10 L58 24 Q72 30 72 44 L72 86 Q72 90 68 90 L32 90 Q28 90 28 86 L28 44 Q28 30 42 24 Z",
    "lipstick": "M38 48 L62 48 L62 90 L38 90 Z M42 48 L42 22 L58 14 L58 48 Z",
    "ball": "M50 14 A36 36 0 1 1 49.9 14 Z",
    "book": "M22 16 L72 16 Q78 16 78 22 L78 86 L28 86 Q22 86 22 80 Z",
    "toy": "M50 10 L61 38 L90 38 L66 56 L75 86 L50 68 L25 86 L34 56 L10 38 L39 38 Z",
    "phone": "M32 10 L68 10 Q74 10 74 16 L74 84 Q74 90 68 90 L32 90 Q26 90 26 84 L26 16 Q26 10 32 10 Z",
    "headphones": "M18 60 Q18 16 50 16 Q82 16 82 60 L82 84 L66 84 L66 58 L76 58 Q74 24 50 24 Q26 24 24 58 L34 58 "
    "L34 84 L18 84 Z",
    "watch": "M38 8 L62 8 L62 26 Q76 30 76 50 Q76 70 62 74 L62 92 L38 92 L38 74 Q24 70 24 50 Q24 30 38 26 Z",
    "laptop": "M22 22 L78 22 L78 66 L22 66 Z M10 70 L90 70 L86 80 L14 80 Z",
    "plug": "M34 10 L42 10 L42 30 L58 30 L58 10 L66 10 L66 30 L74 30 L74 54 Q74 70 56 72 L56 92 L44 92 L44 72 "
    "Q26 70 26 54 L26 30 L34 30 Z",
    "cup": "M20 30 L72 30 L66 86 L26 86 Z M72 40 Q90 40 88 56 Q86 68 68 68 L69 60 Q80 60 80 54 Q80 48 71 48 Z",
    "plate": "M50 20 A30 30 0 1 1 49.9 20 Z",
}
_SHAPE_OF_CATEGORY: Final = {
    "tops": "top",
    "kids_clothing": "top",
    "outerwear": "coat",
    "bottoms": "trousers",
    "dresses": "dress",
    "shoes": "shoe",
    "kids_shoes": "shoe",
    "accessories": "bag",
    "equipment": "ball",
    "skincare": "bottle",
    "haircare": "bottle",
    "fragrance": "bottle",
    "makeup": "lipstick",
    "toys": "toy",
    "books": "book",
    "phones": "phone",
    "audio": "headphones",
    "wearables": "watch",
    "computers": "laptop",
    "chargers": "plug",
    "coffee": "cup",
    "drinks": "cup",
    "bakery": "plate",
    "meals": "plate",
    "desserts": "plate",
}


def item_svg(category: str, colour: str) -> str:
    """The picture of a ``category`` item in ``colour`` (a name of :data:`COLOUR_HEX` or :data:`PLAIN`)."""
    shape = _SHAPES[_SHAPE_OF_CATEGORY.get(category, "bag")]
    fill = COLOUR_HEX.get(colour, _PLAIN_HEX)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" width="200" height="200">'
        '<rect width="100" height="100" rx="8" fill="#2b2723"/>'
        '<ellipse cx="50" cy="93" rx="34" ry="4" fill="#000" opacity=".35"/>'
        f'<path d="{shape}" fill="{fill}" stroke="#0d0b0a" stroke-width="1.5" stroke-linejoin="round"/>'
        "</svg>"
    )


def image_name(category: str, colours: Iterable[str]) -> str:
    """File name of an item's picture: its category and first colour."""
    first = next(iter(colours), PLAIN)
    return f"{category}-{first.replace(' ', '_')}.svg"


def write_item_images(catalog: Mapping[str, list[dict[str, Any]]], folder: Path, url_prefix: str) -> int:
    """Point every item that has a (remote) image at a local picture; write the pictures; return how many.

    Items without an image keep none, so the screens' fallback for missing pictures stays visible.
    """
    folder.mkdir(parents=True, exist_ok=True)
    drawn: dict[str, tuple[str, str]] = {}
    for items in catalog.values():
        for item in items:
            if not item.get("image_url"):
                continue
            name = image_name(item["category"], item["colors"])
            drawn[name] = (item["category"], item["colors"][0] if item["colors"] else PLAIN)
            item["image_url"] = f"{url_prefix}/{name}"
    for name, (category, colour) in drawn.items():
        (folder / name).write_text(item_svg(category, colour))
    return len(drawn)
