"""`vitrine train …` and `vitrine eval …`: learned models and offline evaluations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from recsys.mirror.models.als import DEFAULT_PURCHASE_WEIGHT
from screens.cli._apps import eval_app, train_app
from screens.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from screens.bus import Bus
    from screens.services.leadin.state import LiveSnapshot


@train_app.command("coupons")
def train_coupons(
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="newest share held out")] = 0.2,
    min_gain: Annotated[float, typer.Option(help="held-out AUC gain needed to publish")] = 0.002,
    kind: Annotated[str, typer.Option(help="logistic (the claim model) or lightfm")] = "logistic",
    epochs: Annotated[int | None, typer.Option(min=1, help="LightFM epochs (kind lightfm only)")] = None,
    force: Annotated[bool, typer.Option("--force", help="publish even if not better")] = False,
    days: Annotated[int, typer.Option(min=1, help="days of the event log to learn from (newest)")] = 28,
) -> None:
    """Train the coupon claim model on the event log; publish a new version only if it is better."""
    from screens.services.leadin.training import train_and_maybe_publish

    params: dict[str, Any] = {"kind": kind} | ({"epochs": epochs} if epochs is not None else {})
    if epochs is not None and kind != "lightfm":
        raise typer.BadParameter("--epochs applies to --kind lightfm only", param_hint="--epochs")
    _train(
        train_and_maybe_publish,
        test_fraction=test_fraction,
        min_gain=min_gain,
        force=force,
        live_state=True,
        days=days,
        **params,
    )


@eval_app.command("coupons", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_coupons(
    ctx: typer.Context,
    policy: Annotated[
        list[str] | None,
        typer.Option(help="current, candidate or a weights .json: off-policy estimates on the event log (repeatable)"),
    ] = None,
    k: Annotated[
        int | None, typer.Option(min=1, max=20, help="slate size for --policy (default: the median logged one)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print --policy estimates as JSON")] = False,
) -> None:
    """Compare coupon policies in the mall simulator, score the ranker on real coupon offers with
    `--dataset PATH`, or estimate policies on the logged slates with `--policy` (IPS, SNIPS, DR).

    Simulator and dataset options: `python -m recsys.lab.leadin_eval -h` and
    `python -m recsys.lab.leadin_offers_eval -h`."""
    if policy:
        _estimate_policies(policy, k, as_json)
        return
    from recsys.lab.leadin_eval import main as evaluate

    raise typer.Exit(evaluate(list(ctx.args)))


def _estimate_policies(policies: list[str], k: int | None, as_json: bool) -> None:
    """Off-policy estimates of each policy on the logged slates of the configured database."""
    import json

    from recsys.leadin.ope import slates_from_impressions
    from recsys.leadin.training import new_scorer
    from screens.services.leadin import ope
    from screens.services.leadin.training import load_impressions
    from screens.services.model_pointers import load_coupon_model

    with _service() as (settings, engine, bus):
        try:
            current = load_coupon_model(settings.model_dir)
            impressions = load_impressions(engine, settings.crowd_window_s)
            in_force = ope.weights_in_force(engine)
            specs = [ope.resolve_policy(p, in_force, current, impressions) for p in policies]
            snap = _live_state(settings, engine, bus)()
            slates = slates_from_impressions(impressions, snap.table)
            reward = current if current is not None and current.reference_logit is not None else None
            estimates = ope.estimate_specs(specs, slates, snap, reward or new_scorer().fit(impressions), k)
        except (ValueError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(json.dumps(ope.as_json(estimates), indent=2) if as_json else ope.estimates_table(estimates))


@train_app.command("mirror")
def train_mirror(
    factors: Annotated[int, typer.Option(min=2, help="ALS factors")] = 32,
    iterations: Annotated[int, typer.Option(min=1, help="ALS iterations")] = 12,
    test_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="newest share of sessions held out")] = 0.2,
    min_gain: Annotated[float, typer.Option(help="held-out next-try-on HR@10 gain needed to publish")] = 0.005,
    force: Annotated[bool, typer.Option("--force", help="publish even if not better")] = False,
    days: Annotated[int, typer.Option(min=1, help="days of the event log to learn from (newest)")] = 28,
    purchase_weight: Annotated[
        float, typer.Option(min=0.0, help="a bought item counts this many try-ons (co-purchase vs co-try-on)")
    ] = DEFAULT_PURCHASE_WEIGHT,
    min_support: Annotated[
        int, typer.Option(min=1, help="sessions or receipts a category pair needs to enter the learned compatibility")
    ] = 5,
) -> None:
    """Train what the log supports: co-try-on/co-purchase ALS and learned category compatibility always,
    the crowd-taste model only where mirrors logged crowd profiles (a camera); publish only if better."""
    from screens.services.mirror.training import train_and_maybe_publish

    _train(
        train_and_maybe_publish,
        test_fraction=test_fraction,
        min_gain=min_gain,
        force=force,
        factors=factors,
        iterations=iterations,
        days=days,
        purchase_weight=purchase_weight,
        min_support=min_support,
    )


@contextmanager
def _service() -> Iterator[tuple[Settings, Engine, Bus]]:
    """The configured database and bus, closed on the way out."""
    import logging

    from screens.bus import make_bus
    from screens.db.session import make_engine

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    engine = make_engine(settings.database_url)
    bus = make_bus(settings.redis_url, buffer_max=10, retry_interval_s=settings.bus_retry_interval_s)
    try:
        yield settings, engine, bus
    finally:
        bus.close()
        engine.dispose()


def _live_state(settings: Settings, engine: Engine, bus: Bus) -> Callable[[], LiveSnapshot]:
    """The coupons, store stats and audiences a worker would rank with right now."""
    from screens.services.leadin.state import CouponState

    state = CouponState(
        engine,
        bus.counters,
        half_life_s=settings.audience_half_life_days * 86_400.0,
        k_anonymity=settings.k_anonymity,
        dp_epsilon=settings.dp_epsilon,
        audience_ttl_s=0.0,
    )
    return state.snapshot


def _train(train_and_maybe_publish: Callable[..., Any], live_state: bool = False, **options: Any) -> None:
    """Run one trainer against the configured database and bus; print its report (exit 2 if it cannot train)."""
    import json

    with _service() as (settings, engine, bus):
        if live_state:
            options["snapshot"] = _live_state(settings, engine, bus)
        try:
            report = train_and_maybe_publish(
                engine, settings.model_dir, bus.config, window_s=settings.crowd_window_s, **options
            )
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    typer.echo(json.dumps(report.as_dict(), indent=2, default=str))


@eval_app.command("mirror", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def eval_mirror(ctx: typer.Context) -> None:
    """Compare mirror policies on simulated fitting sessions (options of `python -m recsys.lab.mirror_eval -h`),
    or, with `--dataset DIR`, on real baskets through the service's path (`--dataset DIR -h` for its options)."""
    args = list(ctx.args)
    if any(a == "--dataset" or a.startswith("--dataset=") for a in args):
        from screens.tools.basket_eval import main as evaluate_baskets

        raise typer.Exit(evaluate_baskets(args))
    from recsys.lab.mirror_eval import main as evaluate

    raise typer.Exit(evaluate(args))


