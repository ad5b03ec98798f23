"""A retailer's own catalog export, mapped onto Vitrine's catalog columns by a small YAML file.

Real exports never arrive in our columns (H&M's has ``article_id``, ``prod_name``,
``product_group_name``, …), and asking a merchandiser to rewrite them by hand every night is how
catalogs go stale. A mapping says, for each catalog field, where its value comes from::

    fields:
      sku:         {from: article_id}
      category:    {from: product_group_name, values: {Garment Upper body: tops}, otherwise: other}
      style_tags:  {join: [index_group_name, garment_group_name]}
      price:       {from: price, scale: 590}
      stock:       {value: 10}

``from`` copies one column, ``join`` gathers several into a list (list fields) or a space-joined
text, ``value`` is a constant; ``values`` maps the source values (an empty target drops a list
element), ``otherwise`` is what an unmapped value becomes (without it the value passes through),
``split`` cuts one cell into a list, ``scale`` multiplies a number, and ``default`` fills an empty
cell or a column the file lacks (without it a missing column rejects the file). The mapped rows then go
through the upload's own validation (:func:`screens.services.uploads.validate_catalog`), so a mapped
import accepts and rejects exactly what an upload does; its errors also name the source column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Annotated, Any

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from screens.errors import InvalidInput
from screens.schemas.base import StrictModel
from screens.schemas.upload_format import CATALOG_COLUMNS, LIST_COLUMNS

REQUIRED_FIELDS = ("sku", "name", "category", "gender_target", "price", "stock")
_NUMERIC = {"price": 2, "sale_price": 2, "stock": None}
Column = Annotated[str, Field(min_length=1, max_length=200)]


class FieldRule(StrictModel):
    """Where one catalog field's value comes from; exactly one of ``from``, ``join`` and ``value``."""

    from_: Column | None = Field(None, alias="from")
    join: Annotated[list[Column], Field(min_length=1, max_length=20)] | None = None
    value: str | float | int | None = None
    values: dict[str, str] | None = None
    otherwise: str | None = None
    split: Annotated[str, Field(min_length=1, max_length=5)] | None = None
    scale: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None
    default: str | float | int | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FieldRule:
        given = [
            name for name, v in (("from", self.from_), ("join", self.join), ("value", self.value)) if v is not None
        ]
        if len(given) != 1:
            raise ValueError(f"give exactly one of from, join, value (got {', '.join(given) or 'none'})")
        return self

    @property
    def columns(self) -> list[str]:
        return [self.from_] if self.from_ is not None else list(self.join or [])

    def describe(self) -> str:
        return f"column {self.from_!r}" if self.from_ else f"columns {self.join!r}" if self.join else "a constant"


class CatalogMapping(StrictModel):
    """The whole mapping file: one :class:`FieldRule` per catalog field it fills."""

    fields: dict[str, FieldRule]

    @field_validator("fields")
    @classmethod
    def _known_and_complete(cls, fields: dict[str, FieldRule]) -> dict[str, FieldRule]:
        unknown = [f for f in fields if f not in CATALOG_COLUMNS]
        if unknown:
            raise ValueError(f"unknown catalog field(s) {unknown}; the catalog has {', '.join(CATALOG_COLUMNS)}")
        missing = [f for f in REQUIRED_FIELDS if f not in fields]
        if missing:
            raise ValueError(f"the mapping must fill {', '.join(missing)} (required catalog fields)")
        return fields


def load_mapping(text: str | bytes) -> CatalogMapping:
    """Parse and check a mapping file (YAML or JSON); 422 naming each bad entry otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput("the mapping is not valid YAML", errors=[{"field": "mapping", "message": str(exc)}]) from exc
    try:
        return CatalogMapping.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(["mapping", *(str(p) for p in e["loc"])]), "message": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise InvalidInput("invalid catalog mapping", errors=errors) from exc


def read_export(body: bytes, content_type: str | None = None) -> list[dict[str, Any]]:
    """The retailer's rows as dicts of their own columns: a JSON list of objects, else CSV with a header."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json" or (not media and body.lstrip()[:1] == b"["):
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput("the file is not valid JSON", errors=[{"row": 0, "message": str(exc)}]) from exc
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InvalidInput("the JSON file must be a list of objects", errors=[{"row": 0, "message": "not a list"}])
        return data
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV is not UTF-8", errors=[{"row": 0, "message": str(exc)}]) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return [{k.strip(): v for k, v in row.items() if k is not None} for row in reader if any(row.values())]


def apply_mapping(mapping: CatalogMapping, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Catalog rows (upload format, not yet validated) from the retailer's rows."""
    header = set().union(*(r.keys() for r in rows)) if rows else set()
    absent = [
        {"row": 0, "field": name, "message": f"mapped from column {c!r}, which the file does not have"}
        for name, rule in mapping.fields.items()
        for c in rule.columns
        if c not in header and rule.default is None
    ]
    if absent:
        raise InvalidInput("the file lacks columns the mapping reads", errors=absent)
    return [{name: _value(name, rule, row) for name, rule in mapping.fields.items()} for row in rows]


def mapped_rows(mapping: CatalogMapping, body: bytes, content_type: str | None = None) -> list[dict[str, Any]]:
    """Read a retailer's file and map it: what a mapped import hands to the upload's validation."""
    return apply_mapping(mapping, read_export(body, content_type))


def annotate_errors(mapping: CatalogMapping | None, exc: InvalidInput) -> InvalidInput:
    """The upload's 422 with each error's source (``column 'prod_name'``) added, for the retailer's eyes."""
    if mapping is None:
        return exc
    errors = []
    for err in exc.extra.get("errors", []):
        rule = mapping.fields.get(str(err.get("field") or "").split(".")[0])
        errors.append({**err, "source": rule.describe()} if rule is not None else err)
    return InvalidInput(exc.message, **{**exc.extra, "errors": errors})


def _value(name: str, rule: FieldRule, row: dict[str, Any]) -> Any:
    if rule.value is not None:
        raw: list[Any] = [rule.value]
    else:
        raw = [row.get(c) for c in rule.columns]
    parts = [p for v in raw for p in _cells(v, rule.split) if p != ""]
    mapped = [m for m in (_mapped(p, rule) for p in parts) if m != ""]
    if not mapped and rule.default is not None:
        mapped = [str(rule.default)]
    if name in LIST_COLUMNS:
        return list(dict.fromkeys(mapped))
    if name in _NUMERIC:
        return _scaled(mapped[0], rule.scale, _NUMERIC[name]) if mapped else None
    return " ".join(mapped) if mapped else None


def _cells(value: Any, split: str | None) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value]
    text = str(value).strip()
    return [p.strip() for p in text.split(split)] if split else [text]


def _mapped(value: str, rule: FieldRule) -> str:
    if rule.values is None or value in rule.values:
        return rule.values[value].strip() if rule.values is not None else value
    return rule.otherwise.strip() if rule.otherwise is not None else value


def _scaled(value: str, scale: float | None, digits: int | None) -> Any:
    """The number scaled; a cell that is not a number passes through so validation reports it."""
    try:
        number = float(value) * (scale or 1.0)
    except ValueError:
        return value
    return round(number, digits) if digits is not None else int(round(number))
