"""CSV downloads shared by the pages and the API (the lists' CSV, the KPI reports): streamed row by row, with
formula-like cells neutralised (a cell starting with ``=``, ``+``, ``-``, ``@`` that is not a number gets a
leading quote, so a spreadsheet never runs it)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.formats import date_format

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value):
        return value


def csv_stream(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """CSV text, row by row (for StreamingHttpResponse); formula-like cells are neutralised."""
    writer = csv.writer(_Echo())
    yield writer.writerow([_safe(h) for h in header])
    for row in rows:
        yield writer.writerow([_safe(display_value(v, csv=True)) for v in row])


def csv_download(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _safe(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def display_value(value: Any, *, csv: bool = False) -> str:
    """A cell as text: dates in the locale's format (ISO in CSV), decimals without trailing zeros, yes/no."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.isoformat(timespec="seconds") if csv else date_format(value, "DATETIME_FORMAT")
    if isinstance(value, date):
        return value.isoformat() if csv else date_format(value, "DATE_FORMAT")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
