"""Screen pages in a real headless Chromium: ranked coupons, live crowd updates, offline fallback."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import wait_until
from tests.simulator.demo_service import DemoService

pytestmark = pytest.mark.browser
LEAD_IN = "lead-f1-atrium"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}


def _faces(gender: str, age: int, n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "audience",
        "ts": datetime.now(UTC).isoformat(),
        "screen_id": LEAD_IN,
        "faces": [{"gender": gender, "age": age, "confidence": 0.95}] * n,
    }


def _open(browser: Any, service: DemoService, screen_id: str, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{service.url}/screens/{screen_id}?token={service.tokens['devices'][screen_id]}")
    return page


def test_lead_in_page_shows_ranked_coupons_with_store_floor_discount_and_qr(
    browser: Any, service: DemoService, screenshot_dir: Path
):
    for name, viewport in (("portrait", PORTRAIT), ("landscape", LANDSCAPE)):
        page = _open(browser, service, LEAD_IN, viewport)
        cards = page.locator("article.coupon")
        cards.first.wait_for(timeout=15_000)
        assert cards.count() == 5
        first = cards.first.inner_text()
        assert "floor" in first and any(word in first for word in ("% off", "$", "free gift"))
        assert page.locator("article.coupon img.qr").first.get_attribute("src").startswith("data:image/svg+xml")
        assert "token=" not in page.url, "the device token must leave the address bar"
        assert not page.evaluate("document.cookie"), "the device token is an HttpOnly cookie, out of scripts' reach"
        assert not page.evaluate("Object.keys(localStorage).filter(k => k.endsWith('.token')).length")
        cookie = next(c for c in page.context.cookies() if c["name"] == "vitrine_screen")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        bottom = page.evaluate(
            "Math.max(...[...document.querySelectorAll('article.coupon')].map(c => c.getBoundingClientRect().bottom))"
        )
        assert bottom <= viewport["height"], f"coupons overflow the {name} screen"
        page.screenshot(path=str(screenshot_dir / f"lead-in-{name}.png"))
        wait_until(page, f"!JSON.parse(localStorage.getItem('vitrine.screen.{LEAD_IN}.outbox')).value.length")
        page.close()
    impressions = service.payloads("coupon_impression", LEAD_IN)
    assert impressions and all(isinstance(p["explored"], bool) for p in impressions), (
        "the page says which coupons the ranking explored"
    )


def test_lead_in_page_updates_when_the_crowd_changes(browser: Any, service: DemoService, screenshot_dir: Path):
    page = _open(browser, service, LEAD_IN, PORTRAIT)
    page.locator("article.coupon").first.wait_for(timeout=15_000)
    crowd = page.locator("#crowd")

    service.post_events(LEAD_IN, [_faces("female", 29, 6)])
    crowd.filter(has_text="100% women 25–34").wait_for(timeout=10_000)
    rendered = page.evaluate("document.body.dataset.renderedAt")

    service.post_events(LEAD_IN, [_faces("male", 60, 18)])
    crowd.filter(has_text="75% men 55–64").wait_for(timeout=10_000)
    wait_until(page, f"document.body.dataset.renderedAt !== '{rendered}'", timeout=10_000)
    page.screenshot(path=str(screenshot_dir / "lead-in-crowd-changed.png"))
    page.close()


def test_page_shows_cached_content_when_the_api_is_down(browser: Any, service: DemoService, screenshot_dir: Path):
    page = _open(browser, service, LEAD_IN, PORTRAIT)
    page.locator("article.coupon").first.wait_for(timeout=15_000)
    wait_until(page, "caches.open('vitrine-screen-v1').then(c => c.keys()).then(k => k.length >= 3)", timeout=15_000)
    shown = "cards => cards.map(c => c.dataset.couponId)"
    service.stop()
    try:
        page.locator("#offline").filter(has_text="offline").wait_for(timeout=15_000)
        last_good = page.locator("article.coupon").evaluate_all(shown)
        assert len(last_good) == 5
        page.screenshot(path=str(screenshot_dir / "lead-in-offline.png"))

        page.reload()  # a kiosk rebooted during the outage: shell from the service worker, data from storage
        page.locator("#offline").filter(has_text="offline").wait_for(timeout=15_000)
        assert page.locator("article.coupon").evaluate_all(shown) == last_good
        page.screenshot(path=str(screenshot_dir / "lead-in-offline-after-reboot.png"))
    finally:
        service.start()
    page.locator("#offline").wait_for(state="hidden", timeout=20_000)
    page.close()


def test_claim_link_records_one_claim_per_phone_and_refuses_forged_codes(service: DemoService):
    display = httpx.get(f"{service.url}/v1/screens/{LEAD_IN}/display?k=1", headers=service.device(LEAD_IN)).json()
    coupon = display["coupons"][0]
    before = service.event_counts().get("coupon_claim", 0)

    phone, other_phone = httpx.Client(), httpx.Client()
    first = phone.get(coupon["claim_url"])
    assert first.status_code == 200 and coupon["title"] in html.unescape(first.text)  # "&" arrives as "&amp;"
    assert phone.get(coupon["claim_url"]).status_code == 200  # reloading the page
    assert other_phone.get(coupon["claim_url"]).status_code == 200
    assert service.event_counts()["coupon_claim"] == before + 2

    code = coupon["claim_url"].rsplit("/", 1)[1]
    payload, signature = code.split(".")
    forged = payload.replace(payload[2], "A" if payload[2] != "A" else "B", 1) + "." + signature
    assert httpx.get(f"{service.url}/c/{forged}").status_code == 404
    assert service.event_counts()["coupon_claim"] == before + 2


def test_mirror_page_shows_the_tried_item_and_its_matches(browser: Any, service: DemoService, screenshot_dir: Path):
    mirror = "mirror-s003-1"
    paths = service.app.openapi()["paths"] if service.app else {}
    if "/v1/mirrors/{screen_id}/recommendations" not in paths:
        pytest.skip("the service does not serve the mirror routes yet")
    page = _open(browser, service, mirror, LANDSCAPE)
    page.locator(".placeholder").wait_for(timeout=15_000)
    service.post_events(
        mirror,
        [
            {
                "event_id": str(uuid.uuid4()),
                "type": "try_on",
                "ts": datetime.now(UTC).isoformat(),
                "screen_id": mirror,
                "sku": "S003-00001",
                "session_id": "sess-1",
            }
        ],
    )
    page.locator(".tried[data-sku='S003-00001']").wait_for(timeout=15_000)
    assert page.locator(".shelf.similar li").count() > 0
    page.screenshot(path=str(screenshot_dir / "mirror-landscape.png"))
    page.set_viewport_size(PORTRAIT)
    page.screenshot(path=str(screenshot_dir / "mirror-portrait.png"))
    page.close()
