"""Dry runs of uploads: the same row-level validation as a real upload, and what it would change.

Nothing is written, not even inside a rolled-back transaction: the rows are validated with the same
models and checks as :mod:`screens.services.uploads`, then compared with what is stored.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select
from sqlmodel import Session, col

from screens.db.models import CatalogItem, Coupon
from screens.errors import InvalidInput
from screens.schemas.catalog import CatalogRow
from screens.schemas.coupons import CouponRow
from screens.services.uploads import Mode, validate_rows

_CATALOG_ROWS = TypeAdapter(list[CatalogRow])
_COUPON_ROWS = TypeAdapter(list[CouponRow])


def _changes(keys: list[str], stored: set[str], mode: Mode) -> dict[str, int]:
    incoming = set(keys)
    return {"rows": len(keys), "new": len(incoming - stored), "updated": len(incoming & stored),
            "removed": len(stored - incoming) if mode == "replace" else 0}


def check_catalog(session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode) -> dict[str, int]:
    """Validate a catalog upload: the upload's own 422, or how many rows it would add, update, remove."""
    rows: list[CatalogRow] = validate_rows(_CATALOG_ROWS, raw, "sku")
    query = select(col(CatalogItem.sku)).where(col(CatalogItem.store_id) == store_id)
    stored = set(session.execute(query).scalars())
    return _changes([r.sku for r in rows], stored, mode)


def check_coupons(session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode) -> dict[str, int]:
    """Validate a coupon upload, including coupon ids owned by other stores (as the upload does)."""
    rows: list[CouponRow] = validate_rows(_COUPON_ROWS, raw, "coupon_id")
    ids = [r.coupon_id for r in rows]
    owners = {cid: owner for cid, owner in session.execute(select(col(Coupon.id), col(Coupon.store_id))
                                                            .where(col(Coupon.id).in_(ids)))}
    foreign = [(row, owners[cid]) for row, cid in enumerate(ids, start=1)
               if owners.get(cid, store_id) != store_id]
    if foreign:
        errors = [{"row": row, "field": "coupon_id", "message": f"belongs to store {owner!r}"}
                  for row, owner in foreign]
        raise InvalidInput("coupon ids already used by other stores; nothing was written", errors=errors)
    stored = set(session.execute(select(col(Coupon.id)).where(col(Coupon.store_id) == store_id)).scalars())
    return _changes(ids, stored, mode)
