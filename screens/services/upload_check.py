"""Dry runs of uploads: the same row-level validation as a real upload, and what it would change.

Nothing is written, not even inside a rolled-back transaction: the rows are validated with the same
models and checks as :mod:`screens.services.uploads`, then compared with what is stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from screens.db.tables import CatalogItem, Coupon
from screens.services.uploads import Mode, validate_catalog, validate_coupons


def _changes(keys: list[str], stored: set[str], mode: Mode) -> dict[str, int]:
    incoming = set(keys)
    return {
        "rows": len(keys),
        "new": len(incoming - stored),
        "updated": len(incoming & stored),
        "removed": len(stored - incoming) if mode == "replace" else 0,
    }


def check_catalog(session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode) -> dict[str, int]:
    """Validate a catalog upload: the upload's own 422, or how many rows it would add, update, remove."""
    rows = validate_catalog(raw)
    query = select(col(CatalogItem.sku)).where(col(CatalogItem.store_id) == store_id)
    stored = set(session.execute(query).scalars())
    return _changes([r.sku for r in rows], stored, mode)


def check_coupons(session: Session, store_id: str, raw: list[dict[str, Any]], mode: Mode) -> dict[str, int]:
    """Validate a coupon upload, including coupon ids owned by other stores (as the upload does)."""
    ids = [r.coupon_id for r in validate_coupons(session, store_id, raw)]
    stored = set(session.execute(select(col(Coupon.id)).where(col(Coupon.store_id) == store_id)).scalars())
    return _changes(ids, stored, mode)
