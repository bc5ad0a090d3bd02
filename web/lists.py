"""Lists of the browser pages: one declarative helper so that every list is paginated, sortable, filterable and
exportable as CSV in the same way.

A view declares its columns and filters and hands a queryset (already restricted to what the user may see) to
``ListPage``; ``ListPage.respond`` renders the page, or streams every matching row as CSV when the request asks for
``?format=csv``. The generic template ``web/_table.html`` draws the filter form, the sortable headers, the rows and
the pager, so a page template only has to ``{% include "web/_table.html" %}``.

Sorting and filtering happen in the database; unknown sort keys and filter values are ignored (the list falls back
to its default order) rather than failing, as a bookmarked URL can outlive a column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date

from core.downloads import csv_stream, display_value

PAGE_SIZE = 25
CSV_CHUNK = 2000
# Cells a spreadsheet would run as a formula (CSV injection); they are exported with a leading quote.


@dataclass(frozen=True)
class Column:
    """One column: ``value(obj)`` gives what is shown and exported; ``order_by`` (a field path) makes it sortable;
    ``link(obj)`` makes the cell a link; ``css`` is a class for the cell (e.g. ``num`` for right alignment).
    ``order_by`` may be a tuple of field paths (e.g. severity rank then age); descending flips each of them."""

    key: str
    label: str
    value: Callable[[Any], Any]
    order_by: str | tuple[str, ...] | None = None
    link: Callable[[Any], str | None] | None = None
    css: str = ""
    csv: bool = True


@dataclass(frozen=True)
class Filter:
    """A filter in the form above the list. ``kind``: ``text`` (``lookup`` e.g. ``number__icontains``), ``choice``
    (``choices`` as (value, label) pairs; unknown values are ignored), ``date_from`` / ``date_to`` (a date compared
    with ``lookup`` e.g. ``created_at__date__gte``). ``apply`` replaces the lookup with a function (qs, value) -> qs
    for filters that are not a single lookup. ``default`` applies when the parameter is absent from the URL (an empty
    value still means "all"); ``hidden`` keeps the value in the form without drawing it (e.g. status tabs)."""

    name: str
    label: str
    lookup: str = ""
    kind: str = "text"
    choices: Sequence[tuple[str, str]] = ()
    apply: Callable[[QuerySet, Any], QuerySet] | None = None
    default: str = ""
    hidden: bool = False


@dataclass
class Cell:
    text: str
    url: str | None = None
    css: str = ""


@dataclass
class ListPage:
    request: HttpRequest
    queryset: QuerySet
    columns: Sequence[Column]
    filters: Sequence[Filter] = ()
    default_sort: str = ""
    page_size: int = PAGE_SIZE
    csv_name: str = "export"
    values: dict[str, str] = field(init=False)
    sort: str = field(init=False)

    def __post_init__(self):
        self.values = {}
        qs = self._apply_filters(self.queryset)
        sortable = {c.key: c.order_by for c in self.columns if c.order_by}
        sort = self.request.GET.get("sort") or self.default_sort
        key = sort.removeprefix("-")
        if key not in sortable:
            sort = self.default_sort
            key = sort.removeprefix("-")
        self.sort = sort
        if key in sortable:
            ordering = sortable[key]
            fields = ordering if isinstance(ordering, tuple) else (ordering,)
            if sort.startswith("-"):
                fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
            qs = qs.order_by(*fields, "-pk")
        elif not qs.ordered:
            qs = qs.order_by("-pk")
        self.filtered = qs

    def _apply_filters(self, qs: QuerySet, skip: Sequence[str] = (), record: bool = True) -> QuerySet:
        for flt in self.filters:
            if flt.name in skip:
                continue
            raw = self.request.GET.get(flt.name)
            raw = flt.default if raw is None else raw.strip()
            if not raw:
                if record and flt.default and flt.name in self.request.GET:
                    self.values[flt.name] = ""  # "all", chosen against the default: keep it in the links
                continue
            value: Any = raw
            if flt.kind == "choice" and raw not in {str(v) for v, _ in flt.choices}:
                continue
            if flt.kind in ("date_from", "date_to"):
                value = _date_or_none(raw)
                if value is None:
                    continue
            if record:
                self.values[flt.name] = raw
            qs = flt.apply(qs, value) if flt.apply else qs.filter(**{flt.lookup: value})
        return qs

    def filtered_except(self, *names: str) -> QuerySet:
        """The queryset with every filter but ``names`` applied (e.g. for counts on status tabs), unsorted."""
        return self._apply_filters(self.queryset, skip=names, record=False)

    def query_without(self, *names: str) -> str:
        """The current query string without the parameters ``names`` (and without the page)."""
        return self._query(**dict.fromkeys(names, ""), page="")

    # --- query-string helpers for the template --------------------------------------------------------------

    def _query(self, **overrides) -> str:
        params = {**self.values, "sort": self.sort, **overrides}
        keep_empty = {k for k, v in self.values.items() if v == "" and k not in overrides}
        return urlencode({k: v for k, v in params.items() if v or k in keep_empty})

    def context(self) -> dict:
        page = Paginator(self.filtered, self.page_size).get_page(self.request.GET.get("page"))
        headers = []
        for col in self.columns:
            url = None
            arrow = ""
            if col.order_by:
                current = self.sort.removeprefix("-") == col.key
                descending = self.sort.startswith("-")
                url = "?" + self._query(sort=(f"-{col.key}" if current and not descending else col.key), page="")
                if current:
                    arrow = " ▼" if descending else " ▲"
            headers.append({"label": col.label, "url": url, "arrow": arrow, "css": col.css})
        rows = [self._cells(obj) for obj in page.object_list]
        return {
            "table": {
                "headers": headers,
                "rows": list(zip(page.object_list, rows, strict=True)),
                "filters": [
                    {"filter": f, "value": self.values.get(f.name, ""), "input": _input_type(f)} for f in self.filters
                ],
                "sort": self.sort,
                "filtered": bool(self.values),
                "csv_url": "?" + self._query(format="csv"),
                "colspan": len(self.columns),
            },
            "page_obj": page,
            "keep": self._query(),
        }

    def _cells(self, obj) -> list[Cell]:
        cells = []
        for col in self.columns:
            text = display_value(col.value(obj))
            cells.append(Cell(text=text, url=col.link(obj) if col.link else None, css=col.css))
        return cells

    # --- responses --------------------------------------------------------------------------------------------

    def respond(self, template: str, context: dict | None = None) -> HttpResponse:
        if self.request.GET.get("format") == "csv":
            return self.csv_response()
        return render(self.request, template, {**self.context(), **(context or {})})

    def csv_response(self) -> StreamingHttpResponse:
        columns = [c for c in self.columns if c.csv]
        response = StreamingHttpResponse(
            csv_stream([c.label for c in columns], self._csv_rows(columns)), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_name}-{stamp}.csv"'
        return response

    def _csv_rows(self, columns) -> Iterator[list[str]]:
        qs = self.filtered
        # Prefetches need a chunk size with iterator(); select_related works either way.
        for obj in qs.iterator(chunk_size=CSV_CHUNK):
            yield [display_value(c.value(obj), csv=True) for c in columns]


def _date_or_none(raw: str):
    try:
        return parse_date(raw)
    except ValueError:
        return None


def _input_type(flt: Filter) -> str:
    if flt.hidden:
        return "hidden"
    return {"date_from": "date", "date_to": "date", "choice": "select"}.get(flt.kind, "text")