@eval_app.command("vision")
def eval_vision(
    data: Annotated[
        Path,
        typer.Option(exists=True, file_okay=False, help="folder holding faces-group-dlib and faces-utkface-adults"),
    ],
    model_dir: Annotated[Path | None, typer.Option(help="default models' folder (default: VITRINE_MODEL_DIR)")] = None,
    input_size: Annotated[str, typer.Option(help="CenterFace input WxH (rounded up to multiples of 32)")] = "640x360",
) -> None:
    """Detection recall / false positives and gender / age accuracy of the default models on real faces."""
    from vision.attributes import build_attributes
    from vision.detectors import build_detector
    from vision.detectors.haar import HaarDetector
    from vision.evaluation import run_evaluation
    from vision.model_set import FETCH_COMMAND, default_models

    models = default_models(model_dir or Settings().model_dir)
    if models is None:
        typer.echo(f"the default models are not installed; run `{FETCH_COMMAND}` first", err=True)
        raise typer.Exit(2)
    width, _, height = input_size.partition("x")
    models.detector.input_size = (int(width), int(height))
    detector, attributes = build_detector(models.detector), build_attributes(models.attributes)

    def progress(done: int, total: int) -> None:
        typer.echo(f"\rattributes: {done}/{total} faces", err=True, nl=done == total)

    typer.echo(run_evaluation(data, detector, attributes, HaarDetector(), progress=progress))  # type: ignore[arg-type]
