"""Merchandiser uploads: validate row by row, write in batches, all or nothing.

Rows arrive lazily (:mod:`screens.services.upload_rows`) and are validated in batches of
:data:`BATCH` through a pydantic ``TypeAdapter`` (fast, and it reports every bad row), so memory
holds one batch, the keys seen so far and at most :data:`~screens.services.upload_rows.ERRORS_SHOWN`
errors, whatever the size of the upload (issue 13: a 50 MiB upload took 2.7 GB when it was parsed
whole). Valid batches are written as they pass, inside the request's one transaction; the first
invalid row stops the writing, validation goes on to count every error, and the ``422`` rolls the
transaction back, so nothing is half-written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from screens.auth import Principal
from screens.db.tables import CatalogItem, Coupon, table
from screens.errors import InvalidInput
from screens.schemas.catalog import CatalogRow
from screens.schemas.coupons import CouponRow
from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS
from screens.services import audit
from screens.services.upload_rows import ERRORS_SHOWN

Mode = Literal["upsert", "replace"]
BATCH = 1_000  # one validate_python call holds the GIL: small batches keep other requests answered


@dataclass(frozen=True)
class UploadKind:
    """What differs between a catalog and a coupon upload."""

    name: str
    adapter: TypeAdapter[Any]
    key: str
    model: Any
    key_column: Any
    conflict: list[str]
    update_columns: list[str]
    values: Callable[[Any, str, datetime], dict[str, Any]]


CATALOG = UploadKind(
    "catalog",
    TypeAdapter(list[CatalogRow]),
    "sku",
    CatalogItem,
    CatalogItem.sku,
    ["store_id", "sku"],
    [c for c in CATALOG_COLUMNS if c != "sku"] + ["updated_at"],
    # The validated models hold plain values already; ``__dict__`` skips a serializer pass.
    lambda r, store_id, now: r.__dict__ | {"store_id": store_id, "updated_at": now},
)
COUPONS = UploadKind(
    "coupons",
    TypeAdapter(list[CouponRow]),
    "coupon_id",
    Coupon,
    Coupon.id,
    ["id"],
    [c for c in COUPON_COLUMNS if c != "coupon_id"] + ["updated_at"],
    lambda r, store_id, now: (
        r.model_dump(exclude={"coupon_id"}) | {"id": r.coupon_id, "store_id": store_id, "updated_at": now}
    ),
)


class _Errors:
    """Every error counted, the first :data:`ERRORS_SHOWN` kept (a 1M-column header made a 55 MB 422)."""

    def __init__(self) -> None:
        self.shown: list[dict[str, Any]] = []
        self.total = self.rows = 0
        self._last_row = -1

    def add(self, batch: list[dict[str, Any]]) -> None:
        for error in sorted(batch, key=lambda e: (e["row"], e["field"] or "")):
            self.total += 1
            if error["row"] != self._last_row:
                self.rows, self._last_row = self.rows + 1, error["row"]
            if len(self.shown) < ERRORS_SHOWN:
                self.shown.append(error)

    def raise_any(self) -> None:
        if self.total:
            raise InvalidInput(
                f"{self.rows} invalid row(s); nothing was written", errors=self.shown, error_count=self.total
            )


def _key(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else None


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while batch := list(islice(it, BATCH)):
        yield batch


def _validate(
    session: Session | None,
    store_id: str,
    kind: UploadKind,
    batch: list[dict[str, Any]],
    first: int,
    seen: dict[str, int],
) -> tuple[list[BaseModel], list[dict[str, Any]]]:
    """One batch's models and errors (rows numbered from ``first``); records its keys in ``seen``."""
    errors = [
        {"row": first + i, "field": None, "message": "more values than header columns"}
        for i, raw in enumerate(batch)
        if raw.pop("__extra__", None)
    ]
    models: list[BaseModel] = []
    try:
        models = kind.adapter.validate_python(batch)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = err["loc"]
            field = ".".join(str(p) for p in loc[1:]) or None
            errors.append({"row": first + int(loc[0]), "field": field, "message": err["msg"]})
    for i, raw in enumerate(batch, start=first):
        ident = _key(raw, kind.key)
        if ident is not None and ident in seen:
            errors.append({"row": i, "field": kind.key, "message": f"duplicate of row {seen[ident]}"})
        elif ident is not None:
            seen[ident] = i
    if kind is COUPONS and models:
        assert session is not None, "coupon ids are checked against the database"
        errors += _foreign_coupons(session, store_id, [m.coupon_id for m in models if isinstance(m, CouponRow)], first)
    return models, errors


