"""Celery tasks of the allocation worker: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from governance.services import record_job

RETRY = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(name="orders.tasks.allocate_order_task", **RETRY)
def allocate_order_task(order_id: int) -> dict:
    """Allocate one released order (rows written before releases were batched by site). Safe to run twice: a
    second run finds nothing left to allocate."""
    from orders.services import allocate_orders

    return allocate_orders([order_id])


@shared_task(name="orders.tasks.allocate_released_task", soft_time_limit=20, time_limit=25, **RETRY)
def allocate_released_task(site_id: int) -> dict:
    """Allocate the site's released orders waiting for their first allocation, in batches, highest priority
    first (what a release triggers). Safe to run twice: a second run finds nothing waiting."""
    from orders.services.allocation import allocate_released

    return allocate_released(site_id)


@shared_task(name="orders.tasks.fill_backorders_task", **RETRY)
def fill_backorders_task(site_id: int | None = None, item_ids: list[int] | None = None) -> dict:
    """Stock became available (or allocations were given back): fill waiting lines of those items."""
    from orders.services import fill_backorders

    return fill_backorders(item_ids=item_ids)


@shared_task(name="orders.tasks.allocation_sweep", **RETRY)
def allocation_sweep() -> dict:
    """Periodic: allocate every released order that still has open lines (catches lost tasks)."""
    from orders.services import fill_backorders

    with record_job("allocation_sweep") as counts:
        counts.update(fill_backorders())
    return counts


@shared_task(name="orders.tasks.reconcile_allocations_task", **RETRY)
def reconcile_allocations_task() -> dict:
    """Periodic: recompute allocated counters from allocation rows; repair and report drift."""
    from orders.services import reconcile_allocations

    with record_job("reconcile_allocations") as counts:
        counts.update(reconcile_allocations())
    return counts


@shared_task(name="orders.tasks.overdue_receipts_sweep", **RETRY)
def overdue_receipts_sweep() -> dict:
    """Periodic: OVERDUE_RECEIPT exceptions for purchase order lines past expected date plus grace."""
    from orders.services.purchasing import sweep_overdue_receipts

    with record_job("overdue_receipts_sweep") as counts:
        counts.update(sweep_overdue_receipts())
    return counts


@shared_task(name="orders.tasks.replenish_site", **RETRY)
def replenish_site(run_id: int) -> dict:
    """Plan one queued replenishment run (replenishment worker). Safe to run twice: a planned run is left as
    it is, and a site's open suggestions are updated in place, never duplicated."""
    from orders.services.replenishment import execute_run

    run = execute_run(run_id=run_id)
    return dict(run.counts) if run is not None else {}


@shared_task(name="orders.tasks.replenish_all_sites", **RETRY)
def replenish_all_sites() -> dict:
    """Periodic: queue a planning run for every site with active replenishment policies."""
    from orders.services.replenishment import schedule_runs

    with record_job("replenishment.schedule") as counts:
        counts.update(schedule_runs())
    return counts
