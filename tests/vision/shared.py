"""The real model files and evaluation data of ``../shared`` (never copied into the repository).

Tests that need them skip cleanly where the folder is absent (a fresh clone in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MODELS, DATA = SHARED / "models", SHARED / "data"

needs_models = pytest.mark.skipif(not (MODELS / "centerface.onnx").is_file(), reason="no ../shared/models")
needs_data = pytest.mark.skipif(not (DATA / "faces-group-dlib").is_dir(), reason="no ../shared/data")
