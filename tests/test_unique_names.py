"""One name per thing: no two public classes or type aliases share a name across ``recsys`` and ``screens``.

A reader who meets ``Recommendation`` or ``CatalogItem`` should not have to check which of two it is.
The HTTP schemas (``screens/schemas``) are left out on purpose: each mirrors a domain name as its wire
shape (``schemas.analytics.StoreAudience`` for ``recsys.audience.StoreAudience``) and is always used
through its module. The lab is left out too: its simulators each have their own ``SimConfig``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = ("screens/schemas", "screens/db/migrations", "recsys/lab")


def _is_alias(node: ast.stmt) -> str | None:
    """``Name = dict[...]`` / ``Name: TypeAlias = ...`` / ``type Name = ...`` with a CamelCase name."""
    type_alias = getattr(ast, "TypeAlias", None)  # ``type X = ...`` statements, Python 3.12+
    if type_alias is not None and isinstance(node, type_alias):
        return str(node.name.id)
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        annotation = ast.unparse(node.annotation)
        return node.target.id if annotation.endswith("TypeAlias") else None
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        name = node.targets[0].id
        camel = name[:1].isupper() and not name.isupper()
        return name if camel and isinstance(node.value, ast.Subscript | ast.Name | ast.Attribute | ast.BinOp) else None
    return None


def _public_names() -> dict[str, list[str]]:
    where: dict[str, list[str]] = defaultdict(list)
    for package in ("recsys", "screens"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(SKIPPED):
                continue
            for node in ast.parse(path.read_text()).body:
                name = node.name if isinstance(node, ast.ClassDef) else _is_alias(node)
                if name and not name.startswith("_"):
                    where[name].append(rel)
    return where


def test_the_scan_finds_the_names_it_must_compare() -> None:
    names = _public_names()
    assert names["LeadInSlate"] == ["screens/services/leadin/recommender.py"]
    assert names["ProfileShares"] == ["recsys/mirror/models/cell_taste.py"]  # an alias, not a class
    assert names["CatalogItem"] == ["screens/db/tables.py"]


def test_no_two_public_classes_or_aliases_share_a_name() -> None:
    clashes = {name: paths for name, paths in _public_names().items() if len(paths) > 1}
    assert clashes == {}
