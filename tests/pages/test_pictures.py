"""Product pictures on both page kinds without internet, their fallback, and Chinese item names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.builders import wait_until
from tests.pages.checks import UNCOVERED
from tests.simulator.demo_service import DemoService

pytestmark = pytest.mark.browser
LEAD_IN = "lead-f1-atrium"
MIRROR = "mirror-s003-1"
CHINESE_SKU = "S003-00029"  # 红色裹身裙 (red wrap dress) in the small demo mall
PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}

LOADED = "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
# Each Han character drawn alone in the element's font, compared with the .notdef box a codepoint
# no font covers gets: a missing glyph draws that same box (or nothing).
GLYPHS = r"""(el) => {
  const style = getComputedStyle(el);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const ink = (ch) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = `${style.fontWeight} 40px ${style.fontFamily}`;
    ctx.textBaseline = "top";
    ctx.fillText(ch, 4, 4);
    return ctx.getImageData(0, 0, 64, 64).data.filter((_, i) => i % 4 === 3).join(",");
  };
  const blank = ink(" ");
  const tofu = ink("\u{10FFFD}");
  const chars = [...el.textContent].filter((ch) => /\p{Script=Han}/u.test(ch));
  return {
    detector_works: ink("\u{10FFFC}") === tofu,
    chars: chars.map((ch) => ({ ch, drawn: ink(ch) !== blank && ink(ch) !== tofu })),
  };
}"""


def _open(browser: Any, service: DemoService, screen_id: str, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    page.goto(f"{service.url}/screens/{screen_id}?token={service.tokens['devices'][screen_id]}")
    return page


def _try_on(service: DemoService, sku: str) -> None:
    event = {
        "event_id": str(uuid.uuid4()),
        "type": "try_on",
        "ts": datetime.now(UTC).isoformat(),
        "screen_id": MIRROR,
        "sku": sku,
        "session_id": f"sess-{uuid.uuid4().hex[:8]}",
    }
    service.post_events(MIRROR, [event])


def test_lead_in_cards_show_local_pictures(browser: Any, service: DemoService, screenshot_dir: Path):
    page = _open(browser, service, LEAD_IN, LANDSCAPE)
    page.locator("article.coupon").nth(4).wait_for(timeout=15_000)
    pictures = page.locator("article.coupon img.pic")
    wait_until(page, "[...document.querySelectorAll('article.coupon img.pic')].every(i => i.complete)")
    assert pictures.count() == 5
    assert all(pictures.evaluate_all(LOADED)), "a coupon picture did not load"
    assert all(
        src.startswith("/media/items/") for src in pictures.evaluate_all("imgs => imgs.map(i => i.getAttribute('src'))")
    )
    page.screenshot(path=str(screenshot_dir / "pictures-lead-in-landscape.png"))
    page.close()


def test_mirror_shows_pictures_and_renders_a_chinese_item_name(
    browser: Any, service: DemoService, screenshot_dir: Path
):
    page = _open(browser, service, MIRROR, PORTRAIT)
    page.locator(".placeholder").wait_for(timeout=15_000)
    _try_on(service, CHINESE_SKU)
    name = page.locator(f".tried[data-sku='{CHINESE_SKU}'] .name")
    name.wait_for(timeout=15_000)
    assert name.inner_text() == "红色裹身裙"
    wait_until(page, "[...document.querySelectorAll('main img.pic')].every(i => i.complete)")
    shown = page.locator("main img.pic")
    assert shown.count() >= 2 and all(shown.evaluate_all(LOADED)), "a mirror picture did not load"
    assert page.locator(".tried img.pic").count() == 1, "the tried item has its picture"
    glyphs = name.evaluate(GLYPHS)
    assert glyphs["detector_works"], "the missing-glyph check cannot tell a .notdef box apart"
    missing = [c["ch"] for c in glyphs["chars"] if not c["drawn"]]
    assert len(glyphs["chars"]) == 5 and not missing, f"no glyph for {missing}: install fonts-noto-cjk"
    page.screenshot(path=str(screenshot_dir / "pictures-mirror-chinese-portrait.png"))
    assert page.locator("#camera-notice").evaluate(UNCOVERED), "a full mirror page covers the notice"
    page.set_viewport_size(LANDSCAPE)
    assert page.locator("#camera-notice").evaluate(UNCOVERED), "a full mirror page covers the notice"
    page.screenshot(path=str(screenshot_dir / "pictures-mirror-chinese-landscape.png"))
    page.close()


def test_pages_fall_back_when_pictures_fail(browser: Any, service: DemoService, screenshot_dir: Path):
    page = browser.new_page(viewport=PORTRAIT)
    page.route("**/media/**", lambda route: route.abort())  # as if the picture host were unreachable
    page.goto(f"{service.url}/screens/{LEAD_IN}?token={service.tokens['devices'][LEAD_IN]}")
    page.locator("article.coupon").nth(4).wait_for(timeout=15_000)
    # Every card ends with its placeholder, no broken image, and the placeholder keeps the picture's
    # room. Measured in the same evaluation: cards re-render on live updates, so a handle taken in a
    # second call may already be detached.
    wait_until(
        page,
        """() => {
          const pics = [...document.querySelectorAll('article.coupon .pic.noimg')];
          return pics.length === 5 && !document.querySelector('article.coupon img.pic')
            && pics.every((p) => { const r = p.getBoundingClientRect(); return r.width > 50 && r.height > 50; });
        }""",
        timeout=10_000,
    )
    page.screenshot(path=str(screenshot_dir / "pictures-fallback-lead-in.png"))
    page.close()


def test_media_serves_pictures_only_from_its_folder(service: DemoService):
    names = sorted(p.name for p in (service.media_dir / "items").glob("*.svg"))
    assert names, "the demo loader drew pictures"
    ok = httpx.get(f"{service.url}/media/items/{names[0]}")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/svg+xml"
    assert ok.text.startswith("<svg") and len(ok.content) < 2048
    (service.media_dir / "notes.txt").write_text("not a picture")
    for path in ("notes.txt", "../vitrine.db", "..%2Fvitrine.db", "items/missing.svg"):
        assert httpx.get(f"{service.url}/media/{path}").status_code == 404, path
