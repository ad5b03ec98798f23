"""The layout's two import rules, read from the source with ``ast`` (every import, also inside functions).

1. Production code never imports the lab: simulators, offline evaluations, benchmarks, the demo-mall
   generator and the developer tools. Only the CLIs, the lab itself and the tests may.
2. ``recsys`` and ``vision`` are pure: no ``screens``, no web framework, no ORM, no Redis client.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("recsys", "screens", "vision", "kiosk_client", "seeds")

LAB = (
    "recsys.lab",
    "screens.tools",
    "vision.bench",
    "vision.bench_models",
    "vision.bench_gpu",
    "vision.bench_pipeline",
    "vision.evaluation",
    "kiosk_client.simulator",
    "kiosk_client._sim_mall",
    "seeds",
)
"""Modules (and packages) that only the CLI, the lab and the tests may import."""

NOT_PRODUCTION = (*LAB, "screens.cli", "vision.cli", "vision.__main__")
"""Modules allowed to import the lab: the lab itself and the command lines that mount it."""

IMPURE = ("screens", "fastapi", "starlette", "sqlmodel", "sqlalchemy", "alembic", "redis", "uvicorn")
"""What ``recsys`` and ``vision`` never import (``vision.publisher`` posts events with httpx: allowed)."""


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports; ``from pkg import name`` counts as ``pkg`` and ``pkg.name``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "__import__"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.add(node.args[0].value)
    return found


def _sources() -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    }


SOURCES = _sources()


def _violations(importers: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module in importers
        for imported in SOURCES[module]
        if _within(imported, forbidden)
    )


def test_the_walker_sees_the_imports_it_must_judge() -> None:
    """Guards the guard: the CLI does import the lab, and a service module does import recsys."""
    assert any(_within(m, ("recsys.lab",)) for m in SOURCES["screens.cli.models"])
    assert "screens.tools.http_bench" in SOURCES["screens.cli.bench"]  # through __import__("...")
    assert "recsys.mirror.artifacts.load_mirror_models" in SOURCES["screens.services.mirror.service"]
    assert len(SOURCES) > 100


def test_production_never_imports_the_lab() -> None:
    production = [m for m in SOURCES if not _within(m, NOT_PRODUCTION)]
    assert "screens.app" in production and "recsys.mirror.training" in production
    assert _violations(production, LAB) == []


@pytest.mark.parametrize("package", ["recsys", "vision"])
def test_pure_packages_import_no_service_storage_or_redis(package: str) -> None:
    modules = [m for m in SOURCES if _within(m, (package,))]
    assert modules
    assert _violations(modules, IMPURE) == []
