"""Frames posted by devices: analysed in memory, turned into anonymous events, then dropped."""

from __future__ import annotations

import threading
from pathlib import Path

from vision.analyze import FrameAnalyzer
from vision.config import load_config

_lock = threading.Lock()
_analyzers: dict[tuple[Path | None, Path], FrameAnalyzer] = {}
"""Not a timed cache: loaded model sets by (vision config, model folder), kept for the process's life.
Staleness rule: a changed ``cameras.yaml`` or newly fetched default models take effect at the next
restart (loading takes seconds, so it never happens behind a request's back)."""


def analyzer_for(config_path: Path | None, model_dir: Path) -> FrameAnalyzer:
    """One analyzer per configured model set, built on first use (loading models takes seconds).

    Without a ``cameras.yaml`` the default set (CenterFace + Cydral) serves when it is installed in
    ``model_dir``, else Haar + unknown."""
    key = (config_path, model_dir)
    with _lock:
        if key not in _analyzers:
            _analyzers[key] = (
                FrameAnalyzer.from_config(load_config(config_path).models)
                if config_path
                else FrameAnalyzer.default(model_dir)
            )
        return _analyzers[key]
