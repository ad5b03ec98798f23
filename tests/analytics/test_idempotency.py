"""An event id is a duplicate however its re-send is timed, on the partitioned log too (issue 17)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from screens.bus.memory import MemoryEventStream
from screens.db.rollups import TrafficRollup
from screens.db.session import make_engine
from screens.db.tables import table
from screens.services.events import ingest
from tests.analytics.test_retention import ADMIN, KEEP_ALL, SCREENS, _fill, _visit, sessions_for


def test_a_resent_event_with_another_time_is_still_a_duplicate(database_url: str) -> None:
    _fill(database_url, [3])  # the store, its camera and one earlier visit
    first = _visit(2)
    again = {**first, "ts": (first_ts := str(first["ts"]))[:-6] + "+01:00"}  # same id, other time
    assert again["ts"] != first_ts
    later = {**first, "ts": _visit(1)["ts"]}
    engine = make_engine(database_url)
    with Session(engine) as session:
        assert (
            ingest(
                session, MemoryEventStream(), [first], SCREENS, ADMIN, KEEP_ALL, sessions=sessions_for(engine)
            ).accepted
            == 1
        )
        result = ingest(
            session, MemoryEventStream(), [again, later], SCREENS, ADMIN, KEEP_ALL, sessions=sessions_for(engine)
        )
        assert (result.accepted, result.duplicates) == (0, 2)
        assert session.execute(select(func.sum(table(TrafficRollup).c.visits))).scalar_one() == 2
    engine.dispose()
