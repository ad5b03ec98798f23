"""Store audience distributions: decay, smoothing, k-anonymity, Laplace noise, serialisable state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recsys.attributes import CELL_INDEX, KNOWN_CELLS
from recsys.audience import DAY_S, StoreAudience, visit_increment

T = 1_718_000_000.0


def _audience(n_big: int = 60, n_small: int = 5) -> StoreAudience:
    audience = StoreAudience()
    for i in range(n_big):
        audience.add_visit("big", T - i * 60, 15, "female", 22)
    for i in range(n_small):
        audience.add_visit("small", T - i * 60, 15, "male", 60)
    return audience


def test_visit_counts_halve_every_half_life() -> None:
    audience = StoreAudience(half_life_s=7 * DAY_S)
    audience.add_visit("s", T, 10, "female", 30)
    assert audience.visits(T + 7 * DAY_S)[0] == pytest.approx(0.5)
    assert audience.visits(T + 14 * DAY_S)[0] == pytest.approx(0.25)


def test_k_anonymity_hides_small_stores() -> None:
    audience = _audience()
    assert audience.publishable("small", T, k=20) is None
    assert audience.publishable("never-seen", T, k=20) is None
    published = audience.publishable("big", T, k=20)
    assert published is not None and published.shares == {"female:18-24": 1.0}


def test_k_anonymity_counts_decayed_visits() -> None:
    audience = _audience(n_big=30)
    assert audience.publishable("big", T, k=20) is not None
    assert audience.publishable("big", T + 7 * DAY_S, k=20) is None  # 30 visits now weigh 15


def test_laplace_noise_perturbs_published_shares_only() -> None:
    audience = _audience(n_big=200)
    noisy = audience.publishable("big", T, k=20, epsilon=0.5, rng=np.random.default_rng(0))
    assert noisy is not None and noisy.epsilon == 0.5
    assert sum(noisy.shares.values()) == pytest.approx(1.0)
    assert len(noisy.shares) > 1 and noisy.shares["female:18-24"] > 0.5
    assert audience.publishable("big", T, k=20).shares == {"female:18-24": 1.0}  # type: ignore[union-attr]


def test_young_store_is_smoothed_toward_the_mall() -> None:
    audience = _audience(n_big=300, n_small=3)
    dist = audience.smoothed_distribution(T)
    small = audience.store_ids.index("small")
    male_old = KNOWN_CELLS.index("male:55-64")
    female_young = KNOWN_CELLS.index("female:18-24")
    assert dist[small].sum() == pytest.approx(1.0)
    assert dist[small, female_young] > dist[small, male_old]  # 3 visits do not outweigh the mall


def test_lift_reads_partial_cells_through_marginals() -> None:
    audience = _audience(n_big=100, n_small=100)
    lift = audience.lift(T)
    big = lift.store_ids.index("big")
    assert lift.log_lift[big, CELL_INDEX["female:unknown"]] > 0
    assert lift.log_lift[big, CELL_INDEX["male:unknown"]] < 0
    assert np.allclose(lift.log_lift[:, CELL_INDEX["unknown:unknown"]], 0.0)


def test_state_round_trips_through_plain_json() -> None:
    audience = _audience()
    restored = StoreAudience.from_state(json.loads(json.dumps(audience.to_state())))
    assert np.allclose(restored.counts(T + DAY_S), audience.counts(T + DAY_S))


def test_redis_style_increments_match_in_process_counts() -> None:
    audience = StoreAudience()
    audience.add_visit("s", T, 15, "female", 22)
    t_ref = audience.t_ref
    assert t_ref is not None
    stored = visit_increment(T, t_ref) + visit_increment(T + DAY_S, t_ref)
    audience.add_visit("s", T + DAY_S, 15, "female", 22)
    assert audience.to_state()["stores"]["s"]["afternoon|female:18-24"] == pytest.approx(stored)


def test_rebasing_keeps_decayed_counts() -> None:
    audience = _audience()
    later = audience.rebased(T + 30 * DAY_S)
    assert np.allclose(later.counts(T + 31 * DAY_S), audience.counts(T + 31 * DAY_S))
