"""The camera notice on screen pages and the public /privacy page it points to, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from screens.services.privacy import notice_text
from screens.settings import Settings
from tests.pages.checks import UNCOVERED
from tests.simulator.demo_service import DemoService

pytestmark = pytest.mark.browser
LEAD_IN = "lead-f1-atrium"
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
PHONE = {"width": 390, "height": 844}
CONTACT = "privacy@mall.example"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Any:
    demo = DemoService(
        tmp_path_factory.mktemp("notice"),
        notice_languages=["en", "zh"],
        privacy_contact=CONTACT,
        operator_name="Galleria Demo Ltd",
        event_retention_days=30,
    )
    demo.start()
    yield demo
    demo.stop()


def _open(browser: Any, service: DemoService, screen_id: str, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{service.url}/screens/{screen_id}?token={service.tokens['devices'][screen_id]}")
    return page


def _decode_qr(png: bytes) -> str:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    image = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
    return str(text)


@pytest.mark.parametrize("screen_id", [LEAD_IN, "mirror-s002-1"])
@pytest.mark.parametrize(("orientation", "viewport"), [("portrait", PORTRAIT), ("landscape", LANDSCAPE)])
def test_notice_is_visible_and_never_covered(
    browser: Any, service: DemoService, screenshot_dir: Path, screen_id: str, orientation: str, viewport: dict[str, int]
):
    page = _open(browser, service, screen_id, viewport)
    if screen_id == LEAD_IN:
        page.locator("article.coupon").nth(4).wait_for(timeout=15_000)
    else:
        page.locator("main .placeholder").wait_for(timeout=15_000)
    notice = page.locator("#camera-notice")
    assert notice.is_visible()
    box = notice.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"] + 0.5, "the notice leaves the screen"
    assert box["height"] >= 60, "the notice is too small to read"
    assert notice.evaluate(UNCOVERED), "something covers the camera notice"
    content_bottom = page.evaluate("document.getElementById('content').getBoundingClientRect().bottom")
    assert content_bottom <= box["y"] + 0.5, "content runs under the notice"
    text = notice.inner_text()
    assert "Camera in use" in text and "No image and no identity is stored" in text
    assert "摄像头使用中" in text, "the second notice language is shown too"
    url = _decode_qr(notice.locator("img.notice-qr").screenshot())
    assert url == f"{service.url}/privacy"
    page.screenshot(path=str(screenshot_dir / f"notice-{screen_id}-{orientation}.png"))
    page.close()


def test_a_screen_whose_camera_is_off_shows_no_notice(browser: Any, service: DemoService):
    admin = {"Authorization": f"Bearer {service.tokens['admin']}"}
    screen = httpx.get(f"{service.url}/v1/screens/lead-f1-entrance_north", headers=admin).json()
    put = {"kind": screen["kind"], "zone": screen["zone"], "camera": False}
    assert (
        httpx.put(f"{service.url}/v1/screens/lead-f1-entrance_north", json=put, headers=admin).json()["camera"] is False
    )
    page = _open(browser, service, "lead-f1-entrance_north", PORTRAIT)
    page.locator("article.coupon").first.wait_for(timeout=15_000)
    assert page.locator("#camera-notice").count() == 0
    page.close()
    httpx.put(f"{service.url}/v1/screens/lead-f1-entrance_north", json=put | {"camera": True}, headers=admin)


def test_privacy_page_states_the_settings_in_force(browser: Any, service: DemoService, screenshot_dir: Path):
    page = browser.new_page(viewport=PHONE)
    response = page.goto(f"{service.url}/privacy")
    assert response.status == 200
    text = page.inner_text("main")
    for fact in (
        "gender",
        "age range",
        "attention",
        "no image, video or crop of a face",
        "no face embedding, face id, track id",
        "k = 20",
        "deleted after 30 days",
        "Galleria Demo Ltd",
        CONTACT,
    ):
        assert fact in text, f"/privacy does not say {fact!r}"
    assert page.locator("script").count() == 0, "the privacy page needs no script"
    page.screenshot(path=str(screenshot_dir / "privacy-page.png"), full_page=True)
    chinese = browser.new_page(viewport=PHONE, locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh"})
    chinese.goto(f"{service.url}/privacy")
    assert chinese.locator("html").get_attribute("lang") == "zh"
    assert chinese.locator(".notice").first.inner_text().startswith("摄像头使用中")
    chinese.close()
    page.close()


def test_dpia_summary_is_markdown_for_ops_only(service: DemoService):
    ops = {"Authorization": f"Bearer {service.tokens['ops']}"}
    response = httpx.get(f"{service.url}/v1/privacy/dpia.md", headers=ops)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/markdown")
    assert "attachment" in response.headers["content-disposition"]
    body = response.text
    assert body.startswith("# ") and "| k-anonymity threshold (`VITRINE_K_ANONYMITY`) | 20 |" in body
    assert "| event retention (`VITRINE_EVENT_RETENTION_DAYS`) | 30 |" in body
    assert "| lead_in | 2 |" in body, "the scope counts the screens whose camera is on"
    device = {"Authorization": f"Bearer {service.tokens['devices'][LEAD_IN]}"}
    assert httpx.get(f"{service.url}/v1/privacy/dpia.md", headers=device).status_code == 403
    assert httpx.get(f"{service.url}/v1/privacy/dpia.md").status_code == 401


def test_a_notice_language_without_a_text_refuses_to_start():
    with pytest.raises(ValueError, match="no camera notice text for xx"):
        Settings(notice_languages=["en", "xx"])
    own = Settings(notice_languages=["xx"], privacy_notice={"xx": "Kamera!"})
    assert notice_text(own, "xx") == "Kamera!" and notice_text(own, "en").startswith("A camera beside")
