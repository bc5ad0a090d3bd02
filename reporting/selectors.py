"""Reads of the reporting app: KPIs for a user (network breakdowns only for those who see every site), their
CSV rows, and KPI trend lines from the daily snapshots."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

from django.core.serializers.json import DjangoJSONEncoder

from core.db_router import reporting_reads
from governance import permissions
from governance.models import Site
from governance.services.sites import site_local_date

from .kpis import KPIS, KpiValue
from .models import KpiSnapshot
from .rollup import period_values

#: the columns of every KPI CSV (API and pages)
CSV_HEADER = [
    "site",
    "date_from",
    "date_to",
    "key",
    "label",
    "unit",
    "higher_is_better",
    "value",
    "numerator",
    "denominator",
    "breakdown",
]
HIDDEN_BREAKDOWN = {"hidden": "The network's breakdown names sites you cannot see; ask per site."}


def kpis_for(user, site: Site | None, date_from: date, date_to: date) -> list[KpiValue]:
    """Every KPI at ``site`` (None: the network) as ``user`` may read it. Network totals are for those who may
    see the network (permissions.can_see_network); their breakdowns list sites, operators and site rules of the
    whole network, so only users who see every site get them — the others get the totals alone."""
    with reporting_reads():  # the read replica when one is configured (core/db_router.py)
        values = period_values(site, date_from, date_to)  # past days from the snapshots where the KPI allows
    if site is None and permissions.site_ids_for(user) is not None:
        values = [replace(v, breakdown=HIDDEN_BREAKDOWN) for v in values]
    return values


def kpi_csv_rows(code: str | None, date_from: date, date_to: date, values: list[KpiValue]) -> Iterator[list]:
    """The CSV rows (CSV_HEADER's columns) of ``values`` computed for site ``code`` ("" for the network)."""
    for v in values:
        yield [
            code or "",
            date_from,
            date_to,
            v.key,
            v.label,
            v.unit,
            KPIS[v.key].higher_is_better,
            v.value,
            v.numerator,
            v.denominator,
            json.dumps(v.breakdown, cls=DjangoJSONEncoder, sort_keys=True),
        ]


def _default_until(site: Site | None) -> date:
    """Yesterday at ``site`` (its own calendar; the network: UTC): the last day a snapshot can be complete."""
    return site_local_date(site) - timedelta(days=1)


def trend(site: Site | None, key: str, days: int = 30, *, until: date | None = None) -> list[dict]:
    """The snapshots of KPI ``key`` at ``site`` (None: the network) for the ``days`` days ending with
    ``until`` (default: yesterday at the site), oldest first, one query. Days without a snapshot are absent (a trend
    line shows a gap, never an invented zero). Each point: date, value, numerator, denominator."""
    until = until or _default_until(site)
    since = until - timedelta(days=max(days, 1) - 1)
    qs = KpiSnapshot.objects.filter(key=key, date__gte=since, date__lte=until)
    qs = qs.filter(site__isnull=True) if site is None else qs.filter(site=site)
    with reporting_reads():
        rows = list(qs.order_by("date").values("date", "value", "numerator", "denominator"))
    return [
        {
            "date": row["date"],
            "value": None if row["value"] is None else float(row["value"]),
            "numerator": None if row["numerator"] is None else float(row["numerator"]),
            "denominator": None if row["denominator"] is None else float(row["denominator"]),
        }
        for row in rows
    ]


def trends(site: Site | None, keys: list[str], days: int = 30, *, until: date | None = None) -> dict[str, list]:
    """Trend lines of several KPIs at once (one query), for dashboard tiles: key -> points."""
    until = until or _default_until(site)
    since = until - timedelta(days=max(days, 1) - 1)
    qs = KpiSnapshot.objects.filter(key__in=keys, date__gte=since, date__lte=until)
    qs = qs.filter(site__isnull=True) if site is None else qs.filter(site=site)
    out: dict[str, list] = {key: [] for key in keys}
    with reporting_reads():
        rows = list(qs.order_by("key", "date").values("key", "date", "value", "numerator", "denominator"))
    for row in rows:
        out[row["key"]].append(
            {
                "date": row["date"],
                "value": None if row["value"] is None else float(row["value"]),
                "numerator": None if row["numerator"] is None else float(row["numerator"]),
                "denominator": None if row["denominator"] is None else float(row["denominator"]),
            }
        )
    return out
