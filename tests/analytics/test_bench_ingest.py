"""`vitrine bench ingest`: one small run goes through the real intake and reports every event accepted."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from screens.cli import app


def test_a_small_run_accepts_every_event_and_reports_per_event_costs() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "1000", "--repeats", "1"])
    assert result.exit_code == 0, result.output
    report, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{\n") :])
    report = report["result"]
    assert report["database"] == "sqlite" and report["repeats"] == 1
    assert report["median_us_per_event_wall"] > 0 and len(report["us_per_event_cpu"]) == 1


def test_fewer_than_a_thousand_events_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "10"])
    assert result.exit_code == 2 and "--events" in result.output


def test_the_http_run_posts_to_a_real_service_and_counts_what_it_accepted() -> None:
    result = CliRunner().invoke(app, ["bench", "ingest", "--events", "1000", "--repeats", "1", "--http"])
    assert result.exit_code == 0, result.output
    report, _ = json.JSONDecoder().raw_decode(result.output[result.output.index("{\n") :])
    report = report["result"]
    assert report["path"] == "HTTP batches of 1,000" and report["median_events_per_s"] > 0
