"""Vitrine device SDK: what runs on a mall screen and talks to the Vitrine service over HTTP.

Screens live on flaky mall Wi-Fi and get rebooted by cleaners, so the SDK is built around three
guarantees: every event is stored durably in a SQLite outbox before ``record*`` returns; the outbox
is flushed with back-off and the service dedupes by the client-made ``event_id``, so each event
counts exactly once; the last good coupon list and recommendations are cached on disk for offline
display.

    from kiosk_client import LeadInClient

    with LeadInClient("https://vitrine.mall", "lead-f1-atrium", token, state_dir="/var/lib/kiosk") as kiosk:
        sync = kiosk.start_background(heartbeat_every=30, flush_every=5)
        kiosk.record_audience([{"gender": "female", "age": 31, "confidence": 0.9}])
        for coupon in kiosk.coupons(k=5).coupons: ...

Everything public is re-exported here; modules starting with ``_`` are private.
"""

from kiosk_client._async_client import AsyncKioskClient, AsyncLeadInClient, AsyncMirrorClient
from kiosk_client._cache import CachedValue, ResponseCache
from kiosk_client._camera import (
    CameraLoop,
    CameraStats,
    Capture,
    EdgeAnalyzer,
    EdgeResult,
    ScreenKind,
    load_edge_analyzer,
)
from kiosk_client._client import BackgroundSync, KioskClient, LeadInClient, MirrorClient
from kiosk_client._events import REQUIRED_FIELDS, make_event, new_event_id, validate_event
from kiosk_client._exceptions import AuthError, KioskError, ProtocolError, RejectedError, ServerUnavailable
from kiosk_client._models import DEFAULT_TIMEOUT, CouponList, FlushResult, Recommendations
from kiosk_client._outbox import Outbox, PendingEvent
from kiosk_client._retry import RetryPolicy

__all__ = [
    "DEFAULT_TIMEOUT",
    "REQUIRED_FIELDS",
    "AsyncKioskClient",
    "AsyncLeadInClient",
    "AsyncMirrorClient",
    "AuthError",
    "BackgroundSync",
    "CachedValue",
    "CameraLoop",
    "CameraStats",
    "Capture",
    "CouponList",
    "EdgeAnalyzer",
    "EdgeResult",
    "FlushResult",
    "KioskClient",
    "KioskError",
    "LeadInClient",
    "MirrorClient",
    "Outbox",
    "PendingEvent",
    "ProtocolError",
    "Recommendations",
    "RejectedError",
    "ResponseCache",
    "RetryPolicy",
    "ScreenKind",
    "ServerUnavailable",
    "load_edge_analyzer",
    "make_event",
    "new_event_id",
    "validate_event",
]
