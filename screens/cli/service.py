"""`vitrine db upgrade`, `vitrine serve`, `vitrine token create | list | revoke`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
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


_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_ttl(text: str) -> int:
    """``90d``, ``12h``, ``30m``, ``45s`` or plain seconds → seconds."""
    unit = text[-1:].lower()
    number = text[:-1] if unit in _TTL_UNITS else text
    if not number.isdigit() or int(number) <= 0:
        raise typer.BadParameter(f"{text!r}: give a positive number with s, m, h or d, e.g. 90d")
    return int(number) * _TTL_UNITS.get(unit, 1)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin | ops | merchandiser | device")],
    store: Annotated[list[str] | None, typer.Option(help="store id (merchandiser; repeatable)")] = None,
    screen: Annotated[str | None, typer.Option(help="screen id (device)")] = None,
    label: Annotated[str | None, typer.Option(help="a note on who holds it")] = None,
    ttl: Annotated[str | None, typer.Option(help="expire after this long: 90d, 12h, 30m, 45s (default: never)")] = None,
) -> None:
    """Create a token and print it once on stdout (only its hash is stored)."""
    from sqlmodel import Session

    from screens.auth import create_token
    from screens.db.session import make_engine

    ttl_s = parse_ttl(ttl) if ttl else None
    engine = make_engine(Settings().database_url)
    try:
        with Session(engine) as session:
            token = create_token(
                session,
                role,  # type: ignore[arg-type]
                store_ids=store,
                screen_id=screen,
                label=label,
                ttl_s=ttl_s,
            )
            session.commit()
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False) -> None:
    """Every token: id, role, scope, created, expires, last used, revoked (never the secret)."""
    import json

    from sqlmodel import Session

    from screens.auth import list_tokens
    from screens.db.session import make_engine
    from screens.schemas.tokens import TokenPublic

    with Session(make_engine(Settings().database_url)) as session:
        rows = [TokenPublic.model_validate(r.model_dump(exclude={"token_hash"})) for r in list_tokens(session)]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row.model_dump(mode="json")) + "\n")
        return
    sys.stdout.write(f"{'id':>4}  {'role':<12} {'scope':<20} {'created':<17} {'expires':<17} {'last used':<17} state\n")
    for r in rows:
        scope = r.screen_id or ",".join(r.store_ids) or "-"
        state = "revoked" if r.revoked else "expired" if r.expires_at and r.expires_at <= _now() else "active"
        sys.stdout.write(
            f"{r.id:>4}  {r.role:<12} {scope[:20]:<20} {_day(r.created_at):<17} {_day(r.expires_at):<17} "
            f"{_day(r.last_used_at):<17} {state}\n"
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="the id shown by `vitrine token list`")]) -> None:
    """Revoke a token; with VITRINE_REDIS_URL every worker refuses it within a second (else within 1 s by TTL)."""
    from sqlmodel import Session

    from screens.auth import revoke_token
    from screens.bus import make_bus
    from screens.db.session import make_engine
    from screens.runtime import TOKENS_CHANNEL

    settings = Settings()
    with Session(make_engine(settings.database_url)) as session:
        row = revoke_token(session, token_id)
        if row is None:
            typer.echo(f"error: no token {token_id}", err=True)
            raise typer.Exit(1)
        session.commit()
    if settings.redis_url:
        bus = make_bus(settings.redis_url)
        try:
            bus.config.publish(TOKENS_CHANNEL, {"revoked": token_id})
        finally:
            bus.close()
    typer.echo(f"token {token_id} revoked", err=True)
