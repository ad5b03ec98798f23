"""The only place vision sends anything anywhere: event sinks.

Events are already anonymous when they get here; frames and crops never do. ``HttpEventSink`` posts
batches to the service's ``/v1/events`` with the box's bearer token and retries transient failures
with exponential back-off, so a service restart costs latency, not events.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

import httpx

log = logging.getLogger(__name__)


class EventSink(Protocol):
    def send(self, events: list[dict[str, Any]]) -> None: ...


class PublishError(RuntimeError):
    """The service refused a batch (4xx other than 429) or stayed unreachable after every retry."""


class ListSink:
    """Keeps events in memory; for tests and for ``vitrine vision run`` without a sink."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def send(self, events: list[dict[str, Any]]) -> None:
        self.events.extend(events)


class HttpEventSink:
    """POST ``{"events": [...]}`` to ``{base_url}/v1/events``; response ``{accepted, duplicates,
    rejected, errors}`` is tallied in :attr:`totals`. Pass ``transport`` to test against an ASGI
    app (``httpx.ASGITransport``) or a ``httpx.MockTransport``."""

    RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

    def __init__(
        self,
        base_url: str,
        token: str,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_batch: int = 500,
    ) -> None:
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_batch = max_batch
        self.totals = {"accepted": 0, "duplicates": 0, "rejected": 0}

    def send(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), self.max_batch):
            self._send_batch(events[start : start + self.max_batch])

    def _send_batch(self, batch: list[dict[str, Any]]) -> None:
        last_error = "no attempt"
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                response = self.client.post("/v1/events", json={"events": batch})
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                log.warning("event post failed (%s); attempt %d/%d", last_error, attempt + 1, self.max_attempts)
                continue
            if response.status_code in self.RETRY_STATUS:
                last_error = f"HTTP {response.status_code}"
                continue
            if response.is_error:
                raise PublishError(
                    f"service refused {len(batch)} events: HTTP {response.status_code} {response.text[:200]}"
                )
            self._tally(response.json(), len(batch))
            return
        raise PublishError(f"could not deliver {len(batch)} events after {self.max_attempts} attempts: {last_error}")

    def _tally(self, body: dict[str, Any], sent: int) -> None:
        for key in self.totals:
            self.totals[key] += int(body.get(key, 0) or 0)
        if body.get("rejected"):
            log.warning("service rejected %s of %d events: %s", body["rejected"], sent, body.get("errors"))

    def close(self) -> None:
        self.client.close()