def _foreign_coupons(session: Session, store_id: str, ids: list[str], first: int) -> list[dict[str, Any]]:
    """Coupon ids are global: one owned by another store may not be taken over."""
    query = select(col(Coupon.id), col(Coupon.store_id)).where(
        col(Coupon.id).in_(ids), col(Coupon.store_id) != store_id
    )
    index = {cid: i for i, cid in enumerate(ids, start=first)}
    return [
        {"row": index[cid], "field": "coupon_id", "message": f"belongs to store {owner!r}"}
        for cid, owner in session.execute(query).all()
    ]


def scan(
    session: Session, store_id: str, rows: Iterable[dict[str, Any]], kind: UploadKind, write: bool
) -> dict[str, int]:
    """Validate every row (and upsert the valid batches when ``write``); the keys seen → their row.

    Raises one ``InvalidInput`` for the whole upload when any row is invalid."""
    errors, seen = _Errors(), dict[str, int]()
    now, first = datetime.now(UTC), 1
    for batch in _batches(rows):
        models, batch_errors = _validate(session, store_id, kind, batch, first, seen)
        errors.add(batch_errors)
        if write and not errors.total:
            _upsert(session, kind, [kind.values(m, store_id, now) for m in models])
        first += len(batch)
    if first == 1:
        errors.add([{"row": 0, "field": None, "message": "the upload holds no rows"}])
    errors.raise_any()
    return seen


def validate_catalog(rows: Iterable[dict[str, Any]]) -> list[CatalogRow]:
    """Every catalog row as its model, or the upload's ``422`` (catalog checks need no database)."""
    errors, seen, valid, first = _Errors(), dict[str, int](), list[CatalogRow](), 1
    for batch in _batches(rows):
        models, batch_errors = _validate(None, "", CATALOG, batch, first, seen)
        errors.add(batch_errors)
        valid += [m for m in models if isinstance(m, CatalogRow)]
        first += len(batch)
    errors.raise_any()
    return valid


def _upsert(session: Session, kind: UploadKind, values: list[dict[str, Any]]) -> None:
    """Insert-or-update as one executemany: a statement compiled once, not one per row."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table(kind.model))
    stmt = stmt.on_conflict_do_update(
        index_elements=kind.conflict, set_={c: getattr(stmt.excluded, c) for c in kind.update_columns}
    )
    session.execute(stmt, values)


def stored_keys(session: Session, store_id: str, kind: UploadKind) -> set[str]:
    query = select(col(kind.key_column)).where(col(kind.model.store_id) == store_id)
    return set(session.execute(query).scalars())


def store(
    session: Session,
    store_id: str,
    rows: Iterable[dict[str, Any]],
    kind: UploadKind,
    mode: Mode,
    actor: Principal | str,
) -> dict[str, int]:
    """Validate and write an upload; ``replace`` also removes the store's rows not in it."""
    seen = scan(session, store_id, rows, kind, write=True)
    removed = 0
    if mode == "replace":
        stale = sorted(stored_keys(session, store_id, kind) - seen.keys())
        for start in range(0, len(stale), BATCH):
            chunk = stale[start : start + BATCH]
            session.execute(
                delete(kind.model).where(col(kind.model.store_id) == store_id, col(kind.key_column).in_(chunk))
            )
        removed = len(stale)
    audit.record(session, actor, f"{kind.name}.{mode}", f"store:{store_id}", rows=len(seen), removed=removed)
    return {"rows": len(seen), "removed": removed}


def store_catalog(
    session: Session, store_id: str, rows: Iterable[dict[str, Any]], mode: Mode, actor: Principal | str
) -> dict[str, int]:
    return store(session, store_id, rows, CATALOG, mode, actor)


def store_coupons(
    session: Session, store_id: str, rows: Iterable[dict[str, Any]], mode: Mode, actor: Principal | str
) -> dict[str, int]:
    return store(session, store_id, rows, COUPONS, mode, actor)


def count(session: Session, table: Any, store_id: str) -> int:
    return int(
        session.execute(select(func.count()).select_from(table).where(table.c.store_id == store_id)).scalar_one()
    )
