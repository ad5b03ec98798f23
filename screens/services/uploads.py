"""Merchandiser uploads: parse CSV or JSON, validate every row, then write all or nothing.

Rows are validated in one pass through a pydantic ``TypeAdapter`` over the whole list (fast, and it
reports every bad row at once), so the 422 answer lists each ``{row, field, message}``; only a
fully valid upload reaches the database, inside one transaction.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from screens.auth import Principal
from screens.db.tables import CatalogItem, Coupon, table
from screens.errors import InvalidInput, UnsupportedMediaType
from screens.schemas.catalog import CatalogRow
from screens.schemas.coupons import CouponRow
from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS, LIST_COLUMNS, LIST_SEPARATOR
from screens.services import audit

Mode = Literal["upsert", "replace"]
CSV_TYPES = ("text/csv", "application/csv")
_CATALOG_ROWS = TypeAdapter(list[CatalogRow])
_COUPON_ROWS = TypeAdapter(list[CouponRow])
_INSERT_CHUNK = 5_000


_OPTIONAL_CSV = {
    "subcategory",
    "sale_price",
    "image_url",
    "complements",
    "colors",
    "style_tags",
    "min_spend",
    "daily_cap",
    "total_stock",
    "active",
}


def parse_body(body: bytes, content_type: str | None, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Turn an upload body into raw row dicts; CSV list columns are split on ``|``."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return _parse_csv(body, columns)
    if media == "application/json":
        return _parse_json(body)
    raise UnsupportedMediaType(f"content type {media or 'none'!r} is not accepted; send text/csv or application/json")


def _parse_csv(body: bytes, columns: Sequence[str]) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV is not UTF-8", errors=[{"row": 0, "field": None, "message": str(exc)}]) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in columns if c not in header and c not in _OPTIONAL_CSV]
    unknown = [h for h in header if h not in columns]
    if missing or unknown:
        errors = [{"row": 0, "field": c, "message": "required column is missing"} for c in missing]
        errors += [{"row": 0, "field": h, "message": "unknown column"} for h in unknown]
        raise InvalidInput("the CSV header does not match the template", errors=errors)
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        row: dict[str, Any] = {}
        for name, value in zip(header, values, strict=False):
            value = value.strip()
            if name in LIST_COLUMNS:
                row[name] = [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
            elif value != "":
                row[name] = value
        if len(values) > len(header):
            row["__extra__"] = values[len(header) :]
        rows.append(row)
    return rows


def _parse_json(body: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            "the body is not valid JSON", errors=[{"row": 0, "field": None, "message": str(exc)}]
        ) from exc
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInput(
            "the JSON body must be a list of objects",
            errors=[{"row": 0, "field": None, "message": "expected a JSON array of objects"}],
        )
    return data


def validate_rows(adapter: TypeAdapter[Any], raw: list[dict[str, Any]], key: str) -> list[Any]:
    """Validate every row; raise one ``InvalidInput`` listing all problems, rows numbered from 1."""
    errors: list[dict[str, Any]] = []
    for i, row in enumerate(raw, start=1):
        if "__extra__" in row:
            errors.append({"row": i, "field": None, "message": "more values than header columns"})
            del row["__extra__"]
    try:
        rows = adapter.validate_python(raw)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            errors.append(
                {"row": int(loc[0]) + 1, "field": ".".join(str(p) for p in loc[1:]) or None, "message": err["msg"]}
            )
        rows = []
    seen: dict[str, int] = {}
    for i, row in enumerate(raw, start=1):
        ident = row.get(key)
        if isinstance(ident, str) and ident in seen:
            errors.append({"row": i, "field": key, "message": f"duplicate of row {seen[ident]}"})
        elif isinstance(ident, str):
            seen[ident] = i
    if not raw:
        errors.append({"row": 0, "field": None, "message": "the upload holds no rows"})
    if errors:
        errors.sort(key=lambda e: (e["row"], e["field"] or ""))
        raise InvalidInput(f"{len({e['row'] for e in errors})} invalid row(s); nothing was written", errors=errors)
    return list(rows)


def _upsert(
    session: Session, table: Any, values: list[dict[str, Any]], conflict: list[str], update_cols: list[str]
) -> None:
    """Insert-or-update as one executemany: a statement compiled once, not one per row."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=conflict, set_={c: getattr(stmt.excluded, c) for c in update_cols})
    for start in range(0, len(values), _INSERT_CHUNK):
        session.execute(stmt, values[start : start + _INSERT_CHUNK])


