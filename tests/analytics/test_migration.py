"""Migration 0004 works on a database that already holds events: they are partitioned and rolled up."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from sqlmodel import Session

from screens.db.partitions import is_partitioned
from screens.db.rollups import BUCKET_S, AudienceRollup, VisitRollup
from screens.db.session import make_engine, upgrade
from screens.db.tables import EventRecord, Store, table
from screens.services import analytics
from tests.analytics import reference
from tests.servers import postgres_available, scratch_postgres_database

NOW = datetime.fromtimestamp(datetime.now(UTC).timestamp() // BUCKET_S * BUCKET_S, UTC)
"""On a quarter hour, so the raw-log reference and the rollups see the same window."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at revision 0003 (before rollups), empty."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/old.db"
        upgrade(url, "0003")
        yield url
        return
    if not postgres_available():
        pytest.skip("no PostgreSQL server reachable")
    with scratch_postgres_database() as url:
        upgrade(url, "0003")
        yield url


def test_upgrade_partitions_and_rolls_up_the_events_already_logged(old_database: str) -> None:
    engine = make_engine(old_database)
    rows = []
    for i in range(200):
        ts = NOW - timedelta(hours=i * 2.5, seconds=1)
        payload = {
            "event_id": str(uuid.uuid4()),
            "type": "store_visit",
            "ts": ts.isoformat(),
            "screen_id": "cam-s1",
            "store_id": "s1",
            "gender": ["female", "male"][i % 2],
            "age": 20 + i % 40,
            "group": None,
        }
        rows.append(
            {
                **{k: payload[k] for k in ("event_id", "type", "screen_id", "store_id")},
                "ts": ts,
                "payload": payload,
                "received_at": NOW,
            }
        )
    with Session(engine) as session:
        session.add(Store(id="s1", name="s1", floor=1, zone="n", category="fashion"))
        session.execute(insert(table(EventRecord)), rows)
        session.commit()
    engine.dispose()

    upgrade(old_database)

    engine = make_engine(old_database)
    with engine.connect() as conn:
        assert is_partitioned(conn) == (engine.dialect.name == "postgresql")
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(table(EventRecord))).scalar_one() == 200
        assert session.execute(select(func.sum(table(VisitRollup).c.visits))).scalar_one() == 200
        assert session.execute(select(func.count()).select_from(table(AudienceRollup))).scalar_one() > 0
        window = analytics.Window.last_days(21, 0, 5, now=NOW)
        new = analytics.store_audience(session, "s1", window).model_dump()
        old = reference.store_audience(session, "s1", window).model_dump()
        assert new == old and new["all_day"]["total"] > 150
    engine.dispose()
