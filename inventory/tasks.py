"""Celery tasks of the inventory app: thin, idempotent wrappers around services and selectors."""

from __future__ import annotations

import re
from collections import defaultdict

from celery import shared_task
from django.db import OperationalError

from governance.models import Site
from governance.services import open_exception, record_job, resolve_exceptions_for_subject
from inventory.models import Location, StockLevel, StockQuant
from inventory.selectors import Drift, find_inventory_drift

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "acks_late": True,
}

DRIFT_CODE = "LEDGER_DRIFT"
#: how many mismatches an exception case lists in its details (the job run has the full count)
DETAILS_LIMIT = 50

_SITE = re.compile(r"\bsite=(\d+)")
_LOCATION = re.compile(r"\blocation=(\d+)")
_QUANT = re.compile(r"\bquant[ =](\d+)")
_LEVEL = re.compile(r"\blevel[ =](\d+)")


def drift_site_ids(drifts: list[Drift]) -> list[int | None]:
    """The site each drift belongs to (None when its key names no site, location, quant or level)."""
    keys = [d.key for d in drifts]
    location_ids = {int(m.group(1)) for k in keys if (m := _LOCATION.search(k))}
    quant_ids = {int(m.group(1)) for k in keys if (m := _QUANT.search(k))}
    level_ids = {int(m.group(1)) for k in keys if (m := _LEVEL.search(k))}
    location_site = dict(Location.objects.filter(pk__in=location_ids).values_list("pk", "site_id"))
    quant_site = dict(StockQuant.objects.filter(pk__in=quant_ids).values_list("pk", "site_id"))
    level_site = dict(StockLevel.objects.filter(pk__in=level_ids).values_list("pk", "site_id"))
    out: list[int | None] = []
    for key in keys:
        if m := _SITE.search(key):
            out.append(int(m.group(1)))
        elif m := _LOCATION.search(key):
            out.append(location_site.get(int(m.group(1))))
        elif m := _QUANT.search(key):
            out.append(quant_site.get(int(m.group(1))))
        elif m := _LEVEL.search(key):
            out.append(level_site.get(int(m.group(1))))
        else:
            out.append(None)
    return out


def reconcile_inventory_now(*, user=None) -> dict:
    """Compare every balance with the ledger; open one LEDGER_DRIFT exception per site with drift (at most one
    open case per site), and resolve the open case of a site that is consistent again. Returns the counts."""
    with record_job("reconcile_inventory", requested_by=user) as counts:
        drifts = find_inventory_drift()
        by_site: dict[int | None, list[Drift]] = defaultdict(list)
        for drift, site_id in zip(drifts, drift_site_ids(drifts), strict=True):
            by_site[site_id].append(drift)
        opened = 0
        for site in Site.objects.filter(pk__in=[s for s in by_site if s is not None]).order_by("code"):
            found = by_site[site.pk]
            _, created = open_exception(
                site=site,
                code=DRIFT_CODE,
                subject=site,
                summary=f"{len(found)} balance(s) at {site.code} differ from the ledger; run verify_inventory.",
                details={"drifts": [str(d) for d in found[:DETAILS_LIMIT]], "count": len(found)},
                user=user,
            )
            opened += int(created)
        resolved = 0
        for site in Site.objects.exclude(pk__in=[s for s in by_site if s is not None]).order_by("code"):
            resolved += resolve_exceptions_for_subject(
                subject=site, code=DRIFT_CODE, note="Reconciliation found every balance equal to the ledger.", user=user
            )
        counts.update(
            {
                "drifts": len(drifts),
                "sites_with_drift": len([s for s in by_site if s is not None]),
                "drifts_without_site": len(by_site.get(None, [])),
                "exceptions_opened": opened,
                "exceptions_resolved": resolved,
            }
        )
    return counts


@shared_task(name="inventory.tasks.reconcile_inventory", **RETRY)
def reconcile_inventory() -> dict:
    """Periodic (daily): recompute every balance from the ledger, record the run, raise LEDGER_DRIFT per site.

    Idempotent: a second run finds the same drift and the case already open, and changes nothing but its run row.
    """
    return reconcile_inventory_now()


@shared_task(name="inventory.tasks.create_daily_counts", **RETRY)
def create_daily_counts() -> dict:
    """Periodic (daily): plan the day's cycle count at every active site (triggered counts plus each ABC class's
    daily share). Idempotent: one planned count per site and day; a second run creates nothing."""
    from inventory.services.counts_planning import create_daily_counts as plan

    return plan()
