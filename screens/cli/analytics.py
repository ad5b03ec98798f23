"""`vitrine analytics …`: rebuild the rollups from the raw log, retire old raw events."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from screens.cli._apps import analytics_app


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or an ISO time", param_hint="--since") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@analytics_app.command("rebuild")
def rebuild(
    since: Annotated[
        str | None, typer.Option(help="first day (YYYY-MM-DD, UTC) to recompute; default: the whole log")
    ] = None,
    progress: Annotated[bool, typer.Option(help="progress bar on stderr")] = True,
) -> None:
    """Recompute the rollups from the raw event log (after a migration, a bug or a settings change).

    Store audiences are recomputed only when --since is at or before the oldest raw event (they
    are decayed sums over all time). Ingest may keep running meanwhile.
    """
    from sqlmodel import Session

    from screens.db.session import make_engine
    from screens.services.rebuild import events_to_rebuild
    from screens.services.rebuild import rebuild as run
    from screens.services.rollups import RollupConfig
    from screens.settings import Settings

    settings = Settings()
    start = _since(since)
    config = RollupConfig(settings.crowd_window_s, settings.audience_half_life_days * 86_400.0)
    engine = make_engine(settings.database_url)
    started = datetime.now(UTC)
    with Session(engine) as session:
        total = events_to_rebuild(session, start, started)
        with typer.progressbar(length=total, label="rolling up", file=sys.stderr if progress else io.StringIO()) as bar:
            result = run(session, config, start, bar.update, started=started)
    engine.dispose()
    audiences = (
        "store audiences rebuilt"
        if result.audiences_rebuilt
        else "store audiences kept (--since is after the oldest raw event)"
    )
    typer.echo(f"{result.events} events rolled up from {result.since or 'the start of the log'}; {audiences}")


@analytics_app.command("retire")
def retire(
    days: Annotated[
        int | None, typer.Option(min=1, help="retention in days; default: VITRINE_EVENT_RETENTION_DAYS")
    ] = None,
) -> None:
    """Drop raw events older than the retention now (the service also does it hourly); rollups stay."""
    from screens.db.session import make_engine
    from screens.services.retention import checkpoint_wal, retire_raw_events
    from screens.settings import Settings

    settings = Settings()
    engine = make_engine(settings.database_url)
    result = retire_raw_events(engine, days or settings.event_retention_days)
    checkpoint_wal(engine)
    engine.dispose()
    if result.dropped_partitions or result.created_partitions:
        typer.echo(
            f"dropped {len(result.dropped_partitions)} day partitions before {result.cutoff.date()}, "
            f"created {len(result.created_partitions)}"
        )
    else:
        typer.echo(f"deleted {result.deleted_rows} raw events before {result.cutoff.isoformat()}")
