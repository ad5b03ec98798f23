"""The mirror's category-compatibility table as ops edit it: one JSON row, versioned in the audit log.

Version 0 is :data:`recsys.mirror.catalog.DEFAULT_COMPATIBILITY` (nothing stored yet). Each change
stores the new table with the next version and writes an audit entry with the whole table and its
diff, so every earlier version can be read back from the audit log. Workers hear of a change on the
``mirror`` config channel and reload it off the request path.
"""

from __future__ import annotations

from typing import Any, Final

from sqlmodel import Session

from recsys.mirror.catalog import DEFAULT_COMPATIBILITY, validate_compatibility
from recsys.mirror.compatibility import CompatibilityTable
from screens.auth import Principal
from screens.db.tables import SettingValue, utcnow
from screens.errors import InvalidInput
from screens.services import audit

KEY: Final = "mirror.compatibility"
CHANNEL: Final = "mirror"


def current(session: Session) -> SettingValue:
    row = session.get(SettingValue, KEY)
    if row is None:
        return SettingValue(key=KEY, value=DEFAULT_COMPATIBILITY, version=0, updated_by="defaults", updated_at=None)  # type: ignore[arg-type]  # never stored: "not edited yet"
    return row


def normalised(table: CompatibilityTable) -> CompatibilityTable:
    """Categories are matched lower-case, as catalog uploads store them."""
    return {c.strip().lower(): {o.strip().lower(): float(w) for o, w in row.items()} for c, row in table.items()}


def _diff(before: CompatibilityTable, after: CompatibilityTable) -> dict[str, Any]:
    pairs = {(c, o) for t in (before, after) for c, row in t.items() for o in row}
    return {
        f"{c}.{o}": {"from": before.get(c, {}).get(o), "to": after.get(c, {}).get(o)}
        for c, o in sorted(pairs)
        if before.get(c, {}).get(o) != after.get(c, {}).get(o)
    }


def update(session: Session, table: CompatibilityTable, author: Principal, comment: str | None) -> SettingValue:
    """Replace the table (422 listing every malformed entry); the caller commits and announces."""
    table = normalised(table)
    errors = validate_compatibility(table)
    if errors:
        raise InvalidInput(
            "invalid compatibility table", errors=[{"field": f"table.{where}", "message": why} for where, why in errors]
        )
    before = current(session)
    diff = _diff(before.value, table)
    row = session.get(SettingValue, KEY) or SettingValue(key=KEY, value={}, version=0, updated_by="")
    row.value, row.version, row.updated_by, row.updated_at = table, before.version + 1, author.label, utcnow()
    session.add(row)
    audit.record(
        session,
        author,
        "mirror.compatibility.update",
        f"mirror_compatibility:v{row.version}",
        diff=diff,
        table=table,
        comment=comment,
    )
    session.flush()
    return row
