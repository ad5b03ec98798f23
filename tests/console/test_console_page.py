"""The console page: served by the service, scripts and charting library local, API documented."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.conftest import TokenFactory


def test_console_page_loads_only_local_scripts(client: TestClient) -> None:
    page = client.get("/console")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(("/console/static/", "#")) for s in sources), sources
    for src in sources:
        if src.startswith("/"):
            assert client.get(src).status_code == 200, src
    echarts = client.get("/console/static/echarts.min.js")
    assert echarts.headers["content-type"].startswith("text/javascript") and len(echarts.content) > 500_000


def test_modules_import_only_local_files(client: TestClient) -> None:
    app_js = client.get("/console/static/app.js").text
    for module in re.findall(r'from "\./([\w.]+)"', app_js):
        body = client.get(f"/console/static/{module}")
        assert body.status_code == 200, module
        assert "http://" not in body.text and "https://" not in body.text, module


def test_static_route_serves_nothing_outside_its_folder(client: TestClient) -> None:
    for name in ("..%2Fapp.py", "%2Fetc%2Fpasswd", ".hidden.js", "nothing.js"):
        assert client.get(f"/console/static/{name}").status_code == 404, name


def test_me_tells_the_console_role_and_stores(client: TestClient, auth: TokenFactory) -> None:
    r = client.get("/v1/me", headers=auth("merchandiser", store_ids=["s2", "s1"]))
    assert r.json() == {"role": "merchandiser", "store_ids": ["s1", "s2"], "screen_id": None}
    assert client.get("/v1/me").status_code == 401


def test_console_api_is_documented_in_openapi(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/v1/me",
        "/v1/templates/catalog.csv",
        "/v1/templates/coupons.csv",
        "/v1/analytics/traffic",
        "/v1/analytics/flow",
        "/v1/analytics/flow/chart",
        "/v1/analytics/proof-of-play",
        "/v1/analytics/proof-of-play.csv",
        "/v1/privacy",
        "/v1/privacy/dpia.md",
        "/v1/analytics/coupons",
        "/v1/analytics/screens",
        "/v1/analytics/stores/{store_id}/audience",
        "/v1/analytics/stores/{store_id}/coupons",
    ):
        assert path in paths, path
    params = {p["name"] for p in paths["/v1/stores/{store_id}/catalog"]["put"]["parameters"]}
    assert {"mode", "dry_run"} <= params
    assert "/console" not in paths
