"""Reads of the reporting app: KPI trend lines from the daily snapshots."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from governance.models import Site

from .models import KpiSnapshot


def trend(site: Site | None, key: str, days: int = 30, *, until: date | None = None) -> list[dict]:
    """The snapshots of KPI ``key`` at ``site`` (None: the network) for the ``days`` days ending with
    ``until`` (default: yesterday), oldest first, one query. Days without a snapshot are absent (a trend
    line shows a gap, never an invented zero). Each point: date, value, numerator, denominator."""
    until = until or timezone.now().date() - timedelta(days=1)
    since = until - timedelta(days=max(days, 1) - 1)
    qs = KpiSnapshot.objects.filter(key=key, date__gte=since, date__lte=until)
    qs = qs.filter(site__isnull=True) if site is None else qs.filter(site=site)
    return [
        {
            "date": row["date"],
            "value": None if row["value"] is None else float(row["value"]),
            "numerator": None if row["numerator"] is None else float(row["numerator"]),
            "denominator": None if row["denominator"] is None else float(row["denominator"]),
        }
        for row in qs.order_by("date").values("date", "value", "numerator", "denominator")
    ]


def trends(site: Site | None, keys: list[str], days: int = 30, *, until: date | None = None) -> dict[str, list]:
    """Trend lines of several KPIs at once (one query), for dashboard tiles: key -> points."""
    until = until or timezone.now().date() - timedelta(days=1)
    since = until - timedelta(days=max(days, 1) - 1)
    qs = KpiSnapshot.objects.filter(key__in=keys, date__gte=since, date__lte=until)
    qs = qs.filter(site__isnull=True) if site is None else qs.filter(site=site)
    out: dict[str, list] = {key: [] for key in keys}
    for row in qs.order_by("key", "date").values("key", "date", "value", "numerator", "denominator"):
        out[row["key"]].append(
            {
                "date": row["date"],
                "value": None if row["value"] is None else float(row["value"]),
                "numerator": None if row["numerator"] is None else float(row["numerator"]),
                "denominator": None if row["denominator"] is None else float(row["denominator"]),
            }
        )
    return out
