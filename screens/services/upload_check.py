"""Dry runs of uploads: the same row-level validation as a real upload, and what it would change.

Nothing is written, not even inside a rolled-back transaction: the rows pass through the same
:func:`screens.services.uploads.scan` as a real upload, then their keys are compared with what is
stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session

from screens.services.uploads import Mode, UploadKind, scan, stored_keys


def check(
    session: Session, store_id: str, rows: Iterable[dict[str, Any]], kind: UploadKind, mode: Mode
) -> dict[str, int]:
    """The upload's own 422, or how many rows it would add, update and remove."""
    incoming = scan(session, store_id, rows, kind, write=False).keys()
    stored = stored_keys(session, store_id, kind)
    return {
        "rows": len(incoming),
        "new": len(incoming - stored),
        "updated": len(incoming & stored),
        "removed": len(stored - incoming) if mode == "replace" else 0,
    }
