"""The console of a lived-in demo in headless Chromium: two weeks of backfilled shoppers behind every
chart, the flow as a Sankey, proof of play with its CSV, and the DPIA download (k = 20, the default)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.services.leadin.proof_of_play import CSV_COLUMNS
from screens.tools.demo_history import fill_history
from tests.builders import wait_until
from tests.console.live import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.simulator.demo_service import DemoService

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

LAPTOP = {"width": 1440, "height": 900}
K = 20


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoService]:
    service = DemoService(tmp_path_factory.mktemp("demo-console"))
    summary = fill_history(service.database_url, "small", 14, shoppers_per_day=250, progress=None)
    assert summary is not None and summary.events > 20_000
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def console(demo: DemoService, browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    errors: list[str] = []

    def open_page(page_id: str) -> Any:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{demo.url}/console#{page_id}")
        page.fill("#token", demo.tokens["ops"])
        page.click("#login-form button")
        page.wait_for_selector(f"#page-{page_id}")
        return page

    yield open_page
    context.close()
    assert errors == [], errors


def _series(page: Any, selector: str) -> Any:
    return page.evaluate(f"echarts.getInstanceByDom(document.querySelector('{selector}')).getOption().series")


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wait_until(page, "[...document.querySelectorAll('[data-drawn]')].every((el) => el.dataset.settled)")
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_coupon_trend_shows_days_of_history(console: Any) -> None:
    page = console("coupons")
    page.wait_for_selector("#coupon-trend[data-drawn='true']")
    page.wait_for_selector("#coupon-cells[data-drawn='true']")
    impressions = _series(page, "#coupon-trend")[0]["data"]
    assert sum(1 for n in impressions if n) >= 12, f"the trend is flat: {impressions}"
    cells = _series(page, "#coupon-cells")[0]["data"]
    assert len(cells) >= 4, "claim rate by audience cell has published cells"
    _shot(page, "demo-console-coupons")


def test_flow_is_a_sankey_of_k_anonymous_bands(console: Any) -> None:
    page = console("audience")
    page.wait_for_selector("#flow-sankey[data-drawn='true']")
    page.wait_for_selector("#traffic-days[data-drawn='true']")
    sankey = _series(page, "#flow-sankey")[0]
    links = sankey["links"]
    assert len(links) >= 4 and all(link["value"] >= K for link in links), "every band rests on k claims"
    stores = {link["target"] for link in links}
    assert any(s.startswith("s0") for s in stores), "screens send people to named stores"
    assert 'merged into "other"' in page.inner_text("#flow-note")
    days = _series(page, "#traffic-days")[0]["data"]
    assert sum(1 for d in days if isinstance(d, int) and d > 0) >= 6, "a week of traffic"
    page.locator("#flow-sankey").scroll_into_view_if_needed()
    _shot(page, "demo-console-audience-flow")


def test_proof_of_play_table_and_csv_export(console: Any, tmp_path: Path) -> None:
    page = console("proof")
    page.wait_for_selector("#proof-table tbody tr")
    header = [th.inner_text() for th in page.locator("#proof-table thead th").all()]
    assert header[:6] == ["Screen", "Coupon", "Store", "Showings", "With audience", "Faces"]
    first = page.locator("#proof-table tbody tr").first.inner_text().split("\t")
    assert first[0].startswith("lead-") and int(first[3].replace(",", "")) > 0
    assert "%" in first[7] or first[7] == "suppressed", "attention share (or suppressed under k)"
    with page.expect_download() as info:
        page.click("#proof-csv")
    download = info.value
    assert download.suggested_filename == "proof-of-play-7d.csv"
    path = tmp_path / "proof.csv"
    download.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert list(rows[0]) == list(CSV_COLUMNS) and len(rows) >= page.locator("#proof-table tbody tr").count()
    assert all(row["faces"] == "" or int(row["faces"]) >= K for row in rows), "faces under k are withheld"
    assert all(row["claims"] == "" or int(row["claims"]) >= K for row in rows), "claims under k are withheld"
    _shot(page, "demo-console-proof-of-play")


def test_privacy_page_downloads_the_dpia_summary(console: Any, tmp_path: Path) -> None:
    page = console("privacy")
    page.wait_for_selector("#privacy-facts h3")
    assert "No image and no identity is stored" in page.inner_text("#privacy-facts")
    with page.expect_download() as info:
        page.click("#dpia-download")
    path = tmp_path / "dpia.md"
    info.value.save_as(path)
    text = path.read_text()
    assert text.startswith("# Vitrine: camera processing summary for a DPIA")
    assert f"| k-anonymity threshold (`VITRINE_K_ANONYMITY`) | {K} |" in text
    _shot(page, "demo-console-privacy")
