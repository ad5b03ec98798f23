"""`vitrine db upgrade`, `vitrine serve`, `vitrine token create`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from screens.cli._apps import app, db_app, token_app
from screens.settings import Settings


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Create or migrate the schema of VITRINE_DATABASE_URL (default: SQLite under ./var)."""
    from screens.db.session import upgrade

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {revision}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes (more than 1 needs Redis)")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn's own log level")] = "warning",
) -> None:
    """Serve the HTTP API (run `vitrine db upgrade` first)."""
    import uvicorn

    settings = Settings()
    if workers > 1 and not settings.redis_url:
        typer.echo("--workers > 1 needs VITRINE_REDIS_URL: without Redis, live state is per process.", err=True)
        raise typer.Exit(2)
    typer.echo(_vision_models_line(settings), err=True)
    uvicorn.run(
        "screens.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )  # open screen live feeds must not hold a restart


def _vision_models_line(settings: Settings) -> str:
    """Which models posted frames are analysed with, or the one command that installs them."""
    if settings.vision_config is not None:
        return f"vision models: as configured in {settings.vision_config}"
    from vision.model_set import status_line

    return status_line(settings.model_dir)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin | ops | merchandiser | device")],
    store: Annotated[list[str] | None, typer.Option(help="store id (merchandiser; repeatable)")] = None,
    screen: Annotated[str | None, typer.Option(help="screen id (device)")] = None,
    label: Annotated[str | None, typer.Option(help="a note on who holds it")] = None,
) -> None:
    """Create a token and print it once on stdout (only its hash is stored)."""
    from sqlmodel import Session

    from screens.auth import create_token
    from screens.db.session import make_engine

    engine = make_engine(Settings().database_url)
    try:
        with Session(engine) as session:
            token = create_token(session, role, store_ids=store, screen_id=screen, label=label)  # type: ignore[arg-type]
            session.commit()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")
