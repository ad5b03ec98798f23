"""Training reads only the days it learns from (issue 17)."""

from __future__ import annotations

from sqlmodel import Session

from screens.db.session import make_engine
from screens.services.event_log import events_since
from tests.analytics.test_retention import _fill


def test_training_reads_only_its_window_of_days(database_url: str) -> None:
    _fill(database_url, [20, 15, 6, 2, 0.5])
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert len(list(events_since(session, ["store_visit"], days=7))) == 3
        assert len(list(events_since(session, ["store_visit"], days=28))) == 5
        assert list(events_since(session, ["audience"], days=28)) == []
    engine.dispose()
