"""The ``vitrine`` command line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from screens.settings import Settings

app = typer.Typer(help="Vitrine: anonymous, crowd-aware recommendations for mall screens.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")


def _mount_vision() -> None:
    from vision.cli import app as vision_app

    app.add_typer(vision_app, name="vision", help="Camera frames → anonymous attribute events.")


_mount_vision()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Create or migrate the schema of VITRINE_DATABASE_URL (default: SQLite under ./var)."""
    from screens.db.session import upgrade

    settings = Settings()
    upgrade(settings.database_url, revision)
    typer.echo(f"database at revision {revision}", err=True)


@app.command()
def serve(host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port")] = 8000,
          workers: Annotated[int, typer.Option(min=1, help="worker processes (more than 1 needs Redis)")] = 1,
          log_level: Annotated[str, typer.Option(help="uvicorn's own log level")] = "warning") -> None:
    """Serve the HTTP API (run `vitrine db upgrade` first)."""
    import uvicorn

    settings = Settings()
    if workers > 1 and not settings.redis_url:
        typer.echo("--workers > 1 needs VITRINE_REDIS_URL: without Redis, live state is per process.", err=True)
        raise typer.Exit(2)
    uvicorn.run("screens.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=False)


@token_app.command("create")
def token_create(role: Annotated[str, typer.Option(help="admin | ops | merchandiser | device")],
                 store: Annotated[list[str] | None, typer.Option(help="store id (merchandiser; repeatable)")] = None,
                 screen: Annotated[str | None, typer.Option(help="screen id (device)")] = None,
                 label: Annotated[str | None, typer.Option(help="a note on who holds it")] = None) -> None:
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


bench_app = typer.Typer(help="Benchmarks over real HTTP on loopback (see docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("upload")
def bench_upload(rows: Annotated[int, typer.Option(help="catalog rows")] = 100_000,
                 repeats: Annotated[int, typer.Option(min=1)] = 3,
                 redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None) -> None:
    """Time a catalog CSV upload through the API (SQLite)."""
    _print_bench(lambda: __import__("screens.bench", fromlist=["x"]).bench_upload(rows, repeats, redis_url))


@bench_app.command("events")
def bench_events(total: Annotated[int, typer.Option(help="events to send")] = 50_000,
                 batch: Annotated[int, typer.Option(min=1, max=1000)] = 500,
                 redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None) -> None:
    """Events per second through POST /v1/events."""
    _print_bench(lambda: __import__("screens.bench", fromlist=["x"]).bench_events(total, batch, redis_url))


def _print_bench(run: "object") -> None:
    import json
    import logging

    from screens.bench import machine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run()  # type: ignore[operator]
    typer.echo(json.dumps({"machine": machine(), "result": result}, indent=2))


@app.command()
def demo(port: Annotated[int, typer.Option(help="TCP port")] = 8000,
         preset: Annotated[str, typer.Option(help="small (6 stores) or full (60 stores, 21,000 SKUs)")] = "small",
         reload_data: Annotated[bool, typer.Option("--reload-data", help="load the mall again")] = False) -> None:
    """Migrate, load the demo mall from seeds/ (first run only) and serve it on SQLite, no Redis."""
    import logging
    from pathlib import Path

    from screens.db.session import upgrade
    from screens.demo import load_demo_mall

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    upgrade(settings.database_url)
    tokens = Path("var/demo/tokens.json")
    if reload_data or not tokens.exists():
        load_demo_mall(settings.database_url, preset, tokens)
    base = f"http://127.0.0.1:{port}"
    typer.echo(f"\nVitrine demo on {base}\n  API docs:  {base}/docs\n  tokens:    {tokens}\n", err=True)
    serve(host="127.0.0.1", port=port, workers=1, log_level="warning")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
