"""KPI pages: every KPI of KPIS.md for one site (value, numerator, denominator, breakdown, period filter, CSV)
and the network view (every site side by side on the same definitions, for those who may see the network).

The figures come from ``reporting.kpis`` (the functions the API and the snapshots use); who may see what from
``governance.permissions``: a site the user cannot see is a 404, the network view without the right a 403.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from core.downloads import csv_download
from core.errors import DomainError
from governance import permissions
from governance.models import Site
from reporting.api.views import MAX_DAYS, period_from_query
from reporting.dashboard import format_number, format_value, local_today, trend_chart
from reporting.kpis import KPIS
from reporting.selectors import CSV_HEADER, kpi_csv_rows, kpis_for, trends
from reporting.services import local_yesterday

from ..workspace import site_page


def _presets(site: Site | None) -> list[tuple[str, str]]:
    """Quick period links: (label, query string)."""
    today = local_today(site)
    yesterday = local_yesterday(site)
    month_start = today.replace(day=1)
    return [
        ("Today", f"date_from={today}&date_to={today}"),
        ("Last 7 days", f"date_from={today - timedelta(days=6)}&date_to={today}"),
        ("Last 30 days (to yesterday)", f"date_from={yesterday - timedelta(days=29)}&date_to={yesterday}"),
        ("Month to date", f"date_from={month_start}&date_to={today}"),
        ("Last 365 days", f"date_from={yesterday - timedelta(days=364)}&date_to={yesterday}"),
    ]


def _period(request, site):
    """(date_from, date_to, error message or None): the API's period rules, refusals in its words."""
    try:
        date_from, date_to = period_from_query(request.GET, site)
    except DomainError as exc:
        date_to = local_yesterday(site)
        return date_to - timedelta(days=29), date_to, exc.message
    return date_from, date_to, None


def _cell(x) -> str:
    if isinstance(x, dict | list):
        return json.dumps(x, cls=DjangoJSONEncoder, sort_keys=True)
    if isinstance(x, float | int) and not isinstance(x, bool):
        return format_number(x)
    return "—" if x is None else str(x)


def breakdown_sections(breakdown: dict) -> list[dict]:
    """A breakdown as display sections: a list of rows becomes a table, anything else a 'name: value' line."""
    sections = []
    for name, value in breakdown.items():
        title = name.replace("_", " ")
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            columns: list[str] = []
            for r in value:
                columns += [c for c in r if c not in columns]
            sections.append(
                {
                    "title": title,
                    "columns": [c.replace("_", " ") for c in columns],
                    "rows": [[_cell(r.get(c)) for c in columns] for r in value],
                }
            )
        elif isinstance(value, dict):
            sections.append({"title": title, "text": ", ".join(f"{k}: {_cell(x)}" for k, x in value.items())})
        else:
            sections.append({"title": title, "text": _cell(value) if value != [] else "none"})
    return sections


def _row(v, trend: list[dict] | None = None) -> dict:
    chart = trend_chart(v.key, v.unit, trend or [])
    return {
        "trend_id": f"trend-{v.key}",
        "trend_days": len(chart["x"]),
        "trend_json": json.dumps(chart),
        "key": v.key,
        "label": v.label,
        "unit": v.unit,
        "value": v.value,
        "display": format_value(v.value, v.unit),
        "numerator": format_number(v.numerator),
        "denominator": "" if v.denominator is None else format_number(v.denominator),
        "breakdown": breakdown_sections(v.breakdown or {}),
        "higher_is_better": KPIS[v.key].higher_is_better,
    }


@site_page()
def kpi_site(request, code=None, *, site):
    """The KPIs of the current site, or of site ``code`` (404 when the user cannot see it)."""
    if code is not None:
        site = Site.objects.filter(code=code).first()
        if site is None or not permissions.can_see_site(request.user, site):
            raise Http404("No such site.")
    date_from, date_to, error = _period(request, site)
    values = kpis_for(request.user, site, date_from, date_to)
    if request.GET.get("format") == "csv" and error is None:
        rows = kpi_csv_rows(site.code, date_from, date_to, values)
        return csv_download(f"kpis-{site.code}-{date_from}-{date_to}", CSV_HEADER, rows)
    here = reverse("web:kpi-site-code", args=[site.code])
    # the daily snapshots of the period as one trend line per KPI (today has none until tonight)
    lines = trends(site, [v.key for v in values], days=(date_to - date_from).days + 1, until=date_to)
    context = {
        "site": site,
        "rows": [_row(v, lines.get(v.key)) for v in values],
        "date_from": date_from,
        "date_to": date_to,
        "error": error,
        "max_days": MAX_DAYS,
        "presets": _presets(site),
        "here": here,
        "csv_url": f"{here}?date_from={date_from}&date_to={date_to}&format=csv",
        "can_see_network": permissions.can_see_network(request.user),
        "crumbs": [(f"KPIs {site.code}", None)],
    }
    return render(request, "web/kpis/site.html", context, status=422 if error else 200)


@site_page()
def kpi_network(request, *, site):
    """Every KPI of every site the user can see, side by side, with the network total (admins and regional
    managers: ``permissions.can_see_network``)."""
    if not permissions.can_see_network(request.user):
        return render(
            request,
            "web/forbidden.html",
            {"message": "The network view is for admins and regional managers."},
            status=403,
        )
    date_from, date_to, error = _period(request, None)
    sites = list(permissions.visible_sites(request.user).filter(active=True).order_by("code"))
    per_site = [(s, kpis_for(request.user, s, date_from, date_to)) for s in sites]
    network = kpis_for(request.user, None, date_from, date_to)
    if request.GET.get("format") == "csv" and error is None:

        def rows():
            for s, values in per_site:
                yield from kpi_csv_rows(s.code, date_from, date_to, values)
            yield from kpi_csv_rows("", date_from, date_to, network)

        return csv_download(f"kpis-network-{date_from}-{date_to}", CSV_HEADER, rows())
    # the network's daily snapshots of the period as one trend line per KPI, as on the site page (the default
    # period ends yesterday in UTC, the network's last snapshotted day: today has none until tonight)
    lines = trends(None, [v.key for v in network], days=(date_to - date_from).days + 1, until=date_to)
    table = []
    for i, (key, d) in enumerate(KPIS.items()):
        cells = [_row(values[i]) for _, values in per_site]
        table.append(
            {
                "key": key,
                "label": d.label,
                "unit": d.unit,
                "higher_is_better": d.higher_is_better,
                "cells": cells,
                "network": _row(network[i], lines.get(network[i].key)),
            }
        )
    here = reverse("web:kpi-network")
    context = {
        "sites": sites,
        "table": table,
        "date_from": date_from,
        "date_to": date_to,
        "error": error,
        "max_days": MAX_DAYS,
        "presets": _presets(None),
        "here": here,
        "csv_url": f"{here}?date_from={date_from}&date_to={date_to}&format=csv",
        "crumbs": [("KPIs", reverse("web:kpi-site")), ("Network", None)],
    }
    return render(request, "web/kpis/network.html", context, status=422 if error else 200)
