"""Issue 13, row 14: schemathesis over /openapi.json, as an admin and as a device.

Every operation is called with up to :data:`EXAMPLES` generated requests per role (valid and
invalid bodies, parameters at and beyond their bounds). A run fails on any 5xx, on an answer that
does not match its declared response schema, and on a status code the operation does not declare.
Bounded so it runs in a few minutes in ``make test``; derandomised so a failure reproduces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from screens.app import create_app
from screens.auth import create_token
from screens.db.session import make_engine, upgrade
from tests.builders import coupon
from tests.conftest import make_settings

EXAMPLES = 25
_NAIVE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def times_carry_a_utc_offset(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every date-time in a JSON answer says its offset (SQLite hands back naive datetimes)."""
    if "json" not in (response.headers.get("content-type") or [""])[0]:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    naive = [t for t in _strings(body) if _NAIVE_TIME.match(t)]
    if naive:
        raise AssertionError(f"date-times without a UTC offset: {naive[:3]}")
    return None


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    times_carry_a_utc_offset,
]
# The live feed is an endless event stream: it cannot be called to completion.
STREAMS = "/v1/screens/{screen_id}/live"


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, dict[str, dict[str, str]]]]:
    """A small real mall on SQLite, and the tokens the fuzzer calls with."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.db"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        admin = create_token(session, "admin")
        device = create_token(session, "device", screen_id="lead1")
        session.commit()
    engine.dispose()
    headers = {"admin": {"Authorization": f"Bearer {admin}"}, "device": {"Authorization": f"Bearer {device}"}}
    app = create_app(make_settings(url, model_dir=Path(str(tmp_path_factory.mktemp("models")))))
    with TestClient(app) as http:
        _seed(http, headers["admin"])
    yield app, headers


def _seed(http: TestClient, admin: dict[str, str]) -> None:
    http.put(
        "/v1/stores/s1", json={"name": "Nordic", "floor": 1, "zone": "north", "category": "fashion"}, headers=admin
    )
    for screen_id, body in (
        ("lead1", {"kind": "lead_in", "zone": "atrium"}),
        ("mirror1", {"kind": "mirror", "store_id": "s1"}),
        ("cam1", {"kind": "entrance_camera", "store_id": "s1"}),
    ):
        http.put(f"/v1/screens/{screen_id}", json=body, headers=admin)
    rows = [
        {"sku": f"T{i}", "name": f"top {i}", "category": "tops", "gender_target": "women", "price": 10, "stock": 3}
        for i in range(5)
    ]
    http.put("/v1/stores/s1/catalog", json=rows, headers=admin)
    http.put("/v1/stores/s1/coupons", json=[coupon("c1")], headers=admin)
    # Stored versions, so their times come back from the database (where SQLite drops the offset).
    http.put("/v1/ranking/weights", json={"weights": {"popularity": 1.2}}, headers=admin)
    http.put("/v1/mirror/compatibility", json={"table": {"tops": {"bottoms": 1.0}}}, headers=admin)
    http.post("/v1/screens/lead1/heartbeat", headers=admin)


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[FastAPI, dict[str, dict[str, str]]]) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed[0]).exclude(path=STREAMS)


def _fuzz(operation: Any, headers: dict[str, str], calls: list[int]) -> str | None:
    """The first failure of ``operation`` over valid and invalid generated requests, or None."""
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=cases)
    def run(case: Any) -> None:
        calls.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # one grouped failure per operation; keep its text
        return f"{operation.label}: {str(exc).split('Reproduce with')[0].strip()}\n  {_reproduce(exc)}"
    return None


def _reproduce(exc: BaseException) -> str:
    text = str(exc)
    return text.split("Reproduce with:")[1].strip().splitlines()[0] if "Reproduce with:" in text else ""


@pytest.mark.parametrize("role", ["admin", "device"])
def test_no_5xx_and_every_answer_matches_the_schema(
    api_schema: Any, fuzzed: tuple[FastAPI, dict[str, dict[str, str]]], role: str
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    calls: list[int] = []
    failures = [f for f in (_fuzz(op, fuzzed[1][role], calls) for op in operations) if f]
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= 10 * len(operations), "the fuzzer ran"
    print(f"{role}: {len(operations)} operations, {len(calls)} calls, statuses {sorted(set(calls))}")