def validate_catalog(raw: list[dict[str, Any]]) -> list[CatalogRow]:
    rows: list[CatalogRow] = validate_rows(_CATALOG_ROWS, raw, "sku")
    return rows


def validate_coupons(session: Session, store_id: str, raw: list[dict[str, Any]]) -> list[CouponRow]:
    """Row validation plus the one check that needs the database: coupon ids owned by other stores."""
    rows: list[CouponRow] = validate_rows(_COUPON_ROWS, raw, "coupon_id")
    ids = [r.coupon_id for r in rows]
    foreign = session.execute(
        select(col(Coupon.id), col(Coupon.store_id)).where(col(Coupon.id).in_(ids), col(Coupon.store_id) != store_id)
    ).all()
    if foreign:
        index = {cid: i for i, cid in enumerate(ids, start=1)}
        raise InvalidInput(
            "coupon ids already used by other stores; nothing was written",
            errors=[
                {"row": index[cid], "field": "coupon_id", "message": f"belongs to store {owner!r}"}
                for cid, owner in foreign
            ],
        )
    return rows


def store_catalog(
    session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode, actor: Principal | str
) -> dict[str, int]:
    rows = validate_catalog(raw)
    now = datetime.now(UTC)
    # The validated models hold plain values already; ``__dict__`` skips a serializer pass.
    values = [r.__dict__ | {"store_id": store_id, "updated_at": now} for r in rows]
    removed = 0
    if mode == "replace":
        skus = {r.sku for r in rows}
        existing = session.execute(select(col(CatalogItem.sku)).where(col(CatalogItem.store_id) == store_id)).scalars()
        stale = [s for s in existing if s not in skus]
        for start in range(0, len(stale), _INSERT_CHUNK):
            session.execute(
                delete(CatalogItem).where(
                    col(CatalogItem.store_id) == store_id,
                    col(CatalogItem.sku).in_(stale[start : start + _INSERT_CHUNK]),
                )
            )
        removed = len(stale)
    columns = [c for c in CATALOG_COLUMNS if c != "sku"] + ["updated_at"]
    _upsert(session, table(CatalogItem), values, ["store_id", "sku"], columns)
    audit.record(session, actor, f"catalog.{mode}", f"store:{store_id}", rows=len(rows), removed=removed)
    return {"rows": len(rows), "removed": removed}


def store_coupons(
    session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode, actor: Principal | str
) -> dict[str, int]:
    rows = validate_coupons(session, store_id, raw)
    ids = [r.coupon_id for r in rows]
    now = datetime.now(UTC)
    values = [
        r.model_dump(exclude={"coupon_id"}) | {"id": r.coupon_id, "store_id": store_id, "updated_at": now} for r in rows
    ]
    removed = 0
    if mode == "replace":
        result = session.execute(delete(Coupon).where(col(Coupon.store_id) == store_id, col(Coupon.id).not_in(ids)))
        removed = result.rowcount or 0  # type: ignore[attr-defined]
    columns = [c for c in COUPON_COLUMNS if c != "coupon_id"] + ["updated_at"]
    _upsert(session, table(Coupon), values, ["id"], columns)
    audit.record(session, actor, f"coupons.{mode}", f"store:{store_id}", rows=len(rows), removed=removed)
    return {"rows": len(rows), "removed": removed}


def count(session: Session, table: Any, store_id: str) -> int:
    return int(
        session.execute(select(func.count()).select_from(table).where(table.c.store_id == store_id)).scalar_one()
    )
