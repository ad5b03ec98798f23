"""Upload bodies → raw row dicts, one at a time, from a file (never the whole body as objects).

A 50 MiB upload parsed into one list of dicts and then one list of models took 2.7 GB (issue 13);
reading rows lazily keeps only the current batch in memory. Problems with the body as a whole
(encoding, header, CSV syntax, JSON syntax or nesting) stop the read with a ``422`` naming the row;
problems with a row's values are left to the row models.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from typing import IO, Any

from screens.errors import InvalidInput, UnsupportedMediaType
from screens.schemas.upload_format import LIST_COLUMNS, LIST_SEPARATOR

CSV_TYPES = ("text/csv", "application/csv")
ERRORS_SHOWN = 100
MAX_JSON_ROW_CHARS = 1 << 20
_READ_CHARS = 1 << 16
_WS = re.compile(r"[ \t\n\r]*")

OPTIONAL_CSV = {
    "subcategory",
    "sale_price",
    "image_url",
    "complements",
    "colors",
    "style_tags",
    "min_spend",
    "daily_cap",
    "total_stock",
    "active",
}


def invalid(message: str, errors: list[dict[str, Any]]) -> InvalidInput:
    """The 422 of an upload: the first :data:`ERRORS_SHOWN` errors and how many there are in all."""
    return InvalidInput(message, errors=errors[:ERRORS_SHOWN], error_count=len(errors))


def media_type(content_type: str | None) -> str:
    """``csv`` or ``json``; a ``415`` for anything else (checked before the body is read)."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return "csv"
    if media == "application/json":
        return "json"
    raise UnsupportedMediaType(f"content type {media or 'none'!r} is not accepted; send text/csv or application/json")


def read_rows(body: IO[bytes], content_type: str | None, columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Raw rows of a CSV or JSON upload body; CSV list columns are split on ``LIST_SEPARATOR``."""
    if media_type(content_type) == "csv":
        return _csv_rows(body, columns)
    return _json_rows(body)


def _check_header(header: list[str], columns: Sequence[str]) -> None:
    seen: set[str] = set()
    errors = []
    for name in header:
        if name in seen:
            errors.append({"row": 0, "field": name, "message": "duplicate column"})
        seen.add(name)
    missing = [c for c in columns if c not in seen and c not in OPTIONAL_CSV]
    errors += [{"row": 0, "field": c, "message": "required column is missing"} for c in missing]
    errors += [{"row": 0, "field": h, "message": "unknown column"} for h in header if h not in columns]
    if errors:
        raise invalid("the CSV header does not match the template", errors)


def _csv_rows(body: IO[bytes], columns: Sequence[str]) -> Iterator[dict[str, Any]]:
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    row_number = 0
    try:
        header = [h.strip() for h in next(reader, [])]
        _check_header(header, columns)
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            row_number += 1
            yield _csv_row(header, values)
    except UnicodeDecodeError as exc:
        raise invalid("the CSV is not UTF-8", [{"row": row_number + 1, "field": None, "message": str(exc)}]) from exc
    except csv.Error as exc:  # e.g. a field over csv.field_size_limit() (131,072 characters)
        message = f"unreadable CSV at line {reader.line_num}: {exc}"
        raise invalid("the CSV is malformed", [{"row": row_number + 1, "field": None, "message": message}]) from exc
    finally:
        text.detach()  # the caller owns the file


def _csv_row(header: list[str], values: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in zip(header, values, strict=False):
        value = value.strip()
        if name in LIST_COLUMNS:
            row[name] = [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]
        elif value != "":
            row[name] = value
    if len(values) > len(header):
        row["__extra__"] = True
    return row


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        names = [k for k, _ in pairs]
        raise _DuplicateKey(f"duplicate key {next(k for k in names if names.count(k) > 1)!r}")
    return obj


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


class _JsonArray:
    """A JSON array read element by element with ``raw_decode`` over a sliding text buffer."""

    def __init__(self, body: IO[bytes]) -> None:
        self.text = io.TextIOWrapper(body, encoding="utf-8-sig")
        self.buf, self.pos, self.eof = "", 0, False

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(_READ_CHARS)
        if not chunk:
            self.eof = True
            return False
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        return True

    def peek(self) -> str | None:
        """The next character that is not whitespace (not consumed); None at the end."""
        while True:
            match = _WS.match(self.buf, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return None

    def value(self, row: int) -> Any:
        while True:
            try:
                value, self.pos = _DECODER.raw_decode(self.buf, self.pos)
                return value
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_JSON_ROW_CHARS:
                    raise _row_error(row, f"a row is longer than {MAX_JSON_ROW_CHARS} characters") from exc
                if not self.more():
                    raise _row_error(row, f"not valid JSON: {exc.msg}") from exc
            except _DuplicateKey as exc:
                raise _row_error(row, str(exc)) from exc
            except RecursionError as exc:
                raise _row_error(row, "nested too deeply; a row is one flat object") from exc


def _row_error(row: int, message: str) -> InvalidInput:
    return invalid("the body is not a valid JSON list of rows", [{"row": row, "field": None, "message": message}])


def _json_rows(body: IO[bytes]) -> Iterator[dict[str, Any]]:
    array = _JsonArray(body)
    try:
        yield from _json_elements(array)
    except UnicodeDecodeError as exc:
        raise _row_error(0, f"not UTF-8: {exc}") from exc
    finally:
        array.text.detach()


def _json_elements(array: _JsonArray) -> Iterator[dict[str, Any]]:
    if array.peek() != "[":
        raise _row_error(0, "expected a JSON array of objects")
    array.pos += 1
    row = 0
    if array.peek() == "]":
        array.pos += 1
    else:
        while True:
            row += 1
            value = array.value(row)
            if not isinstance(value, dict):
                raise _row_error(row, f"expected an object, got {type(value).__name__}")
            yield value
            after = array.peek()
            array.pos += 1
            if after == "]":
                break
            if after != ",":
                raise _row_error(row, "expected ',' or ']' after the row")
    if array.peek() is not None:
        raise _row_error(row, "data after the end of the list")
