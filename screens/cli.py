"""The ``vitrine`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from screens.settings import Settings

app = typer.Typer(
    help="Vitrine: anonymous, crowd-aware recommendations for mall screens.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
train_app = typer.Typer(
    help="Train models from the event log (each publishes only if it beats the current one).", no_args_is_help=True
)
eval_app = typer.Typer(help="Offline evaluations in the mall simulators.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


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


@train_app.command("coupons")
def train_coupons(
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="newest share held out")] = 0.2,
    min_gain: Annotated[float, typer.Option(help="held-out AUC gain needed to publish")] = 0.002,
    epochs: Annotated[int, typer.Option(min=1)] = 15,
    force: Annotated[bool, typer.Option("--force", help="publish even if not better")] = False,
) -> None:
    """Train the LightFM coupon model on the event log; publish a new version only if it is better."""
    import json
    import logging

    from screens.bus import make_bus
    from screens.db.session import make_engine
    from screens.services.coupon_training import train_and_maybe_publish

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    engine = make_engine(settings.database_url)
    bus = make_bus(settings.redis_url, buffer_max=10, retry_interval_s=settings.bus_retry_interval_s)
    try:
        report = train_and_maybe_publish(
            engine,
            settings.model_dir,
            bus.config,
            window_s=settings.crowd_window_s,
            test_fraction=test_fraction,
            min_gain=min_gain,
            force=force,
            epochs=epochs,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        bus.close()
        engine.dispose()
    typer.echo(json.dumps(report.as_dict(), indent=2, default=str))


@eval_app.command("coupons", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_coupons(ctx: typer.Context) -> None:
    """Compare coupon policies in the mall simulator (options of `python -m recsys.evaluate_coupons -h`)."""
    from recsys.evaluate_coupons import main as evaluate

    raise typer.Exit(evaluate(list(ctx.args)))


@train_app.command("mirror")
def train_mirror(
    factors: Annotated[int, typer.Option(min=2, help="ALS factors")] = 32,
    iterations: Annotated[int, typer.Option(min=1, help="ALS iterations")] = 12,
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="newest share of sessions held out")] = 0.2,
    min_gain: Annotated[float, typer.Option(help="held-out next-try-on HR@10 gain needed to publish")] = 0.005,
    force: Annotated[bool, typer.Option("--force", help="publish even if not better")] = False,
) -> None:
    """Train the mirrors' co-try-on and crowd-taste models on the event log; publish only if better."""
    import json
    import logging

    from screens.bus import make_bus
    from screens.db.session import make_engine
    from screens.services.mirror_training import train_and_maybe_publish

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    engine = make_engine(settings.database_url)
    bus = make_bus(settings.redis_url, buffer_max=10, retry_interval_s=settings.bus_retry_interval_s)
    try:
        report = train_and_maybe_publish(
            engine,
            settings.model_dir,
            bus.config,
            window_s=settings.crowd_window_s,
            test_fraction=test_fraction,
            min_gain=min_gain,
            force=force,
            factors=factors,
            iterations=iterations,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        bus.close()
        engine.dispose()
    typer.echo(json.dumps(report.as_dict(), indent=2, default=str))


@eval_app.command("mirror", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_mirror(ctx: typer.Context) -> None:
    """Compare mirror policies on simulated fitting sessions (options of `python -m recsys.evaluate_mirror -h`)."""
    from recsys.evaluate_mirror import main as evaluate

    raise typer.Exit(evaluate(list(ctx.args)))


bench_app = typer.Typer(help="Benchmarks over real HTTP on loopback (see docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("upload")
def bench_upload(
    rows: Annotated[int, typer.Option(help="catalog rows")] = 100_000,
    repeats: Annotated[int, typer.Option(min=1)] = 3,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
) -> None:
    """Time a catalog CSV upload through the API (SQLite)."""
    _print_bench(lambda: __import__("screens.bench", fromlist=["x"]).bench_upload(rows, repeats, redis_url))


@bench_app.command("events")
def bench_events(
    total: Annotated[int, typer.Option(help="events to send")] = 50_000,
    batch: Annotated[int, typer.Option(min=1, max=1000)] = 500,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
) -> None:
    """Events per second through POST /v1/events."""
    _print_bench(lambda: __import__("screens.bench", fromlist=["x"]).bench_events(total, batch, redis_url))


@bench_app.command("coupons")
def bench_coupons(
    coupons: Annotated[int, typer.Option(help="active coupons")] = 2000,
    stores: Annotated[int, typer.Option(help="stores")] = 300,
    duration: Annotated[float, typer.Option(help="seconds of load")] = 10.0,
    clients: Annotated[int, typer.Option(min=1, help="load-generator processes")] = 2,
    concurrency: Annotated[int, typer.Option(min=1, help="connections per process")] = 4,
    workers: Annotated[int, typer.Option(min=1, help="service workers")] = 1,
    redis_url: Annotated[str | None, typer.Option(help="use Redis as live state")] = None,
    load: Annotated[str, typer.Option(help="python (httpx processes) or wrk")] = "python",
) -> None:
    """Requests per second, median and p99 of GET /v1/screens/{id}/coupons over HTTP."""
    _print_bench(
        lambda: __import__("screens.bench", fromlist=["x"]).bench_coupons_http(
            coupons, stores, duration, clients, concurrency, workers, redis_url, load
        )
    )


def _print_bench(run: object) -> None:
    import json
    import logging

    from screens.bench import machine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    result = run()  # type: ignore[operator]
    typer.echo(json.dumps({"machine": machine(), "result": result}, indent=2))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    preset: Annotated[str, typer.Option(help="full (60 stores, 21,000 SKUs) or small (6 stores, 240 SKUs)")] = "full",
    reload_data: Annotated[bool, typer.Option("--reload-data", help="load the mall again")] = False,
    simulate_shoppers: Annotated[
        bool, typer.Option("--simulator/--no-simulator", help="simulated shoppers in the background")
    ] = True,
) -> None:
    """Migrate, load the demo mall from seeds/ (first run, or when --preset changes), serve it on SQLite
    without Redis and let simulated shoppers walk the mall in the background (log: var/demo/simulator.log)."""
    import json
    import logging

    from screens.db.session import upgrade
    from screens.demo import ensure_demo_mall
    from seeds.generate import PRESETS

    if preset not in PRESETS:
        raise typer.BadParameter(f"{preset!r}; choose one of {', '.join(PRESETS)}", param_hint="--preset")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    upgrade(settings.database_url)
    tokens = Path("var/demo/tokens.json")
    ensure_demo_mall(settings.database_url, preset, tokens, reload=reload_data)
    base = f"http://127.0.0.1:{port}"
    simulator = _simulate_in_background(base, tokens, preset) if simulate_shoppers else None
    typer.echo(_demo_urls(base, json.loads(tokens.read_text()), _busy_mirror(preset, simulate_shoppers)), err=True)
    try:
        serve(host="127.0.0.1", port=port, workers=1, log_level="warning")
    finally:
        if simulator is not None:
            simulator.terminate()


def _simulate_in_background(base: str, tokens: Path, preset: str) -> subprocess.Popen[bytes]:
    """`vitrine simulate` in a child process that first waits for the service to answer."""
    log = tokens.parent / "simulator.log"
    command = [
        sys.executable,
        "-m",
        "screens.cli",
        "simulate",
        "--url",
        base,
        "--tokens",
        str(tokens),
        "--preset",
        preset,
        "--shoppers",
        "1000000",
        "--speedup",
        "10",
        "--wait",
        "60",
        "--no-progress",
    ]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def _busy_mirror(preset: str, simulated: bool) -> str | None:
    """With simulated shoppers, the mirror they try most on: its page fills soonest (60 stores share them)."""
    if not simulated:
        return None
    from kiosk_client._sim_mall import load_sim_mall

    return load_sim_mall(preset, 7).busiest_mirror()


def _demo_urls(base: str, tokens: dict[str, Any], mirror: str | None = None) -> str:
    devices: dict[str, str] = tokens["devices"]
    lead_in = next(s for s in devices if s.startswith("lead-"))
    if mirror not in devices:
        mirror = next((s for s in devices if s.startswith("mirror-")), None)
    lines = [f"\nVitrine demo on {base}", f"  lead-in screen: {base}/screens/{lead_in}?token={devices[lead_in]}"]
    if mirror:
        lines.append(f"  mirror:         {base}/screens/{mirror}?token={devices[mirror]}  (fills at its first try-on)")
    lines += [
        f"  API docs:       {base}/docs",
        f"  ops console:    {base}/console  (ops token: {tokens['ops']})",
        "  tokens:         var/demo/tokens.json\n",
    ]
    return "\n".join(lines)


@app.command()
def simulate(
    url: Annotated[str, typer.Option(help="service base URL")] = "http://127.0.0.1:8000",
    tokens: Annotated[Path, typer.Option(help="tokens.json written by `vitrine demo`")] = Path("var/demo/tokens.json"),
    preset: Annotated[str, typer.Option(help="the demo mall preset the service was loaded with")] = "small",
    shoppers: Annotated[int, typer.Option(min=1, help="shoppers to simulate")] = 200,
    speedup: Annotated[float, typer.Option(min=0.01, help="simulated time / wall-clock time")] = 20.0,
    duration: Annotated[float | None, typer.Option(help="stop after this many wall-clock seconds")] = None,
    screens: Annotated[str | None, typer.Option(help="lead-in screens: comma-separated ids or a count")] = None,
    seed: Annotated[int, typer.Option(help="seed of the shopper draws (same seed, same shoppers)")] = 0,
    state_dir: Annotated[Path, typer.Option(help="outboxes and caches of the simulated kiosks")] = Path("var/sim"),
    wait: Annotated[float, typer.Option(help="seconds to wait for the service to answer")] = 0.0,
    progress: Annotated[bool, typer.Option(help="progress bar on stderr")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Simulated shoppers walk the demo mall: the real HTTP API through kiosk_client, then a summary."""
    import json

    from kiosk_client._sim_mall import load_sim_mall
    from kiosk_client.simulator import simulate as run_simulation

    _wait_for(url, wait)
    chosen = None
    if screens:
        lead_ins = load_sim_mall(preset, 7).lead_in_screens
        chosen = lead_ins[: int(screens)] if screens.isdigit() else [s.strip() for s in screens.split(",")]
    summary = run_simulation(
        url,
        tokens,
        preset=preset,
        seed=seed,
        shoppers=shoppers,
        speedup=speedup,
        duration_s=duration,
        screens=chosen,
        state_dir=state_dir,
        progress=sys.stderr.write if progress else None,
    )
    typer.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.render())


def _wait_for(url: str, seconds: float) -> None:
    import time

    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
