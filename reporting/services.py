"""Writes of the reporting app: daily KPI snapshots (idempotent upserts)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from governance.models import Site
from governance.services.sites import site_local_date

from .kpis import KPIS, KpiValue, compute_all
from .models import KpiSnapshot

SNAPSHOT_FIELDS = ["value", "numerator", "denominator", "unit", "breakdown", "computed_at"]


def _decimal(x) -> Decimal | None:
    return None if x is None else Decimal(str(x)).quantize(Decimal("0.0001"))


def _json(breakdown: dict) -> dict:
    import json

    return json.loads(json.dumps(breakdown, cls=DjangoJSONEncoder))


def local_yesterday(site: Site | None, now: datetime | None = None) -> date:
    """The last complete day at ``site`` (in its time zone; the network: UTC)."""
    return site_local_date(site, now) - timedelta(days=1)


def snapshot_rows(site: Site | None, day: date, values: list[KpiValue]) -> list[KpiSnapshot]:
    now = timezone.now()
    return [
        KpiSnapshot(
            site=site,
            key=v.key,
            date=day,
            value=_decimal(v.value),
            numerator=_decimal(v.numerator),
            denominator=_decimal(v.denominator),
            unit=v.unit,
            breakdown=_json(v.breakdown),
            computed_at=now,
        )
        for v in values
        if KPIS[v.key].trend
    ]


@transaction.atomic
def store_snapshots(site: Site | None, day: date) -> int:
    """Compute every trended KPI for ``site`` (None: the network) on ``day`` and upsert one snapshot per KPI:
    running it again updates the rows, never duplicates them. Returns the number of rows written."""
    rows = snapshot_rows(site, day, compute_all(site, day, day))
    KpiSnapshot.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["site", "key", "date"], update_fields=SNAPSHOT_FIELDS
    )
    return len(rows)


def snapshot_all(*, day: date | None = None, now: datetime | None = None) -> dict:
    """Snapshot every active site (its own yesterday, or ``day``) and the network (UTC yesterday, or ``day``)."""
    counts = {"sites": 0, "rows": 0}
    for site in Site.objects.filter(active=True).order_by("code"):
        counts["rows"] += store_snapshots(site, day or local_yesterday(site, now))
        counts["sites"] += 1
    counts["rows"] += store_snapshots(None, day or local_yesterday(None, now))
    counts["network"] = 1
    return counts
