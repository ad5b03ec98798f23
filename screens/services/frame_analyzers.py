"""Frames posted by devices: analysed in memory, turned into anonymous events, then dropped."""

from __future__ import annotations

import threading
from pathlib import Path

from vision.analyze import FrameAnalyzer
from vision.config import load_config

_lock = threading.Lock()
_analyzers: dict[Path | None, FrameAnalyzer] = {}


def analyzer_for(config_path: Path | None) -> FrameAnalyzer:
    """One analyzer per configured model set, built on first use (loading models takes seconds)."""
    with _lock:
        if config_path not in _analyzers:
            _analyzers[config_path] = (
                FrameAnalyzer.from_config(load_config(config_path).models) if config_path else FrameAnalyzer()
            )
        return _analyzers[config_path]
