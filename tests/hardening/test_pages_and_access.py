"""Issue 13, rows 9, 11, 12: claim links from the configured URL, security headers, role before body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from screens.app import create_app
from screens.settings import Settings
from tests.builders import coupon
from tests.conftest import TokenFactory, make_settings


def test_claim_links_come_from_the_public_url_never_from_host(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    assert client.put("/v1/stores/s1/coupons", json=[coupon("c1")], headers=mall).status_code == 200
    device = auth("device", screen_id="lead1")
    r = client.get("/v1/screens/lead1/display", headers=device | {"Host": "evil.example"})
    assert r.status_code == 200 and r.json()["coupons"], r.text
    assert all(c["claim_url"].startswith("http://127.0.0.1:8000/c/") for c in r.json()["coupons"])
    assert "evil.example" not in r.text


def test_public_url_setting_is_used_and_required_in_production(database_url: str) -> None:
    settings = make_settings(database_url, public_url="https://mall.example/")
    assert settings.claim_base_url == "https://mall.example"
    with pytest.raises(ValueError, match="VITRINE_PUBLIC_URL"):
        Settings(database_url=database_url, environment="production", secret_key="x" * 40)
    with pytest.raises(ValueError, match="http"):
        make_settings(database_url, public_url="mall.example")


@pytest.mark.parametrize("path", ["/console", "/docs", "/screens/lead1", "/healthz", "/c/forged", "/privacy"])
def test_pages_and_answers_carry_the_security_headers(client: TestClient, mall: dict[str, str], path: str) -> None:
    r = client.get(path, follow_redirects=False)
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["x-content-type-options"] == "nosniff"
    if "html" in r.headers.get("content-type", ""):
        assert "<script>" not in r.text and "<style>" not in r.text, "no inline script (nor style) in the pages"


def test_screen_token_goes_into_an_httponly_cookie_and_leaves_the_url(
    client: TestClient, mall: dict[str, str], auth: TokenFactory
) -> None:
    device = auth("device", screen_id="lead1")["Authorization"].removeprefix("Bearer ")
    r = client.get(f"/screens/lead1?token={device}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/screens/lead1"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert client.get("/v1/screens/lead1/display").status_code == 200, "the cookie authenticates the page"
    assert client.get("/v1/screens/mirror1").status_code == 403, "and only for its own screen"
    other = auth("device", screen_id="mirror1")["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/screens/lead1?token={other}", follow_redirects=False).status_code == 401
    admin = mall["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/screens/lead1?token={admin}", follow_redirects=False).status_code == 401
    client.cookies.set("vitrine_screen", admin)
    refused = client.get("/v1/screens/lead1/display")
    assert refused.status_code == 401 and "no device token" in refused.text, "a cookie never carries more than a screen"
    client.cookies.clear()
    screen_js = client.get("/screens/static/screen.js").text
    assert 'localStorage.setItem(key("token")' not in screen_js and "Authorization" not in screen_js


def test_the_role_is_checked_before_the_body(client: TestClient, mall: dict[str, str], auth: TokenFactory) -> None:
    device = auth("device", screen_id="lead1")
    merch = auth("merchandiser", store_ids=["s1"])
    bad = {"nonsense": True}
    assert client.put("/v1/ranking/weights", json=bad, headers=device).status_code == 403
    assert client.put("/v1/stores/s9", json=bad, headers=device).status_code == 403
    assert client.put("/v1/screens/x9", json=bad, headers=merch).status_code == 403
    assert client.put("/v1/mirror/compatibility", json=bad, headers=device).status_code == 403
    assert client.post("/v1/events", json=bad, headers=merch).status_code == 403
    assert client.post("/v1/recommend/coupons", json=bad, headers=merch).status_code == 403
    assert client.post("/v1/mirrors/mirror1/try-ons", json=bad, headers=device).status_code == 403
    assert client.put("/v1/ranking/weights", json=bad, headers=mall).status_code == 422


@pytest.fixture
def app_with(database_url: str) -> Iterator[object]:
    clients: list[TestClient] = []

    def build(**overrides: object) -> TestClient:
        c = TestClient(create_app(make_settings(database_url, **overrides)))
        clients.append(c.__enter__())
        return c

    yield build
    for c in clients:
        c.__exit__(None, None, None)


def test_metrics_are_open_token_or_off(app_with, auth: TokenFactory) -> None:  # type: ignore[no-untyped-def]
    ops, device = auth("ops"), auth("device", screen_id="lead1")
    token = app_with()
    assert token.get("/metrics").status_code == 401
    assert token.get("/metrics", headers=device).status_code == 403
    assert "vitrine_http_requests_total" in token.get("/metrics", headers=ops).text
    assert app_with(metrics_access="open").get("/metrics").status_code == 200
    assert app_with(metrics_access="off").get("/metrics", headers=ops).status_code == 404
