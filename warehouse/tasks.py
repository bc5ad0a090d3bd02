"""Celery tasks of the warehouse app: thin, idempotent wrappers around services."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from governance.services import record_job


@shared_task(
    name="warehouse.tasks.late_shipment_risk_sweep",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def late_shipment_risk_sweep() -> dict:
    """Periodic: LATE_SHIPMENT_RISK for unshipped orders within their site's warning window."""
    from warehouse.services import sweep_late_shipment_risk

    with record_job("late_shipment_risk_sweep") as counts:
        counts.update(sweep_late_shipment_risk())
    return counts


@shared_task(
    name="warehouse.tasks.replenish_pick_faces_sweep",
    queue="replenishment",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    acks_late=True,
)
def replenish_pick_faces_sweep(site_id: int | None = None) -> dict:
    """Periodic (replenishment worker): refill tasks for every pick face at or below its min. Idempotent:
    refills on the way count toward a face's level."""
    from warehouse.services.replenishment import sweep_pick_faces

    with record_job("pick_face_replenishment") as counts:
        counts.update(sweep_pick_faces(site_id=site_id))
    return counts
