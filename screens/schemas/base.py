"""Shared base: every inbound model forbids unknown fields, so nothing unexpected can slip in.

Also the small vocabulary of checked scalars every inbound model uses (issue 13): text without
control characters and in Unicode NFC (so ``é`` typed two ways is one SKU), ids the event schema
can name, integers that fit the database's 32-bit columns, and numbers that refuse ``true``/``false``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# PostgreSQL INTEGER (and the OFFSETs our pages use) are 32-bit; beyond this the driver raises.
MAX_INT = 2**31 - 1
ID_PATTERN = r"^[A-Za-z0-9_.:-]+$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def clean_text(value: str) -> str:
    """Refuse NUL and other control characters; return the NFC form."""
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL or other control characters")
    return unicodedata.normalize("NFC", value)


def _not_bool(value: Any) -> Any:
    """``true`` is not a number: pydantic would take it as 1 (``{"floor": false}`` stored as 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


CLEAN = AfterValidator(clean_text)
NOT_BOOL = BeforeValidator(_not_bool)
Text = Annotated[str, CLEAN]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
Count = Annotated[int, NOT_BOOL, Field(ge=0, le=MAX_INT)]
Amount = Annotated[float, NOT_BOOL, Field(ge=0, allow_inf_nan=False)]
IdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="letters, digits and _ . : - only")
]
OffsetInt = Annotated[int, Field(ge=0, le=MAX_INT)]


def _to_utc(value: datetime) -> datetime:
    """Times without an offset are taken as UTC; all times are stored and compared in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Also on answers: SQLite hands back naive datetimes, and every stored time is UTC, so say so.
UtcDatetime = Annotated[datetime, AfterValidator(_to_utc)]
