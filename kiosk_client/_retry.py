"""Exponential back-off with jitter, for sync and async callers.

The delay before retry ``n`` (0-based) is drawn uniformly from ``[cap/2, cap]`` with
``cap = min(max_delay, base_delay * multiplier**n)`` — the "equal jitter" scheme of
Brooker, *Exponential Backoff And Jitter* (AWS Architecture Blog, 2015). Jitter matters here: after a
mall-wide Wi-Fi outage every kiosk comes back at the same second, and without it they would retry
in lock-step. The lower half-bound keeps a kiosk from hammering a server that just failed.
A server's ``Retry-After`` hint raises the delay (never beyond ``max_delay``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from kiosk_client._exceptions import ServerUnavailable

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that raised :class:`ServerUnavailable`."""

    max_attempts: int = 5
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1 (1 means: no retries)")
        if self.base_delay < 0 or self.max_delay < self.base_delay or self.multiplier < 1:
            raise ValueError("need 0 <= base_delay <= max_delay and multiplier >= 1")

    def cap(self, retry: int) -> float:
        """Upper bound of the delay before retry number ``retry`` (0-based)."""
        return float(min(self.max_delay, self.base_delay * self.multiplier**retry))

    def delay(self, retry: int, rng: random.Random, retry_after: float | None = None) -> float:
        cap = self.cap(retry)
        wait = rng.uniform(cap / 2, cap)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_delay))
        return wait


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], object] = time.sleep,
    rng: random.Random | None = None,
    what: str = "request",
) -> T:
    """Call ``fn`` until it stops raising :class:`ServerUnavailable` or attempts run out."""
    rng = rng or random.Random()
    for retry in range(policy.max_attempts):
        try:
            return fn()
        except ServerUnavailable as exc:
            if retry + 1 >= policy.max_attempts:
                raise
            wait = policy.delay(retry, rng, exc.retry_after)
            logger.info("%s failed (%s); retry %d in %.2fs", what, exc, retry + 1, wait)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


async def acall_with_retry(
    fn: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: random.Random | None = None,
    what: str = "request",
) -> T:
    """Async twin of :func:`call_with_retry`."""
    rng = rng or random.Random()
    for retry in range(policy.max_attempts):
        try:
            return await fn()
        except ServerUnavailable as exc:
            if retry + 1 >= policy.max_attempts:
                raise
            wait = policy.delay(retry, rng, exc.retry_after)
            logger.info("%s failed (%s); retry %d in %.2fs", what, exc, retry + 1, wait)
            await sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
