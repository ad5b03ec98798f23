"""Attribute models (gender, age), one plug-in per file (see :mod:`vision.plugins`), and the unknown
fallback used when none is configured."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from vision.attributes.base import UNKNOWN_ATTRIBUTES, AttributeModel, FaceAttributes, UnknownAttributes
from vision.plugins import discover

ATTRIBUTE_MODELS = discover(sys.modules[__name__])

__all__ = [
    "ATTRIBUTE_MODELS",
    "UNKNOWN_ATTRIBUTES",
    "AttributeModel",
    "FaceAttributes",
    "UnknownAttributes",
    "build_attributes",
]


def build_attributes(config: Any | None, providers: Sequence[str] | None = None, threads: int = 0) -> AttributeModel:
    """The attribute model a config section names; ``None``: every face is ``unknown``."""
    if config is None:
        return UnknownAttributes()
    model: AttributeModel = ATTRIBUTE_MODELS[config.type].build(config, providers, threads)
    return model
