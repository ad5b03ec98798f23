"""The ``vitrine`` command line (``vitrine --help``)."""

from __future__ import annotations

from screens.cli import analytics, bench, catalog, demo, models, service  # noqa: F401  (each registers its commands)
from screens.cli._apps import app

__all__ = ["app", "main"]


def _mount_vision() -> None:
    from vision.cli import app as vision_app

    app.add_typer(vision_app, name="vision", help="Camera frames → anonymous attribute events.")


_mount_vision()


def main() -> None:
    app()
