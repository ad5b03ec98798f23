"""Attribute models (gender, age) and the unknown fallback used when none is configured."""

from __future__ import annotations

from collections.abc import Sequence

from vision.attributes.base import UNKNOWN_ATTRIBUTES, AttributeModel, FaceAttributes, UnknownAttributes
from vision.attributes.genderage import GenderAgeModel, raw_pixel_input
from vision.attributes.generic import GenericHeadModel
from vision.config import GenderAgeConfig, GenericHeadConfig
from vision.runtime import OnnxModel

__all__ = [
    "UNKNOWN_ATTRIBUTES",
    "AttributeModel",
    "FaceAttributes",
    "GenderAgeModel",
    "GenericHeadModel",
    "UnknownAttributes",
    "build_attributes",
]


def build_attributes(
    config: GenderAgeConfig | GenericHeadConfig | None,
    providers: Sequence[str] | None = None,
    threads: int = 0,
) -> AttributeModel:
    if config is None:
        return UnknownAttributes()
    model = OnnxModel(config.path, providers, config.sha256, threads)
    if isinstance(config, GenderAgeConfig):
        return GenderAgeModel(model, config, raw_pixel_input(str(config.path)))
    return GenericHeadModel(model, config)
