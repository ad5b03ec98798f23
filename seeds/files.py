"""Read and write the service's upload formats (catalogue CSV, coupon CSV) and the mall layout.

Upload CSVs are UTF-8 without a BOM, comma-separated, quoted only where needed (``csv`` minimal
quoting), with list fields joined by ``|`` and empty cells for ``None``. The readers here are the
reference parsers for that format: they are what the tests round-trip against. The columns come
from :mod:`screens.schemas.upload_format`, the one definition the service validates against.

Folder layout written by :func:`write_mall`::

    stores.json  screens.json  manifest.json
    catalog/<store_id>.csv   coupons/<store_id>.csv   (one upload per store)
    hidden_audience.json     (simulator ground truth; never upload it)
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from screens.schemas.upload_format import CATALOG_COLUMNS, COUPON_COLUMNS, LIST_SEPARATOR

if TYPE_CHECKING:
    from seeds.generate import Mall

logger = logging.getLogger(__name__)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return LIST_SEPARATOR.join(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _write_rows(path: Path, columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row[c]) for c in columns])


def write_catalog_csv(items: Iterable[dict[str, Any]], path: Path) -> None:
    """One store's catalogue upload (the ``store_id`` key of each item is not a column)."""
    _write_rows(path, CATALOG_COLUMNS, items)


def write_coupons_csv(coupons: Iterable[dict[str, Any]], path: Path) -> None:
    """One store's coupon upload."""
    _write_rows(path, COUPON_COLUMNS, coupons)


def _split(cell: str) -> list[str]:
    return [part for part in cell.split(LIST_SEPARATOR) if part] if cell else []


def read_catalog_csv(path: Path, store_id: str) -> list[dict[str, Any]]:
    """Parse a catalogue upload back into item dicts identical to what the generator produced."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != CATALOG_COLUMNS:
            raise ValueError(f"{path}: columns must be exactly {','.join(CATALOG_COLUMNS)}")
        return [
            {
                "store_id": store_id,
                "sku": r["sku"],
                "name": r["name"],
                "category": r["category"],
                "subcategory": r["subcategory"],
                "gender_target": r["gender_target"],
                "colors": _split(r["colors"]),
                "style_tags": _split(r["style_tags"]),
                "price": float(r["price"]),
                "sale_price": float(r["sale_price"]) if r["sale_price"] else None,
                "stock": int(r["stock"]),
                "image_url": r["image_url"] or None,
                "complements": _split(r["complements"]),
            }
            for r in reader
        ]


def read_coupons_csv(path: Path) -> list[dict[str, Any]]:
    """Parse a coupon upload back into coupon dicts."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != COUPON_COLUMNS:
            raise ValueError(f"{path}: columns must be exactly {','.join(COUPON_COLUMNS)}")
        return [
            {
                "coupon_id": r["coupon_id"],
                "title": r["title"],
                "kind": r["kind"],
                "value": float(r["value"]),
                "min_spend": float(r["min_spend"]),
                "valid_from": r["valid_from"],
                "valid_to": r["valid_to"],
                "daily_cap": int(r["daily_cap"]) if r["daily_cap"] else None,
                "total_stock": int(r["total_stock"]) if r["total_stock"] else None,
                "active": r["active"].strip().lower() in ("true", "1", "yes"),
            }
            for r in reader
        ]


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_mall(mall: Mall, out_dir: Path) -> None:
    """Write every file of ``mall`` under ``out_dir`` (see the module docstring for the layout)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / "stores.json", mall.stores)
    _write_json(out_dir / "screens.json", mall.screens)
    _write_json(out_dir / "hidden_audience.json", mall.audience)
    for store in mall.stores:
        write_catalog_csv(mall.catalog[store["id"]], out_dir / "catalog" / f"{store['id']}.csv")
        write_coupons_csv(mall.coupons[store["id"]], out_dir / "coupons" / f"{store['id']}.csv")
    _write_json(
        out_dir / "manifest.json",
        {
            "seed": mall.seed,
            "reference_time": mall.reference_time.isoformat(),
            "stores": len(mall.stores),
            "screens": len(mall.screens),
            "skus": mall.n_items,
        },
    )
    logger.info("wrote %d catalogue and %d coupon files", len(mall.stores), len(mall.stores))


def load_mall(out_dir: Path) -> Mall:
    """Read a folder written by :func:`write_mall` back into a :class:`Mall`."""
    from datetime import datetime

    from seeds.generate import Mall

    stores = json.loads((out_dir / "stores.json").read_text(encoding="utf-8"))
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    return Mall(
        stores=stores,
        screens=json.loads((out_dir / "screens.json").read_text(encoding="utf-8")),
        catalog={s["id"]: read_catalog_csv(out_dir / "catalog" / f"{s['id']}.csv", s["id"]) for s in stores},
        coupons={s["id"]: read_coupons_csv(out_dir / "coupons" / f"{s['id']}.csv") for s in stores},
        audience=json.loads((out_dir / "hidden_audience.json").read_text(encoding="utf-8")),
        seed=int(manifest["seed"]),
        reference_time=datetime.fromisoformat(manifest["reference_time"]),
    )
