"""`vitrine catalog import`: load a store's catalog from a file, the retailer's own columns included."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from screens.cli._apps import catalog_app
from screens.settings import Settings


@catalog_app.command("import")
def catalog_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with a header row, or a JSON list")],
    store: Annotated[str, typer.Option(help="the store whose catalog this is")],
    map_file: Annotated[
        Path | None,
        typer.Option("--map", exists=True, dir_okay=False, help="YAML column mapping (docs/api.md); none: our columns"),
    ] = None,
    mode: Annotated[str, typer.Option(help="upsert keeps SKUs not in the file; replace removes them")] = "upsert",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="validate and count the changes; write nothing")] = False,
) -> None:
    """Validate every row exactly as an upload does, then write all or nothing and tell the mirrors."""
    from sqlmodel import Session

    from screens.bus import make_bus
    from screens.db.session import make_engine
    from screens.db.tables import Store
    from screens.errors import InvalidInput
    from screens.schemas.upload_format import CATALOG_COLUMNS
    from screens.services import upload_check, upload_rows, uploads
    from screens.services.mirror import catalog_mapping

    if mode not in ("upsert", "replace"):
        raise typer.BadParameter("use upsert or replace", param_hint="--mode")
    chosen: Literal["upsert", "replace"] = "replace" if mode == "replace" else "upsert"
    body = file.read_bytes()
    content_type = "application/json" if file.suffix.lower() == ".json" else "text/csv"
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        mapping = catalog_mapping.load_mapping(map_file.read_bytes()) if map_file is not None else None
        with Session(engine) as session:
            if session.get(Store, store) is None:
                raise InvalidInput(f"no store {store!r}", errors=[{"field": "--store", "message": "unknown store"}])
            if mapping is not None:
                raw = catalog_mapping.mapped_rows(mapping, body, content_type)
            else:
                raw = list(upload_rows.read_rows(io.BytesIO(body), content_type, CATALOG_COLUMNS))
            try:
                if dry_run:
                    result = {"dry_run": True, **upload_check.check(session, store, raw, uploads.CATALOG, chosen)}
                else:
                    result = uploads.store_catalog(session, store, raw, chosen, f"cli:{file.name}")
                    session.commit()
            except InvalidInput as exc:
                raise catalog_mapping.annotate_errors(mapping, exc) from exc
    except InvalidInput as exc:
        typer.echo(json.dumps({"detail": exc.message, **exc.extra}, indent=2, default=str), err=True)
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    if not dry_run:
        bus = make_bus(settings.redis_url, buffer_max=10, retry_interval_s=settings.bus_retry_interval_s)
        try:
            bus.config.publish("catalog", {"store_id": store})
        finally:
            bus.close()
    typer.echo(json.dumps({"store_id": store, "mode": chosen, **result}, indent=2))
