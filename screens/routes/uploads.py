"""Merchandiser uploads of catalogs and coupons, and reading them back."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, col, select
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from screens.auth import Principal
from screens.db.tables import CatalogItem, Coupon, table
from screens.deps import MerchandiserStoreDep, PrincipalDep, RuntimeDep, SessionDep, StoreDep
from screens.errors import InvalidInput, PayloadTooLarge, error_responses
from screens.runtime import Runtime
from screens.schemas.base import MAX_INT
from screens.schemas.catalog import CatalogItemPublic
from screens.schemas.coupons import CouponPublic
from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS
from screens.services import upload_check, upload_rows, uploads
from screens.services.mirror import catalog_mapping

router = APIRouter(prefix="/v1/stores", tags=["merchandising"])
ModeQuery = Annotated[
    Literal["upsert", "replace"], Query(description="upsert keeps rows not in the upload; replace removes them")
]
DryRunQuery = Annotated[bool, Query(description="validate and report what would change; write nothing")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=MAX_INT)]
SPOOL_IN_MEMORY = 1024 * 1024
UPLOAD_ERRORS = error_responses(401, 403, 404, 413, 415, 422)
_CATALOG_EXAMPLE = {
    "sku": "A1",
    "name": "Linen shirt, white",
    "category": "tops",
    "subcategory": "shirts",
    "gender_target": "women",
    "colors": ["white", "blue"],
    "style_tags": ["casual", "minimal"],
    "price": 59.9,
    "sale_price": 39.9,
    "stock": 12,
    "image_url": "https://img.example/a1.jpg",
    "complements": ["B1", "bottoms"],
}
_COUPON_EXAMPLE = {
    "coupon_id": "c1",
    "title": "20% off shirts",
    "kind": "percent",
    "value": 20,
    "min_spend": 0,
    "valid_from": "2026-11-01T00:00:00Z",
    "valid_to": "2026-12-31T23:59:59Z",
    "daily_cap": 50,
    "total_stock": 500,
    "active": True,
}


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(value)
    if isinstance(value, bool):
        return str(value).lower()
    text = "" if value is None else str(value)
    return f'"{text}"' if "," in text else text


def _body_doc(columns: tuple[str, ...], example: dict[str, Any]) -> dict[str, Any]:
    """OpenAPI for an upload body: the CSV template with one row, or the same row as JSON."""
    csv_example = ",".join(columns) + "\n" + ",".join(_csv_cell(example.get(c)) for c in columns) + "\n"
    content = {
        "text/csv": {"schema": {"type": "string"}, "example": csv_example},
        "application/json": {"schema": {"type": "array", "items": {"type": "object"}}, "example": [example]},
    }
    return {"requestBody": {"required": True, "content": content}}


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused past ``limit`` bytes (for small bodies: frames)."""
    _refuse_declared(request, limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse_declared(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")


async def spool_body(request: Request, limit: int) -> IO[bytes]:
    """The body in a temporary file (in memory up to 1 MiB, then on disk), refused past ``limit``.

    Uploads are read row by row from this file, so a 50 MiB body never exists as one object."""
    _refuse_declared(request, limit)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (caller closes)
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


@dataclass(frozen=True)
class _Route:
    kind: uploads.UploadKind
    columns: tuple[str, ...]
    announce: Callable[[Runtime, str], None]


_CATALOG = _Route(uploads.CATALOG, CATALOG_COLUMNS, Runtime.catalog_changed)
_COUPONS = _Route(uploads.COUPONS, COUPON_COLUMNS, Runtime.coupons_changed)


async def _upload(
    route: _Route,
    store_id: str,
    request: Request,
    session: Session,
    runtime: Runtime,
    who: Principal,
    mode: uploads.Mode,
    dry_run: bool,
) -> dict[str, Any]:
    """Shared by both upload routes: parsing, validation and the write run off the event loop."""
    content_type = request.headers.get("content-type")
    mapped = route is _CATALOG and (content_type or "").lower().startswith("multipart/form-data")
    if not mapped:
        upload_rows.media_type(content_type)  # 415 before reading the body
    body = await spool_body(request, runtime.settings.upload_max_bytes)
    mapping: catalog_mapping.CatalogMapping | None = None
    if mapped:  # a mapped import is read whole (its mapping rules need the retailer's columns at once)
        with body:
            mapping, file_bytes, file_type = await _mapped_parts(request, body.read())

    def work() -> dict[str, Any]:
        try:
            rows: Iterable[dict[str, Any]] = (
                catalog_mapping.mapped_rows(mapping, file_bytes, file_type)
                if mapping is not None
                else upload_rows.read_rows(body, content_type, route.columns)
            )
        except BaseException:
            body.close()
            raise
        try:
            if dry_run:
                return {"dry_run": True, **upload_check.check(session, store_id, rows, route.kind, mode)}
            result = uploads.store(session, store_id, rows, route.kind, mode, who)
        except InvalidInput as exc:
            raise catalog_mapping.annotate_errors(mapping, exc) from exc
        finally:
            body.close()
        session.commit()
        route.announce(runtime, store_id)
        return result

    return {"store_id": store_id, "mode": mode, **await run_in_threadpool(work)}


async def _mapped_parts(request: Request, body: bytes) -> tuple[catalog_mapping.CatalogMapping, bytes, str | None]:
    """A mapped upload's two parts: ``mapping`` (YAML) and ``file`` (the retailer's CSV or JSON)."""

    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(request.headers, once(), max_files=2, max_fields=2).parse()
    except MultiPartException as exc:
        raise InvalidInput("unreadable multipart body", errors=[{"field": None, "message": exc.message}]) from exc
    missing = [{"field": name, "message": "part is missing"} for name in ("file", "mapping") if name not in form]
    if missing:
        raise InvalidInput("a mapped upload needs a file part and a mapping part", errors=missing)
    mapping_text = await _part_bytes(form["mapping"])
    file_part = form["file"]
    file_type = file_part.content_type if isinstance(file_part, UploadFile) else None
    return catalog_mapping.load_mapping(mapping_text), await _part_bytes(file_part), file_type


async def _part_bytes(part: UploadFile | str) -> bytes:
    return await part.read() if isinstance(part, UploadFile) else part.encode()


@router.put("/{store_id}/catalog", responses=UPLOAD_ERRORS, openapi_extra=_body_doc(CATALOG_COLUMNS, _CATALOG_EXAMPLE))
async def put_catalog(
    store: MerchandiserStoreDep,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: PrincipalDep,
    mode: ModeQuery = "upsert",
    dry_run: DryRunQuery = False,
) -> dict[str, Any]:
    """Upload a catalog as CSV (columns as in the template, lists `|`-separated) or a JSON list.

    Or upload the retailer's own export with a column mapping: `multipart/form-data` with a `file`
    part (CSV with a header row, or a JSON list) and a `mapping` part (YAML, see `docs/api.md`);
    the mapped rows are validated exactly like a plain upload, and errors also name their `source`.

    Every row is validated; any invalid row rejects the whole upload with `422`,
    `errors: [{row, field, message}]` (rows counted from 1, header excluded; the first 100) and
    `error_count` (all of them), and nothing is written. A plain upload is read row by row in
    bounded memory. Text is stored in Unicode NFC; NUL and control characters, duplicate columns and
    duplicate keys are refused.
    With `dry_run=true` the same validation runs and the answer counts the rows that would be
    `new`, `updated` and `removed`; nothing is written.
    """
    return await _upload(_CATALOG, store.id, request, session, runtime, who, mode, dry_run)


@router.put("/{store_id}/coupons", responses=UPLOAD_ERRORS, openapi_extra=_body_doc(COUPON_COLUMNS, _COUPON_EXAMPLE))
async def put_coupons(
    store: MerchandiserStoreDep,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    who: PrincipalDep,
    mode: ModeQuery = "upsert",
    dry_run: DryRunQuery = False,
) -> dict[str, Any]:
    """Upload coupons as CSV or a JSON list; all rows valid or nothing written (see catalog, dry_run too)."""
    return await _upload(_COUPONS, store.id, request, session, runtime, who, mode, dry_run)


@router.get("/{store_id}/catalog", responses=error_responses(401, 403, 404))
def get_catalog(store: StoreDep, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The stored catalog, ordered by SKU, a page at a time."""
    store_id = store.id
    rows = session.exec(
        select(CatalogItem)
        .where(CatalogItem.store_id == store_id)
        .order_by(col(CatalogItem.sku))
        .offset(offset)
        .limit(limit)
    )
    items = [CatalogItemPublic.model_validate(r.model_dump()) for r in rows]
    total = uploads.count(session, table(CatalogItem), store_id)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{store_id}/coupons", responses=error_responses(401, 403, 404))
def get_coupons(store: StoreDep, session: SessionDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The stored coupons, ordered by id, a page at a time."""
    store_id = store.id
    rows = session.exec(
        select(Coupon).where(Coupon.store_id == store_id).order_by(col(Coupon.id)).offset(offset).limit(limit)
    )
    items = [CouponPublic.model_validate(r.model_dump() | {"coupon_id": r.id}) for r in rows]
    total = uploads.count(session, table(Coupon), store_id)
    return {"items": items, "total": total, "limit": limit, "offset": offset}
