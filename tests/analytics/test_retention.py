"""Raw events are retired after the retention period on both databases; the rollups stay (issue 17)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Row, func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from screens.auth import Principal
from screens.bus.memory import MemoryEventStream, make_memory_bus
from screens.db.partitions import EVENT_LEDGER, ensure_partitions, is_partitioned, partition_days, partition_name
from screens.db.rollups import (
    BUCKET_S,
    DAY_S,
    CouponCellRollup,
    CouponRollup,
    FlowRollup,
    PlayRollup,
    TrafficRollup,
    VisitRollup,
)
from screens.db.session import make_engine
from screens.db.tables import Coupon, EventRecord, Screen, Store, table
from screens.services import analytics
from screens.services.events import IntakeConfig, ScreenInfo, ingest
from screens.services.leadin import analytics as leadin_analytics
from screens.services.leadin.proof_of_play import proof_of_play
from screens.services.retention import checkpoint_wal, prune_rollups, retire_raw_events
from screens.services.rollups import RollupConfig
from screens.services.session_window import SessionPolicy
from screens.settings import Settings

NOW = datetime.now(UTC)
KEEP_ALL = IntakeConfig(RollupConfig(10.0, 7 * 86_400.0), retention_days=3650)
ADMIN = Principal(token_id=0, role="admin")
SCREENS = {"cam-s1": ScreenInfo("entrance_camera", "s1")}


def sessions_for(engine: Engine) -> SessionPolicy:
    """The mirror-session policy intake needs (these events name no session; issue 13)."""
    return SessionPolicy(engine, make_memory_bus().counters, "test-secret", 7200.0)


def _visit(days_ago: float) -> dict[str, object]:
    ts = NOW - timedelta(days=days_ago)
    return {
        "event_id": str(uuid.uuid4()),
        "type": "store_visit",
        "ts": ts.isoformat(),
        "screen_id": "cam-s1",
        "gender": "female",
        "age": 30,
    }


def _log_count(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(table(EventRecord))).scalar_one())


def _visits_rolled_up(session: Session) -> int:
    return int(session.execute(select(func.sum(table(VisitRollup).c.visits))).scalar_one() or 0)


def _fill(database_url: str, ages_in_days: list[float], engine: Engine | None = None) -> None:
    """Log store visits of these ages (intake with a long retention, as a backfill would)."""
    own = engine is None
    engine = engine or make_engine(database_url)
    with engine.begin() as conn:
        if is_partitioned(conn):
            ensure_partitions(conn, (NOW - timedelta(days=max(ages_in_days) + 1)).date(), NOW.date())
    with Session(engine) as session:
        session.add(Store(id="s1", name="s1", floor=1, zone="n", category="fashion"))
        session.commit()
        visits = [_visit(d) for d in ages_in_days]
        result = ingest(session, MemoryEventStream(), visits, SCREENS, ADMIN, KEEP_ALL, sessions=sessions_for(engine))
        assert result.accepted == len(ages_in_days)
    if own:
        engine.dispose()


def test_raw_events_past_retention_are_dropped_and_rollups_stay(database_url: str) -> None:
    _fill(database_url, [45, 44.5, 40, 31, 12, 3, 0.1])
    engine = make_engine(database_url)
    result = retire_raw_events(engine, retention_days=30, now=NOW)
    with Session(engine) as session:
        assert _log_count(session) == 3
        oldest = session.execute(select(func.min(table(EventRecord).c.ts))).scalar_one()
        assert oldest.replace(tzinfo=oldest.tzinfo or UTC) >= NOW - timedelta(days=31)
        assert _visits_rolled_up(session) == 7
        window = analytics.Window.last_days(60, 0, 1, now=NOW)
        assert analytics.store_audience(session, "s1", window).all_day.total == 7
        assert analytics.mall_traffic(session, window).total == 7
    if engine.dialect.name == "postgresql":
        assert partition_name((NOW - timedelta(days=45)).date()) in result.dropped_partitions
        with engine.connect() as conn:
            assert min(partition_days(conn)) == result.cutoff.date()
            ledger = conn.execute(select(func.count()).select_from(EVENT_LEDGER)).scalar_one()
            assert ledger == 3  # the ids of dropped days go with them
            assert max(partition_days(conn)) >= NOW.date() + timedelta(days=7)
    else:
        assert result.deleted_rows == 4
    assert retire_raw_events(engine, retention_days=30, now=NOW).deleted_rows == 0  # idempotent
    engine.dispose()


def test_events_older_than_the_retention_are_refused_with_the_reason(
    client: TestClient, settings: Settings, auth: object
) -> None:
    headers = auth("admin")  # type: ignore[operator]
    client.put("/v1/stores/s1", json={"name": "s1", "floor": 1, "zone": "n", "category": "x"}, headers=headers)
    client.put("/v1/screens/cam-s1", json={"kind": "entrance_camera", "store_id": "s1"}, headers=headers)
    answer = client.post("/v1/events", json={"events": [_visit(31), _visit(1), _visit(-2)]}, headers=headers).json()
    assert answer["accepted"] == 1 and answer["rejected"] == 2
    messages = [e["message"] for e in answer["errors"]]
    assert "30-day retention" in messages[0] and "ahead" in messages[1]


def test_sqlite_wal_is_truncated_by_the_checkpoint(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    _fill(sqlite_url, [i / 1000 for i in range(3_000)], engine)
    wal = Path(sqlite_url.removeprefix("sqlite:///") + "-wal")
    with Session(engine) as session:  # a reader holding a snapshot would starve plain checkpoints
        assert _log_count(session) == 3_000
    assert wal.stat().st_size > 0
    busy, _, _ = checkpoint_wal(engine) or (1, 0, 0)
    assert busy == 0 and wal.stat().st_size == 0
    with Session(engine) as session:
        assert int(session.execute(select(func.sum(table(TrafficRollup).c.visits))).scalar_one()) == 3_000
    engine.dispose()


@pytest.mark.postgres
def test_postgres_event_log_is_partitioned_by_day(postgres_server_url: str) -> None:
    engine = make_engine(postgres_server_url)
    with engine.connect() as conn:
        assert is_partitioned(conn)
        days = partition_days(conn)
    assert days[0] <= (NOW - timedelta(days=30)).date() and days[-1] >= (NOW + timedelta(days=7)).date()
    engine.dispose()


def _showings(ages_in_days: list[float]) -> list[dict[str, object]]:
    """A crowd, a showing and a claim at the lead-in screen, at each age."""
    events: list[dict[str, object]] = []
    for days in ages_in_days:
        at = NOW - timedelta(days=days)
        face = {"gender": "female", "age": 30, "confidence": 0.9}
        for kind, dt, extra in (
            ("audience", 0, {"faces": [face]}),
            ("coupon_impression", 2, {"coupon_id": "c1", "explored": False}),
            ("coupon_claim", 4, {"coupon_id": "c1"}),
        ):
            ts = (at + timedelta(seconds=dt)).isoformat()
            events.append({"event_id": str(uuid.uuid4()), "type": kind, "ts": ts, "screen_id": "lead1", **extra})
    return events


def _rows(session: Session, model: type[SQLModel], grain: int) -> list[Row[Any]]:
    rollup = table(model)
    query = select(rollup).where(rollup.c.grain == grain).order_by(*rollup.primary_key.columns)
    return list(session.execute(query))


PRUNED = (CouponRollup, FlowRollup, CouponCellRollup, PlayRollup)


def test_quarter_hour_rollups_past_the_analytics_window_are_pruned_and_days_stay(database_url: str) -> None:
    ages = [200, 120, 95, 92.5, 91.9, 30, 2, 0.01]  # the cut is 93 days before today's UTC midnight
    engine = make_engine(database_url)
    with engine.begin() as conn:
        if is_partitioned(conn):
            ensure_partitions(conn, (NOW - timedelta(days=201)).date(), NOW.date())
    with Session(engine) as session:
        session.add(Store(id="s1", name="s1", floor=1, zone="n", category="fashion"))
        session.add(Screen(id="lead1", kind="lead_in", zone="atrium"))
        session.flush()
        valid = {"valid_from": NOW - timedelta(days=300), "valid_to": NOW + timedelta(days=10)}
        session.add(Coupon(id="c1", store_id="s1", title="t", kind="percent", value=10.0, **valid))
        session.commit()
        screens = {"lead1": ScreenInfo("lead_in", None)}
        events = _showings(ages)
        result = ingest(session, MemoryEventStream(), events, screens, ADMIN, KEEP_ALL, sessions=sessions_for(engine))
        assert result.accepted == len(events)
    window = analytics.Window.last_days(92, 120, 1, now=NOW)  # a time zone: the ragged ends are not UTC days
    cut = (int(NOW.timestamp()) // DAY_S - 93) * DAY_S
    with Session(engine) as session:
        before = leadin_analytics.store_coupons(session, "s1", window, 0.1)
        played = proof_of_play(session, window, 10.0)
        days = {m: _rows(session, m, DAY_S) for m in PRUNED}
        young = {m: [r for r in _rows(session, m, BUCKET_S) if r._mapping["bucket"] >= cut] for m in PRUNED}
        old = sum(len(_rows(session, m, BUCKET_S)) - len(young[m]) for m in PRUNED)
    assert old >= 12  # coupons, flow, plays and a cell for each of the three oldest showings
    assert prune_rollups(engine, now=NOW) == old
    with Session(engine) as session:
        for model in PRUNED:
            assert _rows(session, model, BUCKET_S) == young[model] and young[model], model
            assert _rows(session, model, DAY_S) == days[model], model  # daily rows are kept
        after = leadin_analytics.store_coupons(session, "s1", window, 0.1)
        assert proof_of_play(session, window, 10.0) == played
        assert played.rows[0].impressions == sum(a < 92 for a in ages)
    assert after == before
    assert before.coupons[0].pacing.claims_in_validity == len(ages)  # read from the days since valid_from
    assert prune_rollups(engine, now=NOW) == 0
    engine.dispose()
