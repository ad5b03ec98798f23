"""`vitrine bench coupons` refuses set-ups it cannot run, before starting any process."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from screens.cli import app


def test_several_workers_without_redis_are_refused_naming_the_option() -> None:
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "2", "--duration", "1"])
    assert result.exit_code == 2
    assert "--workers" in result.output and "--redis-url" in result.output


def test_a_machine_without_wrk_is_told_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "1", "--duration", "1"])
    assert result.exit_code == 2
    assert "wrk is not installed" in result.output and "make wrk" in result.output


def test_an_unknown_crowd_is_refused() -> None:
    result = CliRunner().invoke(app, ["bench", "coupons", "--workers", "1", "--crowds", "rush"])
    assert result.exit_code == 2
    assert "--crowds" in result.output
