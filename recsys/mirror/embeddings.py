"""Item embeddings for fitting mirrors: hashed content features plus a weighted collaborative part.

Content features are *hashed* into fixed-width blocks (the "hashing trick", Weinberger et al., 2009)
instead of one-hot over a fitted vocabulary: a catalog upload that brings a new colour or style tag
must not change the dimension, or every store's index would have to be rebuilt at once. Each block is
L2-normalised and scaled by the square root of its weight, so the inner product of two content
vectors is the weighted mean of per-block cosines (category, colours, style, price band, gender
target, name tokens). Prices are encoded as a soft one-hot over log-spaced bands so that 49 € and
55 € are close and 49 € and 400 € are not.

The collaborative part is the item's ALS factor (unit length, zeros for items with no events),
multiplied by ``collaborative_weight``. It is stored *after* the content block so that a query can
reweight the two parts at request time (see :class:`recsys.mirror.recommender.MirrorRecommender`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np

from recsys.mirror.catalog import GENDER_TARGETS, StoreItem

# (block name, width, weight). Category and subcategory matter most for "what is this", style and
# colours for "would this person like it", name tokens catch what the tags miss ("linen", "slim").
BLOCKS: Final = (
    ("category", 16, 1.0),
    ("subcategory", 32, 0.6),
    ("colors", 32, 1.0),
    ("style", 64, 1.2),
    ("price", 12, 0.8),
    ("gender", 4, 0.8),
    ("name", 48, 0.4),
)
PRICE_LOW, PRICE_HIGH = 5.0, 2000.0
_TOKEN = re.compile(r"[a-z]+")


@lru_cache(maxsize=1 << 16)
def _bucket(block: str, token: str, width: int) -> int:
    # crc32 rather than hash(): Python's string hash is salted per process, so embeddings would
    # differ between the trainer and the server.
    return zlib.crc32(f"{block}:{token}".encode()) % width


@dataclass(frozen=True)
class ContentEncoder:
    """Encodes catalog items into unit-length float32 content vectors of width :attr:`dim`."""

    price_sigma: float = 0.7

    @property
    def offsets(self) -> dict[str, tuple[int, int, float]]:
        out, start = {}, 0
        for name, width, weight in BLOCKS:
            out[name] = (start, width, weight)
            start += width
        return out

    @property
    def dim(self) -> int:
        return sum(width for _, width, _ in BLOCKS)

    def encode(self, items: Sequence[StoreItem]) -> np.ndarray:
        """``(len(items), dim)`` float32, one unit row per item.

        The Python loop only collects ``(row, column)`` pairs; counting, per-block normalisation
        and weighting are done on the whole matrix at once (200,000 items in a few seconds).
        """
        off = self.offsets
        rows: list[int] = []
        cols: list[int] = []
        for row, item in enumerate(items):
            for block, spec_name, tokens in (
                ("cat", "category", (item.category,)),
                ("sub", "subcategory", (item.subcategory,)),
                ("col", "colors", item.colors),
                ("sty", "style", item.style_tags),
                ("name", "name", _TOKEN.findall(item.name.lower())),
            ):
                start, width, _ = off[spec_name]
                for token in tokens:
                    if token:
                        rows.append(row)
                        cols.append(start + _bucket(block, token, width))
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        np.add.at(out, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), 1.0)
        for name in ("category", "subcategory", "colors", "style", "name"):
            start, width, weight = off[name]
            seg = out[:, start : start + width]
            seg *= np.sqrt(weight) / np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-9)
        self._gender_into(out, off["gender"], [it.gender_target for it in items])
        self._price_into(out, off["price"], np.array([it.price for it in items], dtype=np.float64))
        return _normalise_rows(out)

    def with_category(self, vectors: np.ndarray, category: str, subcategory: str = "") -> np.ndarray:
        """Copy of ``vectors`` as if the items belonged to ``category``: the complement query.

        "A pair of shoes in this top's style, colours and price band" is the top's vector with its
        category blocks swapped, so content fit across categories is one inner product.
        """
        out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
        for block, token in (("category", category), ("subcategory", subcategory)):
            start, width, weight = self.offsets[block]
            out[:, start : start + width] = 0.0
            if token:
                out[:, start + _bucket(block[:3], token, width)] = np.sqrt(weight)
        return _normalise_rows(out)

    @staticmethod
    def _gender_into(out: np.ndarray, spec: tuple[int, int, float], genders: Sequence[str]) -> None:
        start, width, weight = spec
        table = np.zeros((len(GENDER_TARGETS) + 1, width), dtype=np.float32)
        for g in range(len(GENDER_TARGETS)):
            table[g, g] = 1.0
        # Unisex fits women and men alike, a little less than a targeted item; last row: unknown.
        table[GENDER_TARGETS.index("unisex"), :3] = (0.5, 0.5, 0.7)
        table /= np.maximum(np.linalg.norm(table, axis=1, keepdims=True), 1e-9)
        codes = [GENDER_TARGETS.index(g) if g in GENDER_TARGETS else len(GENDER_TARGETS) for g in genders]
        out[:, start : start + width] = table[codes] * np.sqrt(weight)

    def _price_into(self, out: np.ndarray, spec: tuple[int, int, float], prices: np.ndarray) -> None:
        start, width, weight = spec
        clipped = np.clip(prices, PRICE_LOW, PRICE_HIGH)
        pos = (np.log(clipped) - np.log(PRICE_LOW)) / (np.log(PRICE_HIGH) - np.log(PRICE_LOW)) * (width - 1)
        bands = np.exp(-0.5 * ((np.arange(width)[None, :] - pos[:, None]) / self.price_sigma) ** 2)
        bands /= np.linalg.norm(bands, axis=1, keepdims=True)
        bands[prices <= 0] = 0.0
        out[:, start : start + width] = (bands * np.sqrt(weight)).astype(np.float32)


def item_embeddings(
    content: np.ndarray,
    collaborative: np.ndarray | None,
    collaborative_weight: float = 0.7,
    popularity: np.ndarray | None = None,
) -> np.ndarray:
    """``[content | collaborative_weight · collaborative | popularity]`` as contiguous float32.

    ``collaborative`` holds unit ALS item factors in the same row order (zero rows for items never
    tried); ``None`` means no collaborative model yet and gives content-only vectors. ``popularity``
    (one value in [0, 1] per item, from the same model) becomes a last coordinate that the query
    multiplies by the ``mirror_popularity`` weight: a prior folded into the same inner product.
    """
    if collaborative is None:
        return np.ascontiguousarray(content, dtype=np.float32)
    if collaborative.shape[0] != content.shape[0]:
        raise ValueError(
            f"{collaborative.shape[0]} collaborative rows for {content.shape[0]} items: "
            "build both from the same item list"
        )
    cf = np.asarray(collaborative, dtype=np.float32) * np.float32(collaborative_weight)
    blocks = [content.astype(np.float32), cf]
    if popularity is not None:
        blocks.append(np.asarray(popularity, dtype=np.float32).reshape(-1, 1))
    return np.ascontiguousarray(np.hstack(blocks))


def _normalise_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-9), dtype=np.float32)
