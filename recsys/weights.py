"""Named ranking weights that ops may tune, with their defaults and bounds.

The service validates every update against this table (unknown keys or values outside the bounds are
rejected), so the ranking code can trust that each weight exists and is in range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class WeightSpec:
    default: float
    low: float
    high: float
    help: str


WEIGHT_SPECS: Final[dict[str, WeightSpec]] = {
    # Lead-in coupon ranking: score = sum(component × weight).
    # The calibrated claim model dominates ("rank by expected claims"); the store-level heuristics are
    # small terms. Chosen on real offers (docs/evaluation.md): with these, the default ranking is at
    # least as good as the claim model alone on held-out offers.
    "audience_match": WeightSpec(0.3, 0.0, 10.0, "over-representation of the crowd's cells among the store's visitors"),
    "popularity": WeightSpec(0.1, 0.0, 10.0, "store visits relative to the busiest store"),
    "efficiency": WeightSpec(0.1, 0.0, 10.0, "claims per visit of the store"),
    "crowding": WeightSpec(0.5, 0.0, 10.0, "penalty for stores that are crowded right now"),
    "coupon_strength": WeightSpec(0.5, 0.0, 10.0, "discount depth, remaining stock and expiry of the coupon"),
    "learned": WeightSpec(5.0, 0.0, 10.0, "claim model: probability of a claim for this crowd, company and hour"),
    "category_diversity": WeightSpec(0.3, 0.0, 10.0, "penalty for repeating a store category in the top k"),
    "exploration": WeightSpec(0.1, 0.0, 1.0, "share of slots re-ranked by Thompson sampling on claim rate"),
    # Fitting-mirror re-ranking.
    "mirror_content": WeightSpec(1.0, 0.0, 10.0, "content similarity (category, colours, style, price, gender)"),
    "mirror_collaborative": WeightSpec(0.7, 0.0, 10.0, "co-try-on / co-purchase (implicit ALS) item-item score"),
    "mirror_declared": WeightSpec(1.0, 0.0, 10.0, "complements declared by the merchandiser"),
    "mirror_profile": WeightSpec(0.3, 0.0, 10.0, "fit of the item to the crowd profile in front of the mirror"),
    "mirror_session": WeightSpec(0.4, 0.0, 10.0, "closeness to the session's earlier try-ons"),
    "mirror_popularity": WeightSpec(
        1.0, 0.0, 10.0, "complementary lists: how often the item is tried on and bought (log-scaled prior)"
    ),
    "mirror_variant": WeightSpec(
        0.2, 0.0, 10.0, "similar lists: bonus for the tried piece's other variants (same name: other colours)"
    ),
}


def default_weights() -> dict[str, float]:
    return {name: spec.default for name, spec in WEIGHT_SPECS.items()}


def validate_weights(values: dict[str, float]) -> list[tuple[str, str]]:
    """Return ``(field, reason)`` for every unknown key or out-of-range value; empty when valid."""
    errors: list[tuple[str, str]] = []
    for name, value in values.items():
        spec = WEIGHT_SPECS.get(name)
        if spec is None:
            errors.append((name, f"unknown weight; known weights: {', '.join(WEIGHT_SPECS)}"))
        elif not spec.low <= value <= spec.high:
            errors.append((name, f"must be between {spec.low} and {spec.high}, got {value}"))
    return errors
