"""Asynchronous twins of the kiosk clients, for kiosk apps built on asyncio.

Same behaviour as :mod:`._client` (the rules live in :mod:`._models`); SQLite work runs in a
worker thread (``asyncio.to_thread``) because an fsync on a cheap SD card can take tens of
milliseconds and must not stall the event loop that animates the screen.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx

from kiosk_client._cache import ResponseCache
from kiosk_client._events import MAX_BATCH, make_event
from kiosk_client._exceptions import (
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
from kiosk_client._retry import RetryPolicy, acall_with_retry

logger = logging.getLogger(__name__)


class AsyncKioskClient:
    """Async :class:`~kiosk_client.KioskClient`; ``transport`` may be ``httpx.ASGITransport(app)``."""

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
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
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
        self._flush_lock = asyncio.Lock()
        self._screen_path = quote(screen_id, safe="")
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with translate_httpx_errors():
            response = await self._http.request(method, path, **kwargs)
        raise_for_status(response)
        return response

    async def heartbeat(self, status: Mapping[str, Any] | None = None) -> bool:
        """See :meth:`KioskClient.heartbeat`."""
        body = {"pending_events": await self.pending(), **(status or {})}
        try:
            await self._request("POST", f"/v1/screens/{self._screen_path}/heartbeat", json=body)
        except ServerUnavailable as exc:
            logger.info("heartbeat of %s failed: %s", self.screen_id, exc)
            return False
        return True

    async def record(self, event_type: str, **fields: Any) -> str:
        """Validate an event, store it durably in the outbox and return its ``event_id``."""
        return await asyncio.to_thread(self.outbox.enqueue, make_event(event_type, **fields))

    async def record_purchase(self, store_id: str, skus: Sequence[str], session_id: str | None = None) -> str:
        extra = {"session_id": session_id} if session_id else {}
        return await self.record("purchase", store_id=store_id, skus=list(skus), **extra)

    async def pending(self) -> int:
        return await asyncio.to_thread(len, self.outbox)

    async def flush(self, *, max_batches: int | None = None) -> FlushResult:
        """See :meth:`KioskClient.flush`."""
        result = FlushResult()
        async with self._flush_lock:
            batches = 0
            while max_batches is None or batches < max_batches:
                batch = await asyncio.to_thread(self.outbox.peek, self.batch_size)
                if not batch:
                    break
                try:
                    settled = await self._send(batch, result)
                except ServerUnavailable as exc:
                    logger.warning("flush stopped, events kept for later: %s", exc)
                    result.server_unavailable = True
                    break
                batches += 1
                if settled == 0:
                    break
        result.remaining = await self.pending()
        return result

    async def _send(self, batch: list[PendingEvent], result: FlushResult) -> int:
        await asyncio.to_thread(self.outbox.mark_attempt, [p.event_id for p in batch])
        payload = {"events": [p.event for p in batch]}
        try:
            response = await acall_with_retry(
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
                return await asyncio.to_thread(self.outbox.ack, drop_rejected(batch[0], exc, result))
            mid = len(batch) // 2
            return await self._send(batch[:mid], result) + await self._send(batch[mid:], result)
        return await asyncio.to_thread(self.outbox.ack, settle_batch(batch, json_body(response), result))

    async def _cached_get(
        self, path: str, params: Mapping[str, Any], key: str
    ) -> tuple[dict[str, Any], bool, datetime]:
        try:
            body = json_body(await self._request("GET", path, params=params))
        except ServerUnavailable as exc:
            cached = await asyncio.to_thread(self.cache.get, key)
            if cached is None:
                raise
            logger.info("serving cached %s from %s: %s", key, cached.fetched_at.isoformat(), exc)
            return cached.value, True, cached.fetched_at
        await asyncio.to_thread(self.cache.put, key, body)
        return body, False, datetime.now(UTC)

    async def aclose(self) -> None:
        await self._http.aclose()
        self.outbox.close()
        self.cache.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


class AsyncLeadInClient(AsyncKioskClient):
    """Async :class:`~kiosk_client.LeadInClient`."""

    async def coupons(self, k: int = 5) -> CouponList:
        path = f"/v1/screens/{self._screen_path}/coupons"
        body, stale, fetched_at = await self._cached_get(path, {"k": k}, "coupons")
        return coupons_from(body, k, stale=stale, fetched_at=fetched_at)

    async def record_audience(self, faces: Sequence[Mapping[str, Any]], dwell_s: float | None = None) -> str:
        extra = {"dwell_s": dwell_s} if dwell_s is not None else {}
        return await self.record("audience", screen_id=self.screen_id, faces=[dict(f) for f in faces], **extra)

    async def record_coupon_impression(
        self, coupon_id: str, explored: bool | None = None, propensity: float | None = None
    ) -> str:
        extra: dict[str, Any] = {} if explored is None else {"explored": explored}
        if propensity is not None:  # the coupon list's `propensity`: lets the service evaluate other policies
            extra["propensity"] = propensity
        return await self.record("coupon_impression", screen_id=self.screen_id, coupon_id=coupon_id, **extra)

    async def record_coupon_claim(self, coupon_id: str) -> str:
        return await self.record("coupon_claim", screen_id=self.screen_id, coupon_id=coupon_id)


class AsyncMirrorClient(AsyncKioskClient):
    """Async :class:`~kiosk_client.MirrorClient`."""

    async def try_on(self, sku: str, session_id: str) -> str:
        event = make_event("try_on", screen_id=self.screen_id, sku=sku, session_id=session_id)
        body = {"event_id": event["event_id"], "sku": sku, "session_id": session_id}
        try:
            await self._request("POST", f"/v1/mirrors/{self._screen_path}/try-ons", json=body)
        except ServerUnavailable as exc:
            logger.info("try-on queued for later: %s", exc)
            await asyncio.to_thread(self.outbox.enqueue, event)
        return str(event["event_id"])

    async def recommendations(self, sku: str, session_id: str | None = None, k: int = 6) -> Recommendations:
        params: dict[str, Any] = {"sku": sku, "k": k} | ({"session_id": session_id} if session_id else {})
        path = f"/v1/mirrors/{self._screen_path}/recommendations"
        body, stale, fetched_at = await self._cached_get(path, params, f"recommendations:{sku}")
        return recommendations_from(body, k, stale=stale, fetched_at=fetched_at)
