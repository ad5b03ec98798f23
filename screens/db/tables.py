"""The tables. Everything here is catalogue, configuration or anonymous event data.

Nothing identifying is stored: events are schema-checked before they arrive here (no images,
embeddings, face or track ids), and API tokens are kept only as SHA-256 hashes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False, **kw))


class Store(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    floor: int
    zone: str
    category: str


class Screen(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(description="lead_in | mirror | entrance_camera")
    store_id: str | None = Field(default=None, foreign_key="store.id", index=True)
    zone: str | None = None
    camera: bool = Field(default=True, description="its camera is on: the page shows the camera notice")
    last_seen: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class CatalogItem(SQLModel, table=True):
    __tablename__ = "catalog_item"
    __table_args__ = (UniqueConstraint("store_id", "sku", name="uq_catalog_store_sku"),)

    id: int | None = Field(default=None, primary_key=True)
    store_id: str = Field(foreign_key="store.id", index=True)
    sku: str = Field(max_length=64)
    name: str
    category: str = Field(index=True)
    subcategory: str | None = None
    gender_target: str
    colors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    style_tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    price: float
    sale_price: float | None = None
    stock: int
    image_url: str | None = None
    complements: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _ts()


class Coupon(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    store_id: str = Field(foreign_key="store.id", index=True)
    title: str
    kind: str = Field(description="percent | amount | gift")
    value: float
    min_spend: float = 0.0
    valid_from: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    valid_to: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    daily_cap: int | None = None
    total_stock: int | None = None
    active: bool = True
    updated_at: datetime = _ts()


class RankingWeights(SQLModel, table=True):
    """One immutable version of the ops-tuned ranking weights; the highest version is in force."""

    __tablename__ = "ranking_weights"

    version: int = Field(primary_key=True)
    weights: dict[str, float] = Field(sa_column=Column(JSON, nullable=False))
    diff: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    author: str
    comment: str | None = None
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    role: str
    store_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    screen_id: str | None = None
    label: str | None = None
    created_at: datetime = _ts()
    revoked: bool = False
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_used_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True)), description="to the minute; written in the background"
    )


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str = Field(description="token label and role, never the token")
    action: str
    target: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class EventRecord(SQLModel, table=True):
    """Every accepted device event, keyed by its client-made id so re-sends are recognised.

    It is both the idempotency ledger (a repeated ``event_id`` is a duplicate, across restarts)
    and the log the offline trainers read.
    """

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_type_ts", "type", "ts"),)

    event_id: str = Field(primary_key=True, max_length=36)
    type: str
    ts: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    screen_id: str | None = None
    store_id: str | None = None
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = _ts()


class SettingValue(SQLModel, table=True):
    """One small ops-edited setting kept as JSON (the mirror's compatibility table); each change bumps
    ``version`` and is written to the audit log with its diff, so the history lives there."""

    __tablename__ = "settings_kv"

    key: str = Field(primary_key=True, max_length=64)
    value: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int
    updated_by: str
    updated_at: datetime = _ts()


def table(model: type[SQLModel]) -> Table:
    """The Core table behind a model (for bulk statements); SQLModel's stubs do not declare it."""
    result: Table = model.__table__  # type: ignore[attr-defined]
    return result
