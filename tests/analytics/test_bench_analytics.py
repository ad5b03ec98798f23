"""`vitrine bench analytics`: its synthetic log and its argument checks (the run itself is a benchmark)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlmodel import Session
from typer.testing import CliRunner

from screens.app import create_app
from screens.cli import app
from screens.db.partitions import EVENT_LEDGER
from screens.db.session import make_engine
from screens.db.tables import EventRecord, table
from screens.schemas.events import EVENT_ADAPTER
from screens.services import rebuild as rebuild_module
from screens.tools.analytics_bench import SPAN, _mall, bulk_fill, passes, rebuild_rollups
from tests.analytics.test_rebuild import _approx, _rollups
from tests.analytics.test_rollups_match_the_raw_log import _admin
from tests.conftest import make_settings


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


def _log_payloads(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.execute(select(table(EventRecord).c.event_id, table(EventRecord).c.payload)).all()
    engine.dispose()
    return dict(rows)


def test_the_bulk_fill_and_rebuild_keep_what_intake_keeps(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk path of the 1M/10M points writes the log intake writes and the rollups intake keeps.

    Small pages make the rebuild merge its per-type cursors across many fetches.
    """
    monkeypatch.setattr(rebuild_module, "PAGE", 97)
    settings = make_settings(database_url)
    events = [e for batch in passes(3_000, per_pass=3_000) for e in batch]
    with TestClient(create_app(settings)) as client:
        client.headers.update(_admin(settings))
        _mall(client)
        for start in range(0, len(events), 1_000):
            answer = client.post("/v1/events", json={"events": events[start : start + 1_000]}).json()
            assert answer["accepted"] == len(events[start : start + 1_000]), answer
    by_intake, logged = _rollups(database_url), _log_payloads(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(delete(table(EventRecord)))
        if conn.dialect.name == "postgresql":
            conn.execute(delete(EVENT_LEDGER))
    engine.dispose()

    assert bulk_fill(database_url, iter([events[:1_234], events[1_234:]])) == len(events)
    assert rebuild_rollups(database_url) == len(events)
    assert _log_payloads(database_url) == logged
    assert _rollups(database_url) == _approx(by_intake)
    assert by_intake["rollup_coupons"] and by_intake["rollup_flow"] and by_intake["rollup_store_audience"]


def test_a_kept_database_is_timed_again_without_a_fill(tmp_path: Any) -> None:
    """`--keep` leaves the filled SQLite file behind and `--kept URL` times it at the size it holds."""
    import json
    import shutil
    from pathlib import Path

    runner = CliRunner()
    filled = runner.invoke(app, ["bench", "analytics", "--sizes", "1000", "--bulk", "--keep", "--repeats", "5"])
    assert filled.exit_code == 0, filled.output
    first = json.loads(filled.stdout[filled.stdout.index("{") :])["result"]
    url = first["kept"]
    path = Path(url.removeprefix("sqlite:///"))
    try:
        assert path.is_file()
        again = runner.invoke(app, ["bench", "analytics", "--kept", url, "--repeats", "5"])
        assert again.exit_code == 0, again.output
        second = json.loads(again.stdout[again.stdout.index("{") :])["result"]
        assert second["sizes"][0]["events"] == first["sizes"][0]["events"] >= 1000
        assert set(second["sizes"][0]["endpoints"]) == set(first["sizes"][0]["endpoints"])
    finally:
        shutil.rmtree(path.parent)


def test_kept_names_a_database_to_time() -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["bench", "analytics", "--kept", "sqlite:////nowhere/bench.db"])
    assert missing.exit_code == 2 and "no such SQLite file" in missing.output
    both = runner.invoke(app, ["bench", "analytics", "--kept", "sqlite:////nowhere/bench.db", "--keep"])
    assert both.exit_code == 2 and "--kept" in both.output
    odd = runner.invoke(app, ["bench", "analytics", "--kept", "bench.db"])
    assert odd.exit_code == 2 and "URL" in odd.output
