"""Device events. Each type is a closed schema: images, embeddings, face or track ids, names or
phone numbers have no field to travel in, and any unknown field rejects the event."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from screens.schemas.base import Id, StrictModel, UtcDatetime

__all__ = ["Id"]


class _EventBase(StrictModel):
    event_id: UUID
    ts: UtcDatetime = Field(description="at most a day ahead, and within the raw-event retention")


class Face(StrictModel):
    gender: Literal["female", "male", "unknown"]
    age: Annotated[int, Field(ge=0, le=120, strict=True)] | None
    confidence: Annotated[float, Field(ge=0.0, le=1.0, strict=True)]


class AudienceEvent(_EventBase):
    type: Literal["audience"]
    screen_id: Id
    faces: Annotated[list[Face], Field(max_length=100)]
    dwell_s: Annotated[float, Field(ge=0, le=3600, strict=True)] | None = None
    group_size: Annotated[int, Field(ge=0, le=100, strict=True)] | None = None
    attention: Annotated[float, Field(ge=0.0, le=1.0, strict=True)] | None = None


class StoreVisitEvent(_EventBase):
    type: Literal["store_visit"]
    screen_id: Id
    gender: Literal["female", "male", "unknown"]
    age: Annotated[int, Field(ge=0, le=120, strict=True)] | None
    group: Literal["solo", "pair", "family"] | None = None


class TryOnEvent(_EventBase):
    type: Literal["try_on"]
    screen_id: Id
    sku: Id
    session_id: Id


class CouponImpressionEvent(_EventBase):
    type: Literal["coupon_impression"]
    screen_id: Id
    coupon_id: Id
    explored: Annotated[bool, Field(strict=True)] | None = Field(
        None, description="the ranking drew this coupon by Thompson sampling; null when the screen does not say"
    )
    propensity: Annotated[float, Field(gt=0.0, le=1.0)] | None = Field(
        None, description="the coupon list's `propensity` for this coupon (off-policy evaluation); null if unknown"
    )


class CouponClaimEvent(_EventBase):
    type: Literal["coupon_claim"]
    coupon_id: Id
    screen_id: Id | None = None


class PurchaseEvent(_EventBase):
    type: Literal["purchase"]
    store_id: Id
    skus: Annotated[list[Id], Field(min_length=1, max_length=200)]
    session_id: Id | None = None


Event = Annotated[
    AudienceEvent | StoreVisitEvent | TryOnEvent | CouponImpressionEvent | CouponClaimEvent | PurchaseEvent,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_TYPES = ("audience", "store_visit", "try_on", "coupon_impression", "coupon_claim", "purchase")


class EventBatch(StrictModel):
    """The events stay raw here so one bad event does not reject its neighbours."""

    events: Annotated[list[dict[str, object]], Field(min_length=1)]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "5b0d7c1e-8f7a-4c55-9a39-2f1f0c7d9e11",
                            "ts": "2026-11-23T10:00:00Z",
                            "type": "audience",
                            "screen_id": "lead-f1-atrium",
                            "faces": [{"gender": "female", "age": 27, "confidence": 0.91}],
                            "dwell_s": 4.2,
                        },
                        {
                            "event_id": "0b7e4a52-3c1d-4f0e-8d7b-6a5e4c3b2a19",
                            "ts": "2026-11-23T10:00:01Z",
                            "type": "store_visit",
                            "screen_id": "cam-s001",
                            "gender": "male",
                            "age": None,
                            "group": "pair",
                        },
                        {
                            "event_id": "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a5b4",
                            "ts": "2026-11-23T10:02:00Z",
                            "type": "try_on",
                            "screen_id": "mirror-s003-1",
                            "sku": "C-00042",
                            "session_id": "sess-7f3a",
                        },
                    ]
                }
            ]
        }
    }


class EventError(StrictModel):
    index: int
    message: str


class IngestResult(StrictModel):
    accepted: int
    duplicates: int
    rejected: int
    errors: list[EventError]
