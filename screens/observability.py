"""Structured JSON logs and Prometheus metrics.

Request logs carry method, route template, status and duration — never headers, bodies or query
strings, so bearer tokens and event payloads cannot reach the logs.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("vitrine_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "vitrine_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
EVENTS = Counter("vitrine_events_total", "Device events by outcome", ["outcome"])

log = logging.getLogger("screens.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, as_json: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class RequestMetrics:
    """Counts, times and logs every HTTP request as plain ASGI middleware.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware`` runs the
    app in a separate task and streams the body through a memory channel, which cost the coupon
    route a large share of its throughput (``docs/benchmarks.md``, issue 12).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            elapsed = time.perf_counter() - start
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(route).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                fields = {"method": scope["method"], "route": route, "status": status, "ms": round(elapsed * 1000, 2)}
                log.info("request", extra={"fields": fields})


def install_request_metrics(app: FastAPI) -> None:
    app.add_middleware(RequestMetrics)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
