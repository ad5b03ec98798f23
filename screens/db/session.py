"""Engine construction and Alembic upgrades, shared by the app, the CLI and the tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Select, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
WAL_LIMIT_BYTES = 64 * 1024 * 1024
"""What SQLite truncates its write-ahead log back to after a checkpoint."""
POSTGRES_OPTIONS = "-c jit=off"
"""Session settings of every PostgreSQL connection. JIT compilation pays off on queries that run for
seconds; the service's reads run for milliseconds, and the planner's cost estimate turned it on for
the proof-of-play ``GROUP BY`` at 10M events, where compiling took 11 of its 104 ms."""


def make_engine(url: str) -> Engine:
    """Build an engine; for SQLite, create the parent folder and turn on WAL and foreign keys; for
    PostgreSQL, apply :data:`POSTGRES_OPTIONS`."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
            cur.close()

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"options": POSTGRES_OPTIONS}
    )


def upgrade(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` on the database at ``url``."""
    if url.startswith("sqlite"):
        make_engine(url).dispose()  # creates ./var when needed
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, revision)


def session_scope(engine: Engine) -> Iterator[Session]:
    """One session per request: commits once at the end, rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC, so mark it so."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def plain_rows(session: Session, statement: Select[Any]) -> list[tuple[Any, ...]]:
    """``statement``'s rows as the driver's own tuples, read from the DBAPI cursor of the session's
    connection (so inside its transaction).

    For reads of many rows: SQLAlchemy's result rows cost ~1–2 µs a row more, 20–40 ms for the
    18,000 pairs of a mall's week. Bound values and results pass unconverted, so it is for
    statements whose parameters and columns the driver maps by itself (numbers, text).
    """
    connection = session.connection()
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
