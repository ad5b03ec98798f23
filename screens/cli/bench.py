"""`vitrine bench …`: benchmarks over real HTTP on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer

from screens.cli._apps import bench_app


@bench_app.command("upload")
def bench_upload(
    rows: Annotated[int, typer.Option(help="catalog rows")] = 100_000,
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
) -> None:
    """Time a catalog CSV upload through the API (SQLite)."""
    _print_bench(lambda: __import__("screens.tools.http_bench", fromlist=["x"]).bench_upload(rows, repeats, redis_url))


@bench_app.command("events")
def bench_events(
    total: Annotated[int, typer.Option(help="events to send")] = 50_000,
    batch: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
) -> None:
    """Events per second through POST /v1/events."""
    _print_bench(lambda: __import__("screens.tools.http_bench", fromlist=["x"]).bench_events(total, batch, redis_url))


@bench_app.command("coupons")
def bench_coupons(
    coupons: Annotated[int, typer.Option(help="active coupons")] = 2000,
    stores: Annotated[int, typer.Option(help="stores")] = 300,
    duration: Annotated[float, typer.Option(min=1.0, help="seconds of load per run")] = 15.0,
    connections: Annotated[int, typer.Option(min=1, help="wrk connections")] = 4,
    workers: Annotated[int, typer.Option(min=1, help="service workers")] = 2,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="after each run, load a bare FastAPI app with the same body")
    ] = False,
    rounds: Annotated[int, typer.Option(min=1, help="alternated rounds (medians are reported)")] = 3,
    crowds: Annotated[str, typer.Option(help="steady, changing or both, comma-separated")] = "steady,changing",
) -> None:
    """Requests per second, median and p99 of GET /v1/screens/{id}/coupons under wrk, per crowd."""
    chosen = tuple(c.strip() for c in crowds.split(",") if c.strip())
    if not chosen or set(chosen) - {"steady", "changing"}:
        raise typer.BadParameter(f"{crowds!r}: expected steady, changing or steady,changing", param_hint="--crowds")
    if workers > 1 and redis_url is None:
        raise typer.BadParameter(
            "more than one worker shares live state through Redis: pass --redis-url", param_hint="--workers"
        )
    if shutil.which("wrk") is None:
        raise typer.BadParameter("wrk is not installed (`make wrk` installs Debian's package)", param_hint="load")
    from screens.tools.coupon_bench import bench_coupons as run

    _print_bench(lambda: run(coupons, stores, duration, connections, workers, redis_url, baseline, rounds, chosen))


@bench_app.command("ingest")
def bench_ingest(
    events: Annotated[int, typer.Option(min=1_000, help="events per run (batches of 1,000)")] = 20_000,
    repeats: Annotated[int, typer.Option(min=1, help="runs, each on a fresh database")] = 3,
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL server URL (a scratch database is made there); default SQLite")
    ] = None,
    minutes: Annotated[float, typer.Option(min=1.0, help="minutes of mall traffic the events span")] = 60.0,
    http: Annotated[
        bool, typer.Option("--http", help="POST to a fresh `vitrine serve` on SQLite instead (events/s end to end)")
    ] = False,
) -> None:
    """Microseconds per event inside the intake function (validation, log, rollups), in process."""
    import sys

    _print_bench(
        lambda: __import__("screens.tools.ingest_bench", fromlist=["x"]).bench_ingest(
            events, repeats, postgres, minutes, sys.stderr.write, http
        )
    )


@bench_app.command("analytics")
def bench_analytics(
    sizes: Annotated[str, typer.Option(help="log sizes to time at, comma-separated (ascending)")] = "100000,1000000",
    postgres: Annotated[
        str | None, typer.Option(help="PostgreSQL server URL (a scratch database is made there); default SQLite")
    ] = None,
    repeats: Annotated[int, typer.Option(min=5, help="calls per endpoint and size")] = 20,
    bulk: Annotated[
        bool, typer.Option("--bulk", help="bulk-write the log in time order, then rebuild the rollups (1M, 10M)")
    ] = False,
    keep: Annotated[
        bool, typer.Option("--keep", help="keep the filled database (its URL is printed) for --kept runs")
    ] = False,
    kept: Annotated[
        str | None,
        typer.Option(help="time a database an earlier --keep run filled, without filling (its URL); ignores --sizes"),
    ] = None,
) -> None:
    """Median and p95 of every analytics endpoint the console calls, as the event log grows."""
    import sys

    try:
        counts = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"{sizes!r}: give whole numbers, e.g. 100000,1000000", param_hint="--sizes") from exc
    if not counts or min(counts) < 1_000:
        raise typer.BadParameter("each size must be at least 1000 events", param_hint="--sizes")
    if kept is not None and (keep or postgres):
        raise typer.BadParameter("--kept times an existing database: drop --keep and --postgres", param_hint="--kept")
    if kept is not None and not kept.startswith(("sqlite:///", "postgresql")):
        raise typer.BadParameter(f"{kept!r}: give the URL a --keep run printed", param_hint="--kept")
    if kept is not None and kept.startswith("sqlite:///") and not Path(kept.removeprefix("sqlite:///")).is_file():
        raise typer.BadParameter(f"{kept!r}: no such SQLite file", param_hint="--kept")
    bench = __import__("screens.tools.analytics_bench", fromlist=["x"])
    if kept is not None:
        _print_bench(lambda: bench.time_kept(kept, repeats))
    else:
        _print_bench(lambda: bench.bench_analytics(counts, postgres, repeats, bulk, sys.stderr.write, keep))


@bench_app.command("memory")
def bench_memory(
    upload_mib: Annotated[float, typer.Option(help="size of the dry-run catalog upload, MiB")] = 50.0,
    bomb_side: Annotated[int, typer.Option(help="side of the decompression-bomb PNG, pixels")] = 20_000,
    bombs: Annotated[int, typer.Option(min=1, help="bomb frames posted at once")] = 3,
) -> None:
    """Peak RSS a worker adds for bomb frames and for a big upload (issue 13)."""
    _print_bench(
        lambda: __import__("screens.tools.memory_bench", fromlist=["x"]).bench_memory(upload_mib, bomb_side, bombs)
    )


def _print_bench(run: object) -> None:
    import json
    import logging

    from screens.tools.http_bench import machine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run()  # type: ignore[operator]
    typer.echo(json.dumps({"machine": machine(), "result": result}, indent=2))
