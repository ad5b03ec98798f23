"""Versioned ranking weights: every change is a new immutable version, rollbacks included.

Each worker keeps the version in force in memory (``WeightsCache``) so ranking never reads the
database; a change is announced on the ``weights`` config channel and every worker reloads, which
is how a change reaches all workers within a second.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from recsys.weights import default_weights, validate_weights
from screens.auth import Principal
from screens.bus import ConfigChannel
from screens.db.tables import RankingWeights
from screens.errors import InvalidInput, NotFound
from screens.services import audit

log = logging.getLogger(__name__)
CHANNEL = "weights"


def current(session: Session) -> RankingWeights:
    """The version in force; version 0 is the built-in defaults before any change."""
    row = session.exec(select(RankingWeights).order_by(col(RankingWeights.version).desc())).first()
    if row is None:
        # model_construct: version 0 was never saved, so it has no creation time.
        return RankingWeights.model_construct(
            version=0,
            weights=default_weights(),
            diff={},
            author="defaults",
            comment=None,
            created_at=None,  # type: ignore[arg-type]
        )
    merged = default_weights() | row.weights  # weights added by later releases get their default
    return RankingWeights.model_validate(row.model_dump() | {"weights": merged})


def _save(
    session: Session, weights: dict[str, float], author: Principal, comment: str | None, action: str
) -> RankingWeights:
    before = current(session)
    diff = {k: {"from": before.weights.get(k), "to": v} for k, v in weights.items() if before.weights.get(k) != v}
    row = RankingWeights(version=before.version + 1, weights=weights, diff=diff, author=author.label, comment=comment)
    session.add(row)
    audit.record(session, author, action, f"weights:v{row.version}", diff=diff)
    session.flush()
    return row


def update(session: Session, changes: dict[str, float], author: Principal, comment: str | None) -> RankingWeights:
    errors = validate_weights(changes)
    if errors:
        raise InvalidInput("invalid ranking weights", errors=[{"field": f, "message": m} for f, m in errors])
    return _save(session, current(session).weights | changes, author, comment, "weights.update")


def rollback(session: Session, version: int, author: Principal) -> RankingWeights:
    target = session.get(RankingWeights, version)
    if target is None and version != 0:
        raise NotFound(f"no ranking-weights version {version}")
    values = default_weights() | (target.weights if target else {})
    return _save(session, values, author, f"rollback to version {version}", "weights.rollback")


def history(session: Session, limit: int, offset: int) -> list[RankingWeights]:
    query = select(RankingWeights).order_by(col(RankingWeights.version).desc()).offset(offset).limit(limit)
    return list(session.exec(query))


class WeightsCache:
    """The weights in force in this worker, reloaded whenever any worker announces a change."""

    def __init__(self, engine: Engine, config: ConfigChannel) -> None:
        self._engine = engine
        self._config = config
        self._lock = threading.Lock()
        self.version = -1
        self.weights: dict[str, float] = default_weights()
        self.reload()
        config.subscribe(CHANNEL, self._on_message)

    def reload(self) -> None:
        with Session(self._engine) as session:
            row = current(session)
        with self._lock:
            self.version, self.weights = row.version, dict(row.weights)
        log.info("ranking weights version %d in force", row.version)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("reconnected") or message.get("version", -1) != self.version:
            self.reload()

    def announce(self, version: int) -> None:
        """Tell every worker (this one included) that ``version`` is now in force."""
        self._config.publish(CHANNEL, {"version": version})
        if self.version != version:
            self.reload()

    def snapshot(self) -> tuple[int, dict[str, float]]:
        with self._lock:
            return self.version, dict(self.weights)
