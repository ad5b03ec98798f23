"""``vitrine vision …``: run the camera pipeline, benchmark it, fetch model files.

The service's CLI mounts :data:`app` as its ``vision`` sub-command; ``python -m vision`` runs it alone.
Progress goes to stderr through logging; only results (the bench report) go to stdout.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer

from vision.config import ModelFile, VisionConfig, load_config

app = typer.Typer(
    help="Anonymous audience analytics from the mall's cameras (no image ever leaves "
    "memory; only attribute counts are published).",
    no_args_is_help=True,
)
models_app = typer.Typer(help="Model files listed in cameras.yaml.", no_args_is_help=True)
app.add_typer(models_app, name="models")
log = logging.getLogger("vision.cli")

ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", "-c", exists=True, dir_okay=False, help="cameras.yaml (see docs/vision.md for the schema)"
    ),
]


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(processName)s %(levelname)s %(message)s",
    )


def _load(path: Path) -> VisionConfig:
    try:
        return load_config(path)
    except Exception as exc:  # pydantic / YAML errors: show them, not a traceback
        raise typer.BadParameter(str(exc), param_hint="--config") from exc


@app.command()
def run(
    config: ConfigOption,
    max_frames: Annotated[int | None, typer.Option(help="stop each camera after N frames")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Read every camera in the config and publish audience / store_visit events to the sink."""
    from vision.process import run_pipeline
    from vision.publisher import EventSink, HttpEventSink, ListSink

    _logging(verbose)
    cfg = _load(config)
    sink: EventSink
    if cfg.sink is None:
        log.warning("no sink configured: events are counted and discarded")
        sink = ListSink()
    else:
        sink = HttpEventSink(cfg.sink.url, cfg.sink.token, timeout_s=cfg.sink.timeout_s)
    stats = run_pipeline(cfg, sink, max_frames)
    log.info("done: %s", stats.summary())


@app.command()
def bench(
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda")] = "auto",
    streams: Annotated[str, typer.Option(help="stream counts to try, comma-separated")] = "1,2,4,8,16,32,64,128,256",
    batches: Annotated[str, typer.Option(help="attribute batch sizes")] = "1,16,64,256",
    seconds: Annotated[float, typer.Option(help="seconds per stream count")] = 4.0,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="measure these model files instead of random-weight stand-ins"),
    ] = None,
    threads: Annotated[int, typer.Option(help="ONNX Runtime intra-op threads (0: default)")] = 0,
    decode_workers: Annotated[int, typer.Option(help="JPEG decode threads")] = 4,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Attribute-model faces/s by batch, and 720p@15 fps streams sustained at p99 ≤ 100 ms."""
    from vision.bench import run_bench

    if device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("use auto, cpu or cuda", param_hint="--device")
    _logging(verbose)
    models = _load(config).models if config else None
    typer.echo(
        run_bench(
            device,
            tuple(int(b) for b in batches.split(",")),
            tuple(int(s) for s in streams.split(",")),
            seconds,
            models,
            threads,
            decode_workers,
        )
    )


@models_app.command("fetch")
def fetch(config: ConfigOption, timeout: Annotated[float, typer.Option(help="seconds per download")] = 120.0) -> None:
    """Download every model that has a url and is missing, verifying its sha256 before keeping it."""
    from vision.runtime import sha256_of

    _logging(False)
    cfg = _load(config)
    for model in (cfg.models.detector, cfg.models.attributes):
        if not isinstance(model, ModelFile):
            continue
        if model.path.is_file() and (model.sha256 is None or sha256_of(model.path) == model.sha256.lower()):
            log.info("%s is present and verified", model.path)
            continue
        if not model.url:
            raise typer.BadParameter(f"{model.path} is missing and has no url to fetch it from")
        _download(model, timeout)


def _download(model: ModelFile, timeout: float) -> None:
    from vision.runtime import sha256_of

    assert model.url is not None
    model.path.parent.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s → %s", model.url, model.path)
    with tempfile.NamedTemporaryFile(dir=model.path.parent, suffix=".part", delete=False) as part:
        tmp = Path(part.name)
        try:
            with httpx.stream("GET", model.url, timeout=timeout, follow_redirects=True) as response:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    part.write(chunk)
        except httpx.HTTPError as exc:
            tmp.unlink(missing_ok=True)
            log.error(
                "cannot download %s (%s); is this machine offline? Copy the file to %s by hand.",
                model.url,
                exc,
                model.path,
            )
            raise typer.Exit(2) from exc
    if model.sha256 and sha256_of(tmp) != model.sha256.lower():
        tmp.unlink()
        log.error("%s does not match the configured sha256; not installed", model.url)
        raise typer.Exit(3)
    tmp.replace(model.path)
    log.info("installed %s", model.path)
