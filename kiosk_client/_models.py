"""Result types and the I/O-free logic shared by the sync and async clients.

Keeping request shaping and response interpretation here means :mod:`._client` and
:mod:`._async_client` differ only in ``await`` — the rules (what counts as acknowledged, which
whole-batch errors may be bisected) are written once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import httpx

from kiosk_client._exceptions import ProtocolError, RejectedError
from kiosk_client._outbox import PendingEvent

logger = logging.getLogger(__name__)

# Explicit everywhere: a kiosk must never hang on a half-open mall Wi-Fi socket.
DEFAULT_TIMEOUT: Final = httpx.Timeout(5.0, connect=3.0)
# Whole-batch answers that mean "something in this batch is bad": split the batch to find it.
# Anything else (404 from a wrong base URL, 405...) keeps the events: they are not at fault.
BISECTABLE_STATUSES: Final = frozenset({400, 413, 422})


@dataclass(frozen=True)
class CouponList:
    """Coupons to show on a lead-in screen; ``stale`` when served from the offline cache."""

    coupons: list[dict[str, Any]]
    profile: dict[str, Any] | None
    model_version: str | None
    stale: bool
    fetched_at: datetime


@dataclass(frozen=True)
class Recommendations:
    """What a mirror shows for the item being tried on; ``stale`` when served from cache."""

    item: dict[str, Any] | None
    similar: list[dict[str, Any]]
    complementary: list[dict[str, Any]]
    model_version: str | None
    stale: bool
    fetched_at: datetime


@dataclass
class FlushResult:
    """What one :meth:`flush` achieved; ``remaining`` > 0 with ``server_unavailable`` means "later"."""

    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    remaining: int = 0
    server_unavailable: bool = False
    rejected_ids: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> int:
        return self.accepted + self.duplicates


def coupons_from(body: dict[str, Any], k: int, *, stale: bool, fetched_at: datetime) -> CouponList:
    coupons = body.get("coupons")
    if not isinstance(coupons, list):
        raise ProtocolError("coupons response has no 'coupons' list")
    return CouponList(coupons[:k], body.get("profile"), body.get("model_version"), stale, fetched_at)


def recommendations_from(body: dict[str, Any], k: int, *, stale: bool, fetched_at: datetime) -> Recommendations:
    similar, complementary = body.get("similar", []), body.get("complementary", [])
    if not isinstance(similar, list) or not isinstance(complementary, list):
        raise ProtocolError("recommendations response: 'similar' and 'complementary' must be lists")
    return Recommendations(
        body.get("item"), similar[:k], complementary[:k], body.get("model_version"), stale, fetched_at
    )


def settle_batch(batch: list[PendingEvent], body: dict[str, Any], result: FlushResult) -> list[str]:
    """Interpret a ``POST /v1/events`` answer; return the ids that may leave the outbox.

    Events named in ``errors`` were rejected for good: they leave (and are logged) so they are not
    retried forever. The others were accepted or duplicates — but only if the counts add up; if they
    do not, we keep them, since a resend is harmless to a service that dedupes by ``event_id``.
    """
    try:
        accepted, duplicates = int(body["accepted"]), int(body["duplicates"])
        errors = body.get("errors") or []
        bad = {int(e["index"]): str(e.get("message", "")) for e in errors}
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"/v1/events answer does not match the contract: {body!r:.200}") from exc
    done = []
    for index, message in sorted(bad.items()):
        if 0 <= index < len(batch):
            logger.warning("service rejected event %s: %s", batch[index].event_id, message)
            done.append(batch[index].event_id)
    result.rejected += len(done)
    result.rejected_ids.extend(done)
    if accepted + duplicates + len(done) != len(batch):
        logger.error(
            "event batch of %d: service counted %d accepted + %d duplicates + %d rejected; "
            "keeping the rest for a resend",
            len(batch),
            accepted,
            duplicates,
            len(done),
        )
        return done
    result.accepted += accepted
    result.duplicates += duplicates
    return [p.event_id for i, p in enumerate(batch) if i not in bad] + done


def drop_rejected(event: PendingEvent, exc: RejectedError, result: FlushResult) -> list[str]:
    """A single event the service refused as a whole request: log it and let it go."""
    logger.warning("service rejected event %s (%s): %s", event.event_id, exc.status_code, exc.detail)
    result.rejected += 1
    result.rejected_ids.append(event.event_id)
    return [event.event_id]
