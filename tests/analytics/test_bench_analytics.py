"""`vitrine bench analytics`: its synthetic log and its argument checks (the run itself is a benchmark)."""

from __future__ import annotations

from datetime import datetime, timedelta

from typer.testing import CliRunner

from screens.cli import app
from screens.schemas.events import EVENT_ADAPTER
from screens.tools.analytics_bench import SPAN, passes


def test_each_pass_spans_the_same_days_in_time_order_in_valid_batches() -> None:
    batches = list(passes(12_000, per_pass=6_000))
    assert 12_000 <= sum(len(b) for b in batches) < 12_010
    assert all(len(b) <= 1_000 for b in batches)
    events = [e for b in batches for e in b]
    for event in events[:500]:
        EVENT_ADAPTER.validate_python(event)
    times = [datetime.fromisoformat(e["ts"]) for e in events]
    half = len(times) // 2
    first, second = times[:half], times[half:]
    for one_pass in (first, second):
        assert max(one_pass) - min(one_pass) > SPAN - timedelta(days=1)
    assert {e["type"] for e in events} == {"audience", "coupon_impression", "coupon_claim", "store_visit"}


def test_sizes_must_be_numbers_of_at_least_a_thousand_events() -> None:
    runner = CliRunner()
    bad = runner.invoke(app, ["bench", "analytics", "--sizes", "lots"])
    assert bad.exit_code == 2 and "--sizes" in bad.output
    small = runner.invoke(app, ["bench", "analytics", "--sizes", "10"])
    assert small.exit_code == 2 and "at least 1000" in small.output
