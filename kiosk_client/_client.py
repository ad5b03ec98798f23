"""Synchronous kiosk clients: :class:`LeadInClient` and :class:`MirrorClient`.

Reads (coupons, recommendations) make one attempt and fall back to the last good answer on disk,
because a screen cannot keep a shopper waiting through a back-off. Writes (events) go through the
durable outbox and are retried with back-off by :meth:`KioskClient.flush`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx

from kiosk_client._cache import ResponseCache
from kiosk_client._events import MAX_BATCH, make_event
from kiosk_client._exceptions import (
    KioskError,
    RejectedError,
    ServerUnavailable,
    json_body,
    raise_for_status,
    translate_httpx_errors,
)
from kiosk_client._models import (
    BISECTABLE_STATUSES,
    DEFAULT_TIMEOUT,
    CouponList,
    FlushResult,
    Recommendations,
    coupons_from,
    drop_rejected,
    recommendations_from,
    settle_batch,
)
from kiosk_client._outbox import Outbox, PendingEvent
from kiosk_client._retry import RetryPolicy, call_with_retry

logger = logging.getLogger(__name__)


class KioskClient:
    """What every screen does: authenticate, heartbeat, queue events durably and flush them.

    ``state_dir`` holds ``outbox.sqlite3`` and ``cache.sqlite3``; put it on storage that survives
    a reboot. ``transport`` is the httpx seam: pass ``httpx.MockTransport`` or a WSGI transport in
    tests. ``sleep`` and ``rng`` are injectable so back-off can be tested without waiting.
    """

    def __init__(
        self,
        base_url: str,
        screen_id: str,
        token: str,
        *,
        state_dir: str | Path,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        batch_size: int = 500,
        max_pending: int = 200_000,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], object] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be within 1..{MAX_BATCH} (the service's batch limit)")
        self.screen_id = screen_id
        self.retry = retry or RetryPolicy()
        self.batch_size = batch_size
        self.outbox = Outbox(Path(state_dir) / "outbox.sqlite3", max_pending=max_pending)
        self.cache = ResponseCache(Path(state_dir) / "cache.sqlite3")
        self._sleep, self._rng = sleep, rng or random.Random()
        self._flush_lock = threading.Lock()
        self._screen_path = quote(screen_id, safe="")
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with translate_httpx_errors():
            response = self._http.request(method, path, **kwargs)
        raise_for_status(response)
        return response

    def heartbeat(self, status: Mapping[str, Any] | None = None) -> bool:
        """Tell the service this screen is alive; ``False`` when it cannot be reached (no retry:
        the next beat is the retry). Raises :class:`AuthError` for a refused token."""
        body = {"pending_events": len(self.outbox), **(status or {})}
        try:
            self._request("POST", f"/v1/screens/{self._screen_path}/heartbeat", json=body)
        except ServerUnavailable as exc:
            logger.info("heartbeat of %s failed: %s", self.screen_id, exc)
            return False
        return True

    def record(self, event_type: str, **fields: Any) -> str:
        """Validate an event, store it durably in the outbox and return its ``event_id``."""
        return self.outbox.enqueue(make_event(event_type, **fields))

    def record_purchase(self, store_id: str, skus: Sequence[str], session_id: str | None = None) -> str:
        extra = {"session_id": session_id} if session_id else {}
        return self.record("purchase", store_id=store_id, skus=list(skus), **extra)

    @property
    def pending(self) -> int:
        """Events waiting in the outbox."""
        return len(self.outbox)

    def flush(self, *, max_batches: int | None = None) -> FlushResult:
        """Send pending events in batches, oldest first, until the outbox is empty or the service
        stays unavailable after the retry policy is exhausted (then ``server_unavailable`` is set)."""
        result = FlushResult()
        with self._flush_lock:
            batches = 0
            while max_batches is None or batches < max_batches:
                batch = self.outbox.peek(self.batch_size)
                if not batch:
                    break
                try:
                    settled = self._send(batch, result)
                except ServerUnavailable as exc:
                    logger.warning("flush stopped, %d events kept for later: %s", len(self.outbox), exc)
                    result.server_unavailable = True
                    break
                batches += 1
                if settled == 0:
                    break
        result.remaining = len(self.outbox)
        return result

    def _send(self, batch: list[PendingEvent], result: FlushResult) -> int:
        """Upload one batch; bisect a batch the service refused as a whole to find the bad event."""
        self.outbox.mark_attempt([p.event_id for p in batch])
        payload = {"events": [p.event for p in batch]}
        try:
            response = call_with_retry(
                lambda: self._request("POST", "/v1/events", json=payload),
                self.retry,
                sleep=self._sleep,
                rng=self._rng,
                what=f"upload of {len(batch)} events",
            )
        except RejectedError as exc:
            if exc.status_code not in BISECTABLE_STATUSES:
                raise
            if len(batch) == 1:
                return self.outbox.ack(drop_rejected(batch[0], exc, result))
            mid = len(batch) // 2
            return self._send(batch[:mid], result) + self._send(batch[mid:], result)
        return self.outbox.ack(settle_batch(batch, json_body(response), result))

    def analyse_frame(self, jpeg: bytes) -> dict[str, Any]:
        """Post one JPEG (held in memory only) to ``/v1/vision/frames``; returns the anonymous
        result. No retry and no queueing: a late frame is worthless and must not be stored."""
        response = self._request(
            "POST",
            "/v1/vision/frames",
            params={"screen_id": self.screen_id},
            content=jpeg,
            headers={"Content-Type": "image/jpeg"},
        )
        return json_body(response)

    def _cached_get(self, path: str, params: Mapping[str, Any], key: str) -> tuple[dict[str, Any], bool, datetime]:
        """GET with fall-back to the last good body: returns ``(body, stale, fetched_at)``."""
        try:
            body = json_body(self._request("GET", path, params=params))
        except ServerUnavailable as exc:
            cached = self.cache.get(key)
            if cached is None:
                raise
            logger.info("serving cached %s from %s: %s", key, cached.fetched_at.isoformat(), exc)
            return cached.value, True, cached.fetched_at
        self.cache.put(key, body)
        return body, False, datetime.now(UTC)

    def start_background(self, *, heartbeat_every: float = 30.0, flush_every: float = 5.0) -> BackgroundSync:
        """Heartbeat and flush from a daemon thread until :meth:`BackgroundSync.stop`."""
        return BackgroundSync(self, heartbeat_every, flush_every)

    def close(self) -> None:
        self._http.close()
        self.outbox.close()
        self.cache.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class LeadInClient(KioskClient):
    """A lead-in screen in an atrium or entrance: shows coupons, reports the crowd in front of it."""

    def coupons(self, k: int = 5) -> CouponList:
        """Top ``k`` coupons for the current crowd; the cached list (``stale=True``) when offline.

        Raises :class:`ServerUnavailable` only when offline *and* nothing was ever cached.
        """
        path = f"/v1/screens/{self._screen_path}/coupons"
        body, stale, fetched_at = self._cached_get(path, {"k": k}, "coupons")
        return coupons_from(body, k, stale=stale, fetched_at=fetched_at)

    def record_audience(self, faces: Sequence[Mapping[str, Any]], dwell_s: float | None = None) -> str:
        extra = {"dwell_s": dwell_s} if dwell_s is not None else {}
        return self.record("audience", screen_id=self.screen_id, faces=[dict(f) for f in faces], **extra)

    def record_coupon_impression(
        self, coupon_id: str, explored: bool | None = None, propensity: float | None = None
    ) -> str:
        """``explored``: the coupon list marked it so (it feeds the console's measured exploration share)."""
        extra: dict[str, Any] = {} if explored is None else {"explored": explored}
        if propensity is not None:  # the coupon list's `propensity`: lets the service evaluate other policies
            extra["propensity"] = propensity
        return self.record("coupon_impression", screen_id=self.screen_id, coupon_id=coupon_id, **extra)

    def record_coupon_claim(self, coupon_id: str) -> str:
        return self.record("coupon_claim", screen_id=self.screen_id, coupon_id=coupon_id)


class MirrorClient(KioskClient):
    """A smart mirror in a fitting room: reports try-ons, shows similar and complementary items."""

    def try_on(self, sku: str, session_id: str) -> str:
        """Report a try-on now; when the service is away, queue it as a ``try_on`` event with the
        same ``event_id`` so it still arrives exactly once. Returns the ``event_id``."""
        event = make_event("try_on", screen_id=self.screen_id, sku=sku, session_id=session_id)
        body = {"event_id": event["event_id"], "sku": sku, "session_id": session_id}
        try:
            self._request("POST", f"/v1/mirrors/{self._screen_path}/try-ons", json=body)
        except ServerUnavailable as exc:
            logger.info("try-on queued for later: %s", exc)
            self.outbox.enqueue(event)
        return str(event["event_id"])

    def recommendations(self, sku: str, session_id: str | None = None, k: int = 6) -> Recommendations:
        """Similar and complementary items for ``sku``; the cached answer when offline."""
        params: dict[str, Any] = {"sku": sku, "k": k} | ({"session_id": session_id} if session_id else {})
        path = f"/v1/mirrors/{self._screen_path}/recommendations"
        body, stale, fetched_at = self._cached_get(path, params, f"recommendations:{sku}")
        return recommendations_from(body, k, stale=stale, fetched_at=fetched_at)


class BackgroundSync:
    """A daemon thread that heartbeats and flushes a client; errors are logged, never raised,
    because a kiosk UI must keep running while an operator fixes a token or a server."""

    def __init__(self, client: KioskClient, heartbeat_every: float, flush_every: float) -> None:
        self._client, self._heartbeat_every, self._flush_every = client, heartbeat_every, flush_every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"kiosk-sync:{client.screen_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        next_beat = 0.0
        while not self._stop.is_set():
            try:
                if time.monotonic() >= next_beat:
                    self._client.heartbeat()
                    next_beat = time.monotonic() + self._heartbeat_every
                if self._client.pending:
                    self._client.flush()
            except KioskError:
                logger.exception("background sync of %s failed", self._client.screen_id)
            self._stop.wait(self._flush_every)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
