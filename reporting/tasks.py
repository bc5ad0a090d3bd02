"""Celery tasks of the reporting app: thin, idempotent wrappers around services."""

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


def snapshot_kpis_now(*, day=None, user=None) -> dict:
    """Store yesterday's KPI values (every active site in its own time zone, and the network); recorded as a
    ``snapshot_kpis`` job run. Idempotent: a re-run updates the same rows."""
    from reporting.services import snapshot_all

    with record_job("snapshot_kpis", requested_by=user) as counts:
        counts.update(snapshot_all(day=day))
    return counts


@shared_task(name="reporting.tasks.snapshot_kpis", **RETRY)
def snapshot_kpis() -> dict:
    """Periodic (daily): snapshot yesterday's KPIs for the trend lines."""
    return snapshot_kpis_now()
