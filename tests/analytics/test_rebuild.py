"""`vitrine analytics rebuild` recomputes the rollups the intake kept, from the raw log (issue 17)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlmodel import Session
from typer.testing import CliRunner

from screens.cli import app
from screens.db.rollups import ROLLUPS, AudienceRollup, CouponCellRollup, VisitRollup
from screens.db.session import make_engine
from screens.db.tables import table
from screens.settings import Settings
from tests.analytics.test_rollups_match_the_raw_log import CROWD_WINDOW_S, NOW, K, _load
from tests.conftest import make_settings


def _rollups(url: str) -> dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]:
    engine = make_engine(url)
    snapshot = {}
    with Session(engine) as session:
        for model in ROLLUPS:
            t = table(model)
            keys = [c.name for c in t.primary_key.columns]
            values = [c for c in t.columns if c.name not in keys]
            rows = session.execute(select(*t.primary_key.columns, *values)).all()
            snapshot[t.name] = {
                tuple(r[: len(keys)]): tuple(r[len(keys) :])
                for r in rows
                if any(r[len(keys) :])  # rows a re-attribution emptied are equal to absent ones
            }
    engine.dispose()
    return snapshot


def _approx(snapshot: dict[str, dict[tuple[Any, ...], tuple[Any, ...]]]) -> dict[str, Any]:
    # Audience weights grow as 2^(age / half-life) within an epoch (about 1e8 here), and the rebuild
    # sums them in another order than the intake did: equal to 1e-9 relative, not to 6 decimals.
    return {
        name: {
            key: tuple(pytest.approx(v, rel=1e-9) if isinstance(v, float) else v for v in values)
            for key, values in rows.items()
        }
        for name, rows in snapshot.items()
    }


@pytest.fixture
def loaded(database_url: str) -> Settings:
    return _load(make_settings(database_url, k_anonymity=K, crowd_window_s=CROWD_WINDOW_S))


def _run(settings: Settings, *args: str) -> Any:
    env = {"VITRINE_DATABASE_URL": settings.database_url, "VITRINE_CROWD_WINDOW_S": str(CROWD_WINDOW_S)}
    return CliRunner().invoke(app, ["analytics", "rebuild", *args], env=env)


def test_rebuild_restores_the_rollups_intake_kept(loaded: Settings) -> None:
    kept = _rollups(loaded.database_url)
    engine = make_engine(loaded.database_url)
    with Session(engine) as session:  # a bug: half the visits lost, cell shares doubled
        session.execute(delete(table(VisitRollup)).where(table(VisitRollup).c.cell.like("female%")))
        cells = table(CouponCellRollup)
        session.execute(update(cells).values(impressions=cells.c.impressions * 2))
        session.commit()
    engine.dispose()
    assert _rollups(loaded.database_url) != _approx(kept)

    result = _run(loaded, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "store audiences rebuilt" in result.output
    assert _rollups(loaded.database_url) == _approx(kept)


def test_rebuild_since_a_day_keeps_earlier_buckets_and_the_audiences(loaded: Settings) -> None:
    kept = _rollups(loaded.database_url)
    engine = make_engine(loaded.database_url)
    with Session(engine) as session:
        session.execute(update(table(VisitRollup)).values(visits=1000))  # every bucket damaged
        session.execute(update(table(AudienceRollup)).values(weight=1.0))
        session.commit()
    engine.dispose()
    day = NOW.date().isoformat()
    result = _run(loaded, "--since", day, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "store audiences kept" in result.output
    after = _rollups(loaded.database_url)
    today = int(NOW.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
    visits = after["rollup_visits"]
    assert all(v == _approx(kept)["rollup_visits"][k] for k, v in visits.items() if k[1] >= today)
    assert all(v == (1000,) for k, v in visits.items() if k[1] < today)
    assert all(v == (1.0,) for v in after["rollup_store_audience"].values())


def test_rebuild_refuses_a_date_it_cannot_read(loaded: Settings) -> None:
    result = _run(loaded, "--since", "last tuesday")
    assert result.exit_code == 2
    assert "--since" in result.output and "not a date" in result.output
