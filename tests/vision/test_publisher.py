"""The one I/O boundary: batches go to /v1/events with the bearer token, retried when transient."""

from __future__ import annotations

import json

import httpx
import pytest

from vision import publisher
from vision.publisher import HttpEventSink, ListSink, PublishError

EVENT = {"event_id": "e", "type": "audience", "ts": "t", "screen_id": "s", "faces": []}


def test_posts_batches_with_bearer_token() -> None:
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers["authorization"], json.loads(request.content)))
        return httpx.Response(200, json={"accepted": 2, "duplicates": 0, "rejected": 0, "errors": []})

    sink = HttpEventSink("http://svc/", "tok", transport=httpx.MockTransport(handler), max_batch=2)
    sink.send([EVENT, EVENT, EVENT])
    assert [s[:2] for s in seen] == [("/v1/events", "Bearer tok")] * 2
    assert [len(s[2]["events"]) for s in seen] == [2, 1] and sink.totals["accepted"] == 4


def test_retries_transient_failures_with_back_off(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(publisher.time, "sleep", sleeps.append)
    answers = iter([httpx.ConnectError("down"), httpx.Response(503), httpx.Response(200, json={"accepted": 1})])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    sink = HttpEventSink("http://svc", "tok", transport=httpx.MockTransport(handler), backoff_s=0.1)
    sink.send([EVENT])
    assert sleeps == [0.1, 0.2] and sink.totals["accepted"] == 1


def test_a_refused_batch_is_an_error_not_a_retry() -> None:
    sink = HttpEventSink("http://svc", "bad", transport=httpx.MockTransport(lambda r: httpx.Response(401)))
    with pytest.raises(PublishError, match="401"):
        sink.send([EVENT])


def test_list_sink_keeps_events() -> None:
    sink = ListSink()
    sink.send([EVENT])
    assert sink.events == [EVENT]
