"""Service settings, read from ``VITRINE_*`` environment variables or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-only-secret-do-not-use-in-production"


class Settings(BaseSettings):
    """Everything the service can be tuned with; defaults give a working single-machine demo.

    ``database_url`` defaults to a SQLite file under ``./var`` and ``redis_url`` to nothing, which
    selects the in-process bus: a fresh machine runs without PostgreSQL or Redis.
    """

    model_config = SettingsConfigDict(env_prefix="VITRINE_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/vitrine.db"
    redis_url: str | None = None
    environment: str = Field("development", description="development | production")
    log_level: str = "INFO"
    log_json: bool = True
    secret_key: str = Field(
        DEV_SECRET_KEY,
        description="signs coupon claim codes; set a random value of at least 32 characters in production",
    )

    public_url: str | None = Field(
        None,
        description="how shoppers' phones reach the service (claim QR codes point here, never at the request's "
        "Host); required in production, default http://127.0.0.1:8000 in development",
    )
    metrics_access: Literal["open", "token", "off"] = Field(
        "token", description="/metrics: open to anyone, for ops/admin tokens only, or not served"
    )
    upload_max_bytes: int = Field(50 * 1024 * 1024, gt=0, description="largest accepted upload body")
    events_max_batch: int = Field(1000, gt=0)
    event_buffer_max: int = Field(50_000, gt=0, description="events kept in process while Redis is away")
    bus_retry_interval_s: float = Field(0.5, gt=0, description="how often a degraded bus retries Redis")
    stream_maxlen: int = Field(1_000_000, gt=0, description="approximate cap of the Redis event stream")

    mirror_session_window_s: float = Field(
        7200.0, gt=0, description="a mirror session_id is refused this long after its first try-on (start a new one)"
    )
    crowd_window_s: float = Field(10.0, gt=0, description="how far back a screen's crowd profile looks")
    audience_half_life_days: float = Field(7.0, gt=0)
    k_anonymity: int = Field(20, ge=1, description="visits needed before a store audience is published")
    dp_epsilon: float | None = Field(None, gt=0, description="Laplace noise on published audiences")
    model_dir: Path = Path("./var/models")
    media_dir: Path | None = Field(
        None, description="folder of local product images served at /media/ (screens without internet)"
    )

    operator_name: str = Field("the operator of this shopping centre", description="who runs the cameras")
    privacy_contact: str = Field(
        "the information desk of this shopping centre", description="where people ask about the cameras"
    )
    notice_languages: list[str] = Field(
        ["en"], min_length=1, description="languages of the camera notice on screens, in display order"
    )
    privacy_notice: dict[str, str] = Field(
        {}, description='camera notice text per language, e.g. {"en": "..."}; built-in texts otherwise'
    )
    event_retention_days: int = Field(
        30,
        ge=1,
        le=3650,
        description="raw events older than this are dropped (rollups stay) and refused at intake; stated on /privacy",
    )
    frame_max_pixels: int = Field(
        4096 * 4096, gt=0, description="largest posted frame (width × height) decoded; its header is read first"
    )
    frame_decodes: int = Field(2, gt=0, description="posted frames decoded at once per worker (each holds its pixels)")
    vision_config: Path | None = Field(
        None, description="cameras.yaml whose `models` serve posted frames; none: Haar detection, attributes unknown"
    )

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, url: str) -> str:
        """Accept the common ``postgresql://`` spelling and route it to psycopg 3."""
        if url.startswith("postgres://"):
            url = "postgresql://" + url.removeprefix("postgres://")
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment == "production" and (self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32):
            raise ValueError(
                "VITRINE_SECRET_KEY must be set to a random value of at least 32 characters in "
                "production (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        return self

    @model_validator(mode="after")
    def _every_notice_language_has_a_text(self) -> Settings:
        from screens.services.privacy import DEFAULT_NOTICES, missing_notice_languages

        missing = missing_notice_languages(self.notice_languages, self.privacy_notice)
        if missing:
            raise ValueError(
                f"VITRINE_NOTICE_LANGUAGES: no camera notice text for {', '.join(missing)}; set it in "
                f"VITRINE_PRIVACY_NOTICE or use a built-in language ({', '.join(DEFAULT_NOTICES)})"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        if not url.startswith(("http://", "https://")) or "?" in url or "#" in url:
            raise ValueError("VITRINE_PUBLIC_URL must be an http(s) URL without query, e.g. https://mall.example")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _public_url_in_production(self) -> Settings:
        if self.environment == "production" and self.public_url is None:
            raise ValueError("VITRINE_PUBLIC_URL must be set in production (the base URL of claim QR codes)")
        return self

    @property
    def claim_base_url(self) -> str:
        return self.public_url or "http://127.0.0.1:8000"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
