"""The config base every model plug-in and ``cameras.yaml`` share.

It lives apart from :mod:`vision.config` because the plug-ins declare their own config classes
(one file per model kind) and :mod:`vision.config` builds its unions from them: the plug-ins must
not import the module that imports them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Shared base: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


class ModelFile(StrictModel):
    """A model file on disk, pinned by its sha256; ``url`` is only used by ``models fetch --config``."""

    path: Path
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    url: str | None = None
