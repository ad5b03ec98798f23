"""Content embeddings: stable, unit-length, and close for items a shopper would call similar."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np

from recsys.mirror.catalog import StoreItem
from recsys.mirror.embeddings import ContentEncoder, item_embeddings

BASE = StoreItem(
    store_id="s",
    sku="A",
    name="Relaxed Linen Shirt",
    category="tops",
    subcategory="shirt",
    gender_target="women",
    colors=("white",),
    style_tags=("casual", "minimal"),
    price=40.0,
    stock=3,
)


def cos(a: StoreItem, b: StoreItem) -> float:
    v = ContentEncoder().encode([a, b])
    return float(v[0] @ v[1])


def test_rows_are_unit_length_with_a_fixed_width() -> None:
    enc = ContentEncoder()
    vectors = enc.encode([BASE, replace(BASE, colors=(), style_tags=(), name="")])
    assert vectors.shape == (2, enc.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_closer_in_style_colour_and_price_means_more_similar() -> None:
    same_style = replace(BASE, sku="B", colors=("white",), price=45.0)
    other_style = replace(BASE, sku="C", style_tags=("formal",), colors=("red",), price=45.0)
    far_price = replace(BASE, sku="D", price=400.0)
    assert cos(BASE, same_style) > cos(BASE, far_price) > cos(BASE, other_style)
    assert cos(BASE, replace(BASE, price=55.0)) > cos(BASE, replace(BASE, price=150.0))
    assert cos(BASE, replace(BASE, gender_target="unisex")) > cos(BASE, replace(BASE, gender_target="men"))


def test_embeddings_are_identical_across_processes() -> None:
    # Python's str hash is salted per process; the trainer and the server must agree anyway.
    code = (
        "from recsys.mirror.embeddings import ContentEncoder; from recsys.mirror.catalog import StoreItem;"
        "print(ContentEncoder().encode([StoreItem('s','A','Linen Shirt','tops',colors=('red',),"
        "style_tags=('boho',),price=30.0)]).tobytes().hex())"
    )
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(outs) == 1


def test_category_swap_keeps_style_and_changes_category() -> None:
    enc = ContentEncoder()
    shoes = replace(BASE, category="shoes", subcategory="")
    top, shoe = enc.encode([BASE, shoes])
    swapped = enc.with_category(top, "shoes")[0]
    assert swapped @ shoe > top @ shoe
    assert swapped @ shoe > 0.9


def test_collaborative_part_is_appended_with_its_weight() -> None:
    content = ContentEncoder().encode([BASE])
    cf = np.array([[0.6, 0.8]], dtype=np.float32)
    both = item_embeddings(content, cf, collaborative_weight=0.5)
    assert both.shape == (1, content.shape[1] + 2)
    assert np.allclose(both[0, -2:], [0.3, 0.4])
    assert item_embeddings(content, None).shape == content.shape
