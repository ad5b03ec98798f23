"""`vitrine demo` and `vitrine simulate`: the demo mall and its simulated shoppers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from screens.cli._apps import app
from screens.cli.service import serve
from screens.settings import Settings


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    preset: Annotated[str, typer.Option(help="full (60 stores, 21,000 SKUs) or small (6 stores, 240 SKUs)")] = "full",
    reload_data: Annotated[bool, typer.Option("--reload-data", help="load the mall again")] = False,
    simulate_shoppers: Annotated[
        bool, typer.Option("--simulator/--no-simulator", help="simulated shoppers in the background")
    ] = True,
    history_days: Annotated[
        float,
        typer.Option(min=0, help="days of simulated history written first (0: none; only the days not logged yet)"),
    ] = 14,
    history_shoppers: Annotated[int, typer.Option(min=1, help="simulated shoppers per day of history")] = 1500,
) -> None:
    """Migrate, load the demo mall from seeds/ (first run, or when --preset changes), write the last
    --history-days of simulated shoppers into the event log (in process, with a progress bar), serve it on
    SQLite without Redis and let simulated shoppers walk the mall live (log: var/demo/simulator.log)."""
    import json
    import logging

    from screens.db.session import upgrade
    from screens.tools.demo_history import fill_history
    from screens.tools.demo_mall import ensure_demo_mall
    from seeds.generate import PRESETS

    if preset not in PRESETS:
        raise typer.BadParameter(f"{preset!r}; choose one of {', '.join(PRESETS)}", param_hint="--preset")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # which SIMD build it picked: noise here
    # The demo's product pictures are drawn locally; its camera notice speaks English and Chinese.
    os.environ.setdefault("VITRINE_MEDIA_DIR", "var/demo/media")
    os.environ.setdefault("VITRINE_NOTICE_LANGUAGES", '["en", "zh"]')
    settings = Settings()
    upgrade(settings.database_url)
    tokens = Path("var/demo/tokens.json")
    ensure_demo_mall(settings.database_url, preset, tokens, reload=reload_data, media_dir=settings.media_dir)
    history = fill_history(settings.database_url, preset, history_days, shoppers_per_day=history_shoppers)
    if history is not None:
        typer.echo(f"history: {history.shoppers} shoppers, {history.events} events in {history.wall_s:.1f} s", err=True)
    base = f"http://127.0.0.1:{port}"
    os.environ.setdefault("VITRINE_PUBLIC_URL", base)  # claim QR codes point here
    simulator = _simulate_in_background(base, tokens, preset) if simulate_shoppers else None
    typer.echo(_demo_urls(base, json.loads(tokens.read_text()), _busy_mirror(preset, simulate_shoppers)), err=True)
    # Request logs of the simulated mall would scroll the URLs away; VITRINE_LOG_LEVEL=INFO shows them.
    os.environ.setdefault("VITRINE_LOG_LEVEL", "WARNING")
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
