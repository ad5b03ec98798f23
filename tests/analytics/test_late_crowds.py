"""A crowd that arrives after the showings it explains takes them over (live batches, seconds apart)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from screens.auth import Principal
from screens.bus.memory import MemoryEventStream
from screens.db.rollups import BUCKET_S, CouponCellRollup, CouponRollup
from screens.db.session import make_engine
from screens.db.tables import Coupon, Screen, Store, table
from screens.services.events import IntakeConfig, ScreenInfo, ingest
from screens.services.rollups import RollupConfig
from tests.analytics.test_retention import sessions_for

CONFIG = IntakeConfig(RollupConfig(10.0, 7 * 86_400.0), retention_days=30)
SCREENS = {"lead1": ScreenInfo("lead_in", None)}
ADMIN = Principal(token_id=0, role="admin")
T0 = datetime.now(UTC) - timedelta(minutes=30)


def _event(kind: str, seconds: float, **fields: object) -> dict[str, object]:
    ts = (T0 + timedelta(seconds=seconds)).isoformat()
    return {"event_id": str(uuid.uuid4()), "type": kind, "ts": ts, "screen_id": "lead1", **fields}


def _crowd(seconds: float, *genders: str) -> dict[str, object]:
    return _event("audience", seconds, faces=[{"gender": g, "age": 30, "confidence": 0.9} for g in genders])


def _cells(session: Session) -> dict[str, tuple[float, int]]:
    c = table(CouponCellRollup).c
    query = select(c.cell, func.sum(c.impressions), func.sum(c.faces)).where(c.grain == BUCKET_S).group_by(c.cell)
    return {cell: (round(shown, 6), faces) for cell, shown, faces in session.execute(query) if faces}


def test_a_late_crowd_takes_over_the_showings_it_explains(database_url: str) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        session.add(Store(id="s1", name="s1", floor=1, zone="n", category="fashion"))
        session.add(Screen(id="lead1", kind="lead_in"))
        session.commit()
        session.add(Coupon(id="C1", store_id="s1", title="t", kind="percent", value=10, valid_from=T0, valid_to=T0))
        session.commit()

        def send(*events: dict[str, object]) -> None:
            result = ingest(
                session, MemoryEventStream(), list(events), SCREENS, ADMIN, CONFIG, sessions=sessions_for(engine)
            )
            assert result.accepted == len(events)

        send(_crowd(0, "female"))
        send(_event("coupon_impression", 6, coupon_id="C1"), _event("coupon_impression", 30, coupon_id="C1"))
        assert _cells(session) == {"female:25-34": (1.0, 1)}  # the second showing has no crowd yet
        send(_crowd(4, "male", "male"), _crowd(25, "male"))  # both arrive late
        assert _cells(session) == {"male:25-34": (2.0, 3)}
        unattributed = select(func.sum(table(CouponRollup).c.unattributed)).where(
            table(CouponRollup).c.grain == BUCKET_S
        )
        assert session.execute(unattributed).scalar_one() == 0
    engine.dispose()
