"""Deterministic demo data for Vitrine: a mall of stores, screens, catalogue and coupons.

``python -m seeds.generate --preset small --out var/mall`` writes one to disk; the demo regenerates
it at start-up, so nothing generated is committed.
"""

from __future__ import annotations

import importlib
from typing import Any

# Resolved lazily (PEP 562) so `python -m seeds.generate` does not import its own module twice.
_EXPORTS = {
    "PRESETS": "seeds.generate",
    "REFERENCE_NOW": "seeds.generate",
    "Mall": "seeds.generate",
    "generate_catalog": "seeds.generate",
    "generate_mall": "seeds.generate",
    "load_mall": "seeds.files",
    "read_catalog_csv": "seeds.files",
    "read_coupons_csv": "seeds.files",
    "write_mall": "seeds.files",
}

__all__ = [
    "PRESETS",
    "REFERENCE_NOW",
    "Mall",
    "generate_catalog",
    "generate_mall",
    "load_mall",
    "read_catalog_csv",
    "read_coupons_csv",
    "write_mall",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'seeds' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
