"""`vitrine demo`'s lived-in start: days of simulated shoppers in the event log, and local pictures."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlmodel import Session

from screens.db.session import upgrade
from screens.services.analytics import Window
from screens.services.flow_chart import flow_chart
from screens.services.leadin.analytics import store_coupons
from screens.tools.demo_history import fill_history
from screens.tools.demo_mall import ensure_demo_mall, load_demo_mall

NOW = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def _log(url: str) -> list[tuple[str, datetime]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT type, ts FROM event_log")).all()
    engine.dispose()
    return [(kind, datetime.fromisoformat(str(ts)).replace(tzinfo=UTC)) for kind, ts in rows]


def test_history_fills_the_days_not_logged_yet_with_every_kind_of_event(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/vitrine.db"
    upgrade(url)
    load_demo_mall(url, "small", tmp_path / "tokens.json")
    lines: list[str] = []
    summary = fill_history(url, "small", 3, shoppers_per_day=200, now=NOW, progress=lines.append)
    assert summary is not None and summary.shoppers > 400 and summary.events > 10 * summary.shoppers / 2
    assert any("history [" in line and "100%" in line for line in lines), "a progress bar on stderr"
    log = _log(url)
    assert len(log) == summary.events
    assert {kind for kind, _ in log} == {
        "audience",
        "coupon_impression",
        "coupon_claim",
        "store_visit",
        "try_on",
        "purchase",
    }
    assert all(NOW - timedelta(days=3) <= ts < NOW for _, ts in log), "history stays in the window, nothing ahead"
    days = Counter(ts.date() for kind, ts in log if kind == "store_visit")
    assert len(days) >= 3 and all(n > 50 for _, n in days.most_common(3)), "every day has shoppers"

    again = fill_history(url, "small", 3, shoppers_per_day=200, now=NOW + timedelta(seconds=30), progress=None)
    assert again is None or again.events == 0, "a restart does not write the same days twice"
    later = fill_history(url, "small", 3, shoppers_per_day=200, now=NOW + timedelta(days=1), progress=None)
    assert later is not None and later.shoppers < summary.shoppers / 2, "a restart fills only the gap"


def test_console_charts_have_days_of_data_after_the_backfill(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/vitrine.db"
    upgrade(url)
    load_demo_mall(url, "small", tmp_path / "tokens.json")
    now = datetime.now(UTC)
    fill_history(url, "small", 7, shoppers_per_day=250, now=now, progress=None)
    engine = create_engine(url)
    with Session(engine) as session:
        window = Window.last_days(7, 0, 20, now=now)
        trend = store_coupons(session, "s001", window, 0.1).totals.trend
        assert sum(d.impressions > 0 for d in trend) >= 6, "the coupon trend is not flat"
        chart = flow_chart(session, window, None)
        assert any(link.target != "other stores" for link in chart.links), "some screen → store flow reaches k"
    engine.dispose()


def test_demo_pictures_are_drawn_locally_and_redrawn_when_missing(tmp_path: Path):
    url, tokens, media = f"sqlite:///{tmp_path}/vitrine.db", tmp_path / "demo" / "tokens.json", tmp_path / "media"
    upgrade(url)
    assert ensure_demo_mall(url, "small", tokens, media_dir=media)
    pictures = sorted((media / "items").glob("*.svg"))
    assert 20 < len(pictures) < 400
    engine = create_engine(url)
    with engine.connect() as conn:
        urls = [u for (u,) in conn.execute(text("SELECT image_url FROM catalog_item"))]
    engine.dispose()
    assert all(u is None or u.startswith("/media/items/") for u in urls) and None in urls
    assert {u.rsplit("/", 1)[1] for u in urls if u} == {p.name for p in pictures}
    assert not ensure_demo_mall(url, "small", tokens, media_dir=media)
    for picture in pictures:
        picture.unlink()
    assert ensure_demo_mall(url, "small", tokens, media_dir=media), "pictures gone: loaded again"
