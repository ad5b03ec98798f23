"""How one mirror request turns weights into FAISS queries and scored, explained candidates.

Every continuous signal is an inner product with the item's stored vector ``[content | w·cf]``:

* ``content``  — content vector · the tried item's (for complements: with its category swapped in),
* ``collaborative`` — unit ALS factor · the tried item's (co-try-on / co-purchase),
* ``session``  — closeness to the mean of the session's earlier try-ons,
* ``profile``  — content vector · the crowd profile's taste direction,
* ``popularity`` — the item's log-scaled session count (a prior; only with a trained model).

Because the blend is linear, one query vector per category carries all of them with the request's
weights, and the index returns the top candidates of the *blended* score directly. The declared
complement bonus and the category-compatibility factor are then applied to the few candidates, and
per-component contributions of the winners give each one its ``reason``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.mirror.index import StorePartition

SIMILAR_REASONS = {
    "content": "similar_style",
    "collaborative": "often_tried_instead",
    "session": "matches_your_session",
    "profile": "popular_with_crowd",
    "popularity": "popular_here",
    "variant": "same_piece",
}
COMPLEMENT_REASONS = {
    "content": "completes_the_look",
    "collaborative": "often_tried_with",
    "session": "matches_your_session",
    "profile": "popular_with_crowd",
    "popularity": "popular_here",
    "declared": "merchandiser_pick",
}


@dataclass(frozen=True)
class RequestSignals:
    """The tried item's and the session's vectors, split into content and unit-ALS parts."""

    content: np.ndarray
    collaborative: np.ndarray
    session_content: np.ndarray
    session_collaborative: np.ndarray
    taste: np.ndarray
    has_session: bool
    has_popularity: bool = False

    @classmethod
    def of(
        cls, part: StorePartition, row: int, session_rows: list[int], taste: np.ndarray, cf_weight: float
    ) -> RequestSignals:
        dc, end = part.content_dim, part.collaborative_end
        vec = part.vectors[row]
        scale = 1.0 / cf_weight if cf_weight > 0 else 0.0
        if session_rows:
            mean = part.vectors[session_rows].mean(axis=0)
            s_content, s_cf = mean[:dc], mean[dc:end] * scale
        else:
            s_content, s_cf = np.zeros(dc, np.float32), np.zeros(end - dc, np.float32)
        taste = taste if len(taste) == dc else np.zeros(dc, np.float32)
        return cls(vec[:dc], vec[dc:end] * scale, s_content, s_cf, taste, bool(session_rows), part.popularity_dims > 0)


def blended_query(
    content_query: np.ndarray, sig: RequestSignals, weights: dict[str, float], cf_weight: float
) -> np.ndarray:
    """The query vector whose inner product with a stored item vector is the blended score."""
    has_cf = len(sig.collaborative) > 0 and cf_weight > 0
    session_share = 0.5 if has_cf else 1.0
    ws = weights["mirror_session"]
    content_part = (
        weights["mirror_content"] * content_query
        + ws * session_share * sig.session_content
        + weights["mirror_profile"] * sig.taste
    )
    if not has_cf:
        return content_part.astype(np.float32)
    cf_part = (weights["mirror_collaborative"] * sig.collaborative + ws * 0.5 * sig.session_collaborative) / cf_weight
    blocks = [content_part, cf_part]
    if sig.has_popularity:
        blocks.append(np.array([weights["mirror_popularity"]], dtype=np.float32))
    return np.concatenate(blocks).astype(np.float32)


def contributions(
    part: StorePartition,
    rows: np.ndarray,
    content_query: np.ndarray,
    sig: RequestSignals,
    weights: dict[str, float],
    cf_weight: float,
) -> dict[str, np.ndarray]:
    """Weighted contribution of each signal to the score of ``rows`` (same order)."""
    dc = part.content_dim
    content = part.vectors[rows, :dc]
    out = {
        "content": weights["mirror_content"] * (content @ content_query),
        "profile": weights["mirror_profile"] * (content @ sig.taste),
    }
    has_cf = len(sig.collaborative) > 0 and cf_weight > 0
    session_share = 0.5 if has_cf else 1.0
    session = session_share * (content @ sig.session_content)
    if has_cf:
        cf = part.vectors[rows, dc : part.collaborative_end] / cf_weight
        out["collaborative"] = weights["mirror_collaborative"] * (cf @ sig.collaborative)
        session = session + 0.5 * (cf @ sig.session_collaborative)
        if sig.has_popularity:
            out["popularity"] = weights["mirror_popularity"] * part.vectors[rows, -1]
    out["session"] = weights["mirror_session"] * session
    return out


def explain(parts: dict[str, np.ndarray], reasons: dict[str, str]) -> list[str]:
    """One reason per candidate: the signal that lifts it most above the other candidates.

    Contributions are centred on the candidates' mean first; otherwise content, whose weight and
    values are the largest, would explain every item, even one that is there because it matches the
    session. Popularity is a prior, not a reason about the tried item: it explains a candidate only
    when no other signal lifts it. Another variant of the tried piece is always ``same_piece`` (the
    shopper sees at once why it is there) and a declared complement always a ``merchandiser_pick``:
    that is the most useful thing to tell the shopper and the merchandiser.
    """
    names = [name for name in parts if name in reasons and name not in ("popularity", *_ALWAYS)]
    if not names or len(next(iter(parts.values()))) == 0:
        return []
    lifts = np.stack([parts[name] - parts[name].mean() for name in names])
    chosen = [reasons[names[j]] for j in np.argmax(lifts, axis=0).tolist()]
    if "popularity" in parts and "popularity" in reasons:
        prior = parts["popularity"] - parts["popularity"].mean()
        unexplained = (lifts.max(axis=0) <= 0) & (prior > 0)
        chosen = [reasons["popularity"] if u else c for c, u in zip(chosen, unexplained.tolist(), strict=True)]
    for name in _ALWAYS:
        if name in parts and name in reasons:
            chosen = [reasons[name] if d > 0 else c for c, d in zip(chosen, parts[name], strict=True)]
    return chosen


_ALWAYS = ("variant", "declared")
"""Bonuses that are their own reason whenever they apply (a declared pick wins over a variant)."""
