"""Offline evaluation in the mall simulator: the full ranker beats popularity and spreads the crowd."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from recsys.lab.leadin_eval import POLICIES, PolicyResult, entropy_bits, evaluate, gini, main, markdown_table
from recsys.lab.leadin_sim import Mall, SimConfig, cascade_claim, first_per_store

SMALL = SimConfig(n_stores=40, eval_groups=800, history_days=7, seed=1)


@pytest.fixture(scope="module")
def results() -> tuple[dict[str, PolicyResult], dict[str, Any]]:
    rows, extra = evaluate(SMALL)
    return {r.policy: r for r in rows}, dict(extra)


def test_full_ranker_beats_popularity_on_claim_rate(
    results: tuple[dict[str, PolicyResult], dict[str, Any]],
) -> None:
    by_policy, _ = results
    assert list(by_policy) == list(POLICIES)
    assert by_policy["heuristic+lightfm"].claim_rate > by_policy["popularity"].claim_rate + 0.03
    assert by_policy["heuristic"].claim_rate > by_policy["popularity"].claim_rate
    assert by_policy["heuristic+lightfm"].ndcg_at_5 > by_policy["popularity"].ndcg_at_5


def test_full_ranker_spreads_store_traffic_more_than_popularity(
    results: tuple[dict[str, PolicyResult], dict[str, Any]],
) -> None:
    by_policy, _ = results
    assert by_policy["heuristic+lightfm"].send_gini < by_policy["popularity"].send_gini
    assert by_policy["heuristic+lightfm"].send_entropy_bits > by_policy["popularity"].send_entropy_bits


def test_every_policy_beats_random_on_claim_rate(
    results: tuple[dict[str, PolicyResult], dict[str, Any]],
) -> None:
    by_policy, extra = results
    assert all(by_policy[p].claim_rate > by_policy["random"].claim_rate for p in POLICIES[1:])
    assert extra["lightfm"]["new"]["auc"] > 0.55


def test_simulated_history_logs_impressions_visits_and_stats() -> None:
    mall = Mall.generate(SimConfig(n_stores=10, history_days=1, history_groups_per_day=50)).simulate_history()
    assert len(mall.impressions) > 0 and any(i.claimed for i in mall.impressions)
    assert set(mall.stats) <= set(mall.store_ids) and mall.audience.store_ids


def test_spread_metrics() -> None:
    assert gini(np.array([5.0, 5.0, 5.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 9.0])) == pytest.approx(2 / 3)
    assert entropy_bits(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(2.0)
    assert entropy_bits(np.zeros(3)) == 0.0


def test_cascade_and_slate_helpers() -> None:
    assert cascade_claim(np.array([0.0, 1.0, 1.0]), np.array([0.5, 0.5, 0.5])) == 1
    assert cascade_claim(np.array([0.0, 0.0]), np.array([0.5, 0.5])) == -1
    rows = first_per_store(np.array([3, 0, 1, 2]), np.array([0, 0, 1, 1]), k=5)
    assert rows.tolist() == [3, 0]  # rows 3 and 0 are the first seen of stores 1 and 0


def test_markdown_table_and_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", "2", "--groups", "50", "--stores", "12", "--history-days", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("| policy | claim rate | NDCG@5 |") and "heuristic+lightfm" in out
    assert markdown_table([]).count("\n") == 1
