"""Migrations 0004–0007 work on a database that already holds events: they are partitioned and rolled
up, and play rollups of revision 0006 keep their pairs when 0007 numbers them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlmodel import Session

from screens.db.partitions import is_partitioned
from screens.db.rollups import BUCKET_S, AudienceRollup, VisitRollup, pair_of
from screens.db.session import make_engine, upgrade
from screens.db.tables import Coupon, EventRecord, Screen, Store, table
from screens.services import analytics
from screens.services.leadin.proof_of_play import proof_of_play
from tests.analytics import reference
from tests.servers import postgres_available, scratch_postgres_database

NOW = datetime.fromtimestamp(datetime.now(UTC).timestamp() // BUCKET_S * BUCKET_S, UTC)
"""On a quarter hour, so the raw-log reference and the rollups see the same window."""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables yet, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/old.db"
        return
    if not postgres_available():
        pytest.skip("no PostgreSQL server reachable")
    with scratch_postgres_database() as url:
        yield url


@pytest.fixture
def old_database(empty_database: str) -> str:
    """A database at revision 0003 (before rollups), empty."""
    upgrade(empty_database, "0003")
    return empty_database


def _logged(payload: dict[str, object], ts: datetime) -> dict[str, object]:
    payload = {"event_id": str(uuid.uuid4()), "ts": ts.isoformat(), **payload}
    return {
        **{k: payload.get(k) for k in ("event_id", "type", "screen_id", "store_id")},
        "ts": ts,
        "payload": payload,
        "received_at": NOW,
    }


def test_upgrade_partitions_and_rolls_up_the_events_already_logged(old_database: str) -> None:
    engine = make_engine(old_database)
    rows = []
    for i in range(200):
        ts = NOW - timedelta(hours=i * 2.5, seconds=1)
        visit = {"type": "store_visit", "screen_id": "cam-s1", "store_id": "s1", "group": None}
        rows.append(_logged({**visit, "gender": ["female", "male"][i % 2], "age": 20 + i % 40}, ts))
        faces = [{"gender": "female", "age": 30, "confidence": 0.9}] * (i % 3)
        rows.append(_logged({"type": "audience", "screen_id": "lead1", "faces": faces}, ts))
        shown = {"type": "coupon_impression", "screen_id": "lead1", "coupon_id": f"c{i % 2}"}
        rows.append(_logged(shown, ts + timedelta(seconds=2)))
    with Session(engine) as session:
        session.add(Store(id="s1", name="s1", floor=1, zone="n", category="fashion"))
        session.add(Screen(id="lead1", kind="lead_in", zone="n"))
        session.flush()  # the store before its coupons (no relationship orders them)
        for coupon in ("c0", "c1"):
            valid = {"valid_from": NOW - timedelta(days=30), "valid_to": NOW + timedelta(days=30)}
            session.add(Coupon(id=coupon, store_id="s1", title=coupon, kind="percent", value=10, **valid))
        session.execute(insert(table(EventRecord)), rows)
        session.commit()
    engine.dispose()

    upgrade(old_database)

    engine = make_engine(old_database)
    with engine.connect() as conn:
        assert is_partitioned(conn) == (engine.dialect.name == "postgresql")
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(table(EventRecord))).scalar_one() == 600
        assert session.execute(select(func.sum(table(VisitRollup).c.visits))).scalar_one() == 200
        assert session.execute(select(func.count()).select_from(table(AudienceRollup))).scalar_one() > 0
        window = analytics.Window.last_days(21, 0, 5, now=NOW)
        new = analytics.store_audience(session, "s1", window).model_dump()
        old = reference.store_audience(session, "s1", window).model_dump()
        assert new == old and new["all_day"]["total"] > 150
        plays = proof_of_play(session, window, 10.0).model_dump()
        assert plays == reference.proof_of_play(session, window, 10.0).model_dump()
        assert plays["impressions"] > 150
    engine.dispose()


def test_play_rollups_keep_their_pairs_when_0007_numbers_them(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0006")
    engine = make_engine(url)
    old = [  # grain, bucket, screen, coupon, impressions, first_shown: rows of 0006's form
        (900, 0, "lead2", "c1", 3, 10),
        (900, 0, "lead1", "c2", 1, 20),
        (86_400, 0, "lead2", "c1", 5, 5),
        (900, 900, "lead1", "c1", 2, None),
    ]
    with engine.begin() as conn:
        for row in old:
            conn.execute(
                text(
                    "INSERT INTO rollup_plays (grain, bucket, screen_id, coupon_id, impressions, first_shown)"
                    " VALUES (:g, :b, :s, :c, :n, :f)"
                ),
                dict(zip(("g", "b", "s", "c", "n", "f"), row, strict=True)),
            )
    engine.dispose()

    upgrade(url)

    engine = make_engine(url)
    with engine.connect() as conn:
        numbered = conn.execute(text("SELECT grain, bucket, pair_id, impressions, first_shown FROM rollup_plays")).all()
        names = {(kind, number): name for number, kind, name in conn.execute(text("SELECT * FROM rollup_play_names"))}
    engine.dispose()
    named = [
        (grain, bucket, names[("screen", pair_of(pair)[0])], names[("coupon", pair_of(pair)[1])], n, first)
        for grain, bucket, pair, n, first in numbered
    ]
    assert sorted(named) == sorted(old)
    assert sorted(names.items()) == [
        (("coupon", 3), "c1"),
        (("coupon", 4), "c2"),
        (("screen", 1), "lead1"),
        (("screen", 2), "lead2"),
    ], "numbered in name order"
