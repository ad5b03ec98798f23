"""Operations: health, readiness, metrics, OpenAPI, logs without tokens, the CLI."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from screens.observability import JsonFormatter
from tests.conftest import TokenFactory


def test_health_ready_and_metrics(client: TestClient, mall: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["database"] and ready["bus"] == "memory"
    assert ready["models"] == {"coupons": None, "mirror": None}, "no model published yet: the model store says so"
    text = client.get("/metrics", headers=mall).text
    assert 'vitrine_http_requests_total{method="PUT",route="/v1/stores/{store_id}",status="200"}' in text


def test_openapi_describes_every_route_with_a_summary(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            assert op.get("summary") or op.get("description"), f"{method.upper()} {path} is undocumented"
    assert "text/csv" in spec["paths"]["/v1/stores/{store_id}/catalog"]["put"]["requestBody"]["content"]


def test_openapi_documents_the_bearer_token_once_as_a_security_scheme(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <token>` (`vitrine token create`)",
    }
    coupons = spec["paths"]["/v1/screens/{screen_id}/coupons"]["get"]
    assert coupons["security"] == [{"bearer": []}]
    assert spec["paths"]["/metrics"]["get"]["security"] == [{"bearer": []}, {}], "a token only when access is `token`"
    assert "security" not in spec["paths"]["/healthz"]["get"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            names = {p["name"].lower() for p in op.get("parameters", [])}
            assert "authorization" not in names, f"{method.upper()} {path} still takes the token as a parameter"


def test_tokens_never_appear_in_logs(
    client: TestClient, mall: dict[str, str], auth: TokenFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    device = auth("device", screen_id="lead1")
    client.post("/v1/screens/lead1/heartbeat", headers=device)
    client.get("/v1/stores", headers={"Authorization": "Bearer vt_wrong-token-value"})
    client.get("/v1/stores", headers=mall)
    err = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert '"route": "/v1/screens/{screen_id}/heartbeat"' in err, "request logs are written"
    for headers in (device, mall):
        assert headers["Authorization"].split()[1] not in err
    assert "vt_wrong-token-value" not in err


def test_token_create_prints_only_the_token(sqlite_url: str) -> None:
    env = os.environ | {"VITRINE_DATABASE_URL": sqlite_url}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "screens.cli",
            "token",
            "create",
            "--role",
            "merchandiser",
            "--store",
            "s1",
            "--store",
            "s2",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and run.stdout.count("\n") == 1 and run.stdout.startswith("vt_")
    bad = subprocess.run(
        [sys.executable, "-m", "screens.cli", "token", "create", "--role", "device"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--screen" in bad.stderr and bad.stdout == ""


def test_api_docs_page_needs_no_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "/console/static/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert client.get("/console/static/swagger-ui-bundle.js").status_code == 200


def test_every_request_body_is_documented_with_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                if media.startswith("image/"):
                    continue  # a camera frame has no meaningful textual example
                ref = content.get("schema", {}).get("$ref", "").split("/")[-1]
                example = content.get("example") or content.get("examples") or schemas.get(ref, {}).get("examples")
                assert example, f"{method.upper()} {path} ({media}) has no example"


@pytest.mark.parametrize("kind", ["catalog", "coupons"])
def test_documented_upload_examples_pass_validation(client: TestClient, mall: dict[str, str], kind: str) -> None:
    content = client.get("/openapi.json").json()["paths"][f"/v1/stores/{{store_id}}/{kind}"]["put"]["requestBody"]
    examples = content["content"]
    csv = client.put(
        f"/v1/stores/s1/{kind}?dry_run=true",
        content=examples["text/csv"]["example"].encode(),
        headers=mall | {"Content-Type": "text/csv"},
    )
    as_json = client.put(
        f"/v1/stores/s1/{kind}?dry_run=true", json=examples["application/json"]["example"], headers=mall
    )
    assert (csv.status_code, as_json.status_code) == (200, 200), (csv.text, as_json.text)
