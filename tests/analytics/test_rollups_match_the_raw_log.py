"""The rollup-based analytics give the answers the raw-log aggregation gave, on a fixed log (issue 17).

The log is sent through the API in shuffled batches, so showings often arrive before the audience
events that explain them (the rollups must move them to their crowd afterwards), with re-sent
duplicates. Every analytics answer is then compared with :mod:`tests.analytics.reference` (the
pre-rollup code) for several windows and time zones, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from screens.app import create_app
from screens.auth import create_token
from screens.db.rollups import BUCKET_S, DAY_S, PAIR_SHIFT, pair_number, pair_of
from screens.db.session import make_engine
from screens.services import analytics
from screens.services.leadin import analytics as leadin_analytics
from screens.services.leadin.proof_of_play import proof_of_play
from screens.settings import Settings
from tests.analytics import reference
from tests.conftest import make_settings

K = 3
CROWD_WINDOW_S = 10.0
STORES = ("s1", "s2", "s3")
LEAD_INS = ("lead1", "lead2")
COUPONS = {"C1": "s1", "C2": "s1", "D1": "s2", "E1": "s3"}
NOW = datetime.fromtimestamp(math.floor(datetime.now(UTC).timestamp() / BUCKET_S) * BUCKET_S, UTC)


def _face(rng: random.Random) -> dict[str, object]:
    age = rng.choice([None, rng.randint(5, 80)])
    return {"gender": rng.choice(["female", "male", "unknown"]), "age": age, "confidence": 0.9}


def _event(kind: str, ts: datetime, **fields: object) -> dict[str, object]:
    return {"event_id": str(uuid.uuid4()), "type": kind, "ts": ts.isoformat(), **fields}


def fixed_log(seed: int = 17) -> list[dict[str, object]]:
    """About 3,000 events over the last 20 days: visits, crowds (some empty), showings and claims."""
    rng, watching = random.Random(seed), random.Random(seed + 1)  # attention apart: the rest stays as it was
    log: list[dict[str, object]] = []
    for _ in range(900):
        ts = NOW - timedelta(seconds=rng.uniform(1, 20 * 86_400))
        store = rng.choice(STORES)
        face = _face(rng)
        log.append(_event("store_visit", ts, screen_id=f"cam-{store}", gender=face["gender"], age=face["age"]))
    for _ in range(700):
        screen = rng.choice(LEAD_INS)
        seen = NOW - timedelta(seconds=rng.uniform(30, 20 * 86_400))
        faces = [_face(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 4]))]
        attention = watching.choice([None, round(watching.random(), 2)])
        log.append(_event("audience", seen, screen_id=screen, faces=faces, attention=attention))
        for _ in range(rng.randint(0, 3)):
            at = seen + timedelta(seconds=rng.uniform(0, 2 * CROWD_WINDOW_S))
            coupon = rng.choice(list(COUPONS))
            explored = rng.choice([None, True, False])
            log.append(_event("coupon_impression", at, screen_id=screen, coupon_id=coupon, explored=explored))
            if rng.random() < 0.4:
                claim_at = at + timedelta(seconds=rng.uniform(0, 8))
                log.append(_event("coupon_claim", claim_at, coupon_id=coupon, screen_id=rng.choice([screen, None])))
    return [e for e in log if datetime.fromisoformat(str(e["ts"])) < NOW]


def _coupons(store: str) -> list[dict[str, object]]:
    valid_from = NOW - timedelta(days=6, hours=3)  # inside the longer windows: claims before it do not count
    return [
        {
            "coupon_id": cid,
            "title": f"{cid} offer",
            "kind": "percent",
            "value": 10,
            "valid_from": valid_from.isoformat(),
            "valid_to": (NOW + timedelta(days=30)).isoformat(),
            "daily_cap": 4 if cid == "C1" else None,
            "total_stock": 60 if cid == "D1" else None,
        }
        for cid, owner in COUPONS.items()
        if owner == store
    ]


def _admin(settings: Settings) -> dict[str, str]:
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        secret = create_token(session, "admin")
        session.commit()
    engine.dispose()
    return {"Authorization": f"Bearer {secret}"}


def _load(settings: Settings) -> Settings:
    with TestClient(create_app(settings)) as client:
        admin = _admin(settings)
        for store in STORES:
            body = {"name": store, "floor": 1, "zone": "north", "category": "fashion"}
            assert client.put(f"/v1/stores/{store}", json=body, headers=admin).status_code == 200
            screen = {"kind": "entrance_camera", "store_id": store}
            assert client.put(f"/v1/screens/cam-{store}", json=screen, headers=admin).status_code == 200
            assert client.put(f"/v1/stores/{store}/coupons", json=_coupons(store), headers=admin).status_code == 200
        for screen in LEAD_INS:
            lead = {"kind": "lead_in", "zone": "atrium"}
            assert client.put(f"/v1/screens/{screen}", json=lead, headers=admin).status_code == 200
        log = fixed_log()
        random.Random(1).shuffle(log)
        for start in range(0, len(log), 250):
            batch = log[start : start + 250]
            resent = log[max(0, start - 20) : start]  # some re-sends of the previous batch
            answer = client.post("/v1/events", json={"events": batch + resent}, headers=admin).json()
            assert answer["accepted"] == len(batch) and answer["duplicates"] == len(resent), answer
    return settings


def _normalised(answer: Any) -> Any:
    """Plain data with ``by_cell`` lists as dicts (their tie order is not part of the answer)."""
    data = answer.model_dump(mode="json") if hasattr(answer, "model_dump") else answer
    if isinstance(data, dict):
        return {k: _cells(v) if k == "by_cell" else _share(k, _normalised(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalised(v) for v in data]
    return data


def _share(key: str, value: Any) -> Any:
    # Attention is summed in another order too: a share on a rounding boundary may land either side.
    return pytest.approx(value, abs=0.0011) if key == "attention_share" and value is not None else value


def _cells(cells: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["cell"]: {k: _approx(v) for k, v in c.items()} for c in cells}


def _approx(value: Any) -> Any:
    # Shares are summed in another order; they are published rounded to 0.01 (rates to 1e-4 of those).
    return pytest.approx(value, abs=0.0101, rel=0.01) if isinstance(value, float) else value


@pytest.fixture
def loaded(database_url: str) -> Settings:
    settings = make_settings(database_url, k_anonymity=K, crowd_window_s=CROWD_WINDOW_S)
    return _load(settings)


def test_every_analytics_answer_matches_the_raw_log(loaded: Settings) -> None:
    engine = make_engine(loaded.database_url)
    checked = 0
    with Session(engine) as session:
        for days, tz in ((1, 0), (7, 330), (28, -300), (14, 60)):
            window = analytics.Window.last_days(days, tz, K, now=NOW)
            pairs = [
                (analytics.mall_traffic(session, window), reference.mall_traffic(session, window)),
                (analytics.screen_flow(session, window, None), reference.screen_flow(session, window, None)),
                (
                    leadin_analytics.coupon_summary(session, window, None),
                    reference.coupon_summary(session, window, None),
                ),
            ]
            for stores in (None, frozenset({"s1", "s3"})):
                pairs.append(
                    (
                        proof_of_play(session, window, CROWD_WINDOW_S, stores),
                        reference.proof_of_play(session, window, CROWD_WINDOW_S, stores),
                    )
                )
            for store in STORES:
                pairs.append(
                    (analytics.store_audience(session, store, window), reference.store_audience(session, store, window))
                )
                pairs.append(
                    (
                        leadin_analytics.store_coupons(session, store, window, 0.1),
                        reference.store_coupons(session, store, window, CROWD_WINDOW_S, 0.1),
                    )
                )
            for new, old in pairs:
                assert _normalised(new) == _normalised(old), (days, tz, type(new).__name__)
                checked += 1
    engine.dispose()
    assert checked == 4 * 11


@pytest.mark.parametrize("hours", [2, 20])
def test_flow_windows_ending_in_the_past_match_the_raw_log(loaded: Settings, hours: int) -> None:
    """Flow reads whole days less the quarter hours outside the window: windows that end yesterday
    have logged events after their end (what is subtracted), and a window ending at 02:00 reads its
    first day as a daily row less 22 hours, one ending at 20:00 its first 4 hours directly."""
    until = datetime.fromtimestamp((NOW.timestamp() // DAY_S - 1) * DAY_S + hours * 3600, UTC)
    engine = make_engine(loaded.database_url)
    with Session(engine) as session:
        for days in (1, 7):
            window = analytics.Window.last_days(days, 0, K, now=until)
            new, old = analytics.screen_flow(session, window, None), reference.screen_flow(session, window, None)
            assert _normalised(new) == _normalised(old), days
            assert new.links and (days == 1 or any(not link.suppressed for link in new.links))
            mine = analytics.screen_flow(session, window, frozenset({"s2"}))
            assert _normalised(mine) == _normalised(reference.screen_flow(session, window, frozenset({"s2"})))
    engine.dispose()
    subtracted = [r for r in analytics.signed_span_ranges(window) if r[3] < 0]
    assert subtracted and all(r[0] == BUCKET_S for r in subtracted)


@pytest.mark.parametrize("hours", [None, 2, 20])
def test_proof_of_play_pages_match_the_raw_log(loaded: Settings, hours: int | None) -> None:
    """A page reads every pair's showings and claims by signed ranges (today as its daily row, less
    what lies after the window) and its own rows by key: its slice, totals and suppression are the
    raw log's, for windows ending now and ending yesterday (quarter hours are subtracted)."""
    until = NOW if hours is None else datetime.fromtimestamp((NOW.timestamp() // DAY_S - 1) * DAY_S + hours * 3600, UTC)
    engine = make_engine(loaded.database_url)
    with Session(engine) as session:
        for days in (1, 7):
            window = analytics.Window.last_days(days, 0, K, now=until)
            whole = reference.proof_of_play(session, window, CROWD_WINDOW_S).model_dump()
            ordered = sorted(whole["rows"], key=lambda row: (-row["impressions"], row["screen_id"], row["coupon_id"]))
            assert len(ordered) >= 4, "a page needs pairs to choose from"
            for offset, limit in ((0, 3), (2, 2), (0, 1000)):
                page = proof_of_play(session, window, CROWD_WINDOW_S, None, (offset, limit)).model_dump()
                assert page["rows"] == ordered[offset : offset + limit], (hours, days, offset)
                assert {k: v for k, v in page.items() if k != "rows"} == {k: v for k, v in whole.items() if k != "rows"}
    engine.dispose()


def test_the_fixed_log_exercises_suppression_attribution_and_pacing(loaded: Settings) -> None:
    """Guards the comparison above against a log too thin to tell right from wrong."""
    engine = make_engine(loaded.database_url)
    with Session(engine) as session:
        window = analytics.Window.last_days(28, 0, K, now=NOW)
        coupons = leadin_analytics.store_coupons(session, "s1", window, 0.1)
        audience = analytics.store_audience(session, "s1", window)
    engine.dispose()
    cells = coupons.totals.by_cell
    assert any(c.suppressed for c in cells) and any(not c.suppressed for c in cells)
    assert any(c.suppressed for c in audience.all_day.cells) and any(not c.suppressed for c in audience.all_day.cells)
    c1 = next(c for c in coupons.coupons if c.coupon_id == "C1")
    assert 0 < c1.pacing.claims_in_validity < c1.claims  # claims before valid_from are left out
    assert 0 < c1.unattributed_impressions < c1.impressions
    assert c1.exploration.flagged_impressions < c1.impressions


@pytest.mark.parametrize("start_h", [0, 1, 11, 12, 13, 23])
@pytest.mark.parametrize("days", [1, 7])
def test_signed_spans_cover_the_window_exactly_and_read_at_most_half_a_day_by_quarter_hour(
    start_h: int, days: int
) -> None:
    base = 20_000 * DAY_S + start_h * 3600 + 900
    window = analytics.Window.last_days(days, 0, K, now=datetime.fromtimestamp(base + days * DAY_S + 100, UTC))
    cover: dict[int, int] = {}
    for _, first, end, sign in analytics.signed_span_ranges(window):
        for bucket in range(first, end, BUCKET_S):
            cover[bucket] = cover.get(bucket, 0) + sign
    inside = {b for b, n in cover.items() if n}
    assert inside == set(range(window.first_bucket, window.end_bucket, BUCKET_S))
    assert all(n in (0, 1) for n in cover.values())
    past = [r for r in analytics.signed_span_ranges(window) if r[0] == BUCKET_S and r[1] < window.end_bucket]
    assert sum((end - first) // BUCKET_S for _, first, end, _ in past) <= 48


def test_pair_numbers_round_trip_and_keep_a_malls_pairs_apart_in_postgresql_hashes() -> None:
    """PostgreSQL hashes a bigint as its low 32 bits xor its high 32 (``hashint8``, for a key >= 0):
    a mall's pairs must not fold onto a few hundred hash values, as screen × 2^32 + coupon did."""
    numbers = [pair_number(screen, coupon) for screen in range(1, 101) for coupon in range(101, 281)]
    assert [pair_of(n) for n in numbers] == [(s, c) for s in range(1, 101) for c in range(101, 281)]
    assert len({(n & 0xFFFF_FFFF) ^ (n >> 32) for n in numbers}) == len(numbers)
    assert pair_of(pair_number(2**30, 2**PAIR_SHIFT - 1)) == (2**30, 2**PAIR_SHIFT - 1)
    with pytest.raises(OverflowError, match="coupon number"):
        pair_number(1, 2**PAIR_SHIFT)
