"""Model plug-ins: one module per model kind, found by scanning its package.

Frigate's detector plug-ins are the model: every module of ``vision/detectors/`` and
``vision/attributes/`` that defines a module-level ``PLUGIN`` is one model kind. It names its key
(the ``type`` of its config section), its config class and the function that builds the adapter,
so adding a model kind touches one file — the config unions and the factories are built from
what is found here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Annotated, Any, Generic, TypeVar, Union

from pydantic import Field

from vision.schema import StrictModel

T = TypeVar("T")


@dataclass(frozen=True)
class Plugin(Generic[T]):
    """``build(config, providers, threads)`` returns the adapter; ``config`` has ``type: Literal[key]``."""

    key: str
    config: type[StrictModel]
    build: Callable[[Any, Sequence[str] | None, int], T]


def discover(package: ModuleType) -> dict[str, Plugin[Any]]:
    """Every ``PLUGIN`` of the package's modules, keyed by its ``type``, in module-name order."""
    found: dict[str, Plugin[Any]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        plugin = getattr(module, "PLUGIN", None)
        if isinstance(plugin, Plugin):
            if plugin.key in found:
                raise RuntimeError(f"two plug-ins claim the model type {plugin.key!r}")
            found[plugin.key] = plugin
    return found


def config_union(plugins: dict[str, Plugin[Any]]) -> Any:
    """The pydantic union of the plug-ins' config classes, discriminated on ``type``."""
    classes = tuple(p.config for p in plugins.values())
    if len(classes) == 1:
        return classes[0]
    return Annotated[Union[classes], Field(discriminator="type")]  # noqa: UP007 - a runtime tuple
