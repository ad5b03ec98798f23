"""Audit trail of every write by a person or a tool (never by devices' event traffic)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from screens.auth import Principal
from screens.db.tables import AuditLog


def record(session: Session, actor: Principal | str, action: str, target: str, **detail: Any) -> None:
    label = actor.label if isinstance(actor, Principal) else actor
    session.add(AuditLog(actor=label, action=action, target=target, detail=detail))
