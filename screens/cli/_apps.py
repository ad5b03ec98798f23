"""The ``vitrine`` command and its sub-commands; each module of this package adds its commands."""

from __future__ import annotations

import typer

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
catalog_app = typer.Typer(help="Store catalogs (the same validation as uploads).", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(catalog_app, name="catalog")

bench_app = typer.Typer(help="Benchmarks over real HTTP on loopback (see docs/benchmarks.md).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
analytics_app = typer.Typer(
    help="Analytics rollups and raw-event retention (see docs/scaling.md).", no_args_is_help=True
)
app.add_typer(analytics_app, name="analytics")
