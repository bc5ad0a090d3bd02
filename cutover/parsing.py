"""Reading an import file row by row: CSV (UTF-8, a byte-order mark tolerated), XLSX (the first sheet, read-only
streaming) and JSON rows. Pure: no database. Each reader yields ``(row number, {column: cell})``; the header is
row 1 of a CSV or XLSX file; a JSON row's number is its position counted from 1. Blank rows and comment rows (first
cell starting with ``#``, as in the templates) are skipped. A file that cannot be read raises :class:`FileProblem`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime

csv.field_size_limit(1_000_000)


class FileProblem(Exception):
    def __init__(self, message: str, *, row: int = 0, code: str = "unreadable"):
        super().__init__(message)
        self.message = message
        self.row = row
        self.code = code


#: set on a row with more cells than the header has columns (the row is refused)
EXTRA = "__extra_cells__"
Rows = Iterator[tuple[int, dict[str, object]]]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _skip(cells: list[str]) -> bool:
    return not any(c.strip() for c in cells) or cells[0].strip().startswith("#")


def header_of(content: bytes, fmt: str) -> list[str]:
    """The header row's column names (JSON: the keys of every row, in order of first appearance)."""
    if fmt == "JSON":
        names: dict[str, None] = {}
        for _, row in iter_rows(content, fmt):
            names.update(dict.fromkeys(row))
        return list(names)
    reader = _raw_rows(content, fmt)
    for _, cells in reader:
        if not _skip(cells):
            return [c.strip().lower() for c in cells]
    raise FileProblem("The file is empty: it needs a header row.", code="empty")


def _raw_rows(content: bytes, fmt: str) -> Iterator[tuple[int, list[str]]]:
    if fmt == "CSV":
        text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
        reader = csv.reader(text)
        number = 0
        try:
            for cells in reader:
                number = reader.line_num
                yield number, cells
        except UnicodeDecodeError:
            raise FileProblem("The file is not UTF-8 text; save it as CSV UTF-8.", row=number + 1, code="encoding")
        except csv.Error as exc:
            raise FileProblem(f"The CSV cannot be read: {exc}.", row=number + 1, code="malformed")
    elif fmt == "XLSX":
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except (InvalidFileException, KeyError, ValueError, OSError) as exc:
            raise FileProblem(f"The file is not an Excel workbook (.xlsx): {exc}.", code="malformed")
        except Exception as exc:  # zipfile.BadZipFile and openpyxl's parse errors have no common base
            raise FileProblem(f"The workbook cannot be read: {exc.__class__.__name__}.", code="malformed")
        try:
            sheet = book.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell(v) for v in values]
        finally:
            book.close()
    else:  # pragma: no cover - formats are checked on upload
        raise FileProblem(f"Unknown format {fmt}.")


def iter_rows(content: bytes, fmt: str) -> Rows:
    if fmt == "JSON":
        try:
            rows = json.loads(content)
        except ValueError:
            raise FileProblem("The rows are not JSON.", code="malformed")
        if not isinstance(rows, list):
            raise FileProblem("The rows must be a list of objects.", code="malformed")
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise FileProblem(f"Row {number} is not an object.", row=number, code="malformed")
            yield number, {str(k).strip().lower(): _cell(v) for k, v in row.items()}
        return
    header = None
    for number, cells in _raw_rows(content, fmt):
        if _skip(cells):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            continue
        row = dict(zip(header, cells, strict=False))
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            row[EXTRA] = "yes"
        yield number, row
    if header is None:
        raise FileProblem("The file is empty: it needs a header row.", code="empty")


def count_rows(content: bytes, fmt: str) -> int:
    return sum(1 for _ in iter_rows(content, fmt))


def detect_format(file_name: str, content: bytes) -> str | None:
    name = file_name.lower()
    if name.endswith(".xlsx") or content[:4] == b"PK\x03\x04":
        return "XLSX"
    if name.endswith((".csv", ".txt")) or not name:
        return "CSV"
    return None
