"""Small builders shared by the API tests: events, coupon rows, and waiting on asynchronous effects."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any


def training_log_start(days: int = 2) -> datetime:
    """10:00 UTC ``days`` back: where a few hours of training history start, whenever the test runs.

    Claim models see the hour block and weekday; a history that starts at the wall clock crosses a
    block boundary at some times of day and not others, and a test on it passes or fails by clock.
    """
    return (datetime.now(UTC) - timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


def event(**fields: object) -> dict[str, object]:
    """A device event with a fresh ``event_id`` and the current time, plus ``fields``."""
    return {"event_id": str(uuid.uuid4()), "ts": datetime.now(UTC).isoformat(), **fields}


def coupon(coupon_id: str, **kw: object) -> dict[str, object]:
    """A valid 20 % coupon row, live from yesterday for a month; ``kw`` overrides any field."""
    now = datetime.now(UTC)
    return {
        "coupon_id": coupon_id,
        "title": f"{coupon_id} offer",
        "kind": "percent",
        "value": 20,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_to": (now + timedelta(days=30)).isoformat(),
        **kw,
    }


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``predicate`` holds (the event consumer and pub/sub work in the background)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def wait_until(page: Any, expression: str, arg: object = None, timeout: float = 30_000) -> None:
    """Poll a JavaScript ``expression`` (or ``(arg) => …``) in a browser page until it is truthy.

    Playwright's ``wait_for_function`` evaluates its predicate with ``eval`` inside the page, which
    the pages' Content-Security-Policy forbids (issue 13); ``page.evaluate`` is not subject to it."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression, arg):
        assert time.monotonic() < deadline, f"not reached in time: {expression}"
        time.sleep(0.05)
