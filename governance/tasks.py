"""Celery tasks of the alerts worker (``governance.tasks.*`` is routed to the ``alerts`` queue).

Thin wrappers around ``governance.services.alerts`` and ``.notifications``; each records a job run. All of
them are idempotent and safe to run on two workers at once, so a lost or repeated message changes nothing:
the next scheduled run finds the same durable state (open cases, due times, unsent notifications).
"""

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


@shared_task(name="governance.tasks.run_exception_sweeps", **RETRY)
def run_exception_sweeps() -> dict:
    """Periodic: every registered condition sweep (overdue receipts, late shipment risk, backorder aging,
    stale tasks ...) and the failed-jobs sweep; each records its own job run."""
    from governance.services.alerts import run_exception_sweeps as run

    return run()


@shared_task(name="governance.tasks.process_exception_alerts", **RETRY)
def process_exception_alerts() -> dict:
    """Periodic: announce new exceptions to their owners, escalate overdue ones, email critical ones now."""
    from governance.services.alerts import process_exception_alerts as process

    with record_job("exception_alerts") as counts:
        counts.update(process())
    return counts


@shared_task(name="governance.tasks.send_notification_digests", **RETRY)
def send_notification_digests() -> dict:
    """Periodic: one email per user with every notification not emailed yet."""
    from governance.services.notifications import send_notification_digests as send

    with record_job("notification_digest") as counts:
        counts.update(send())
    return counts


@shared_task(name="governance.tasks.purge_outbox", **RETRY)
def purge_outbox() -> dict:
    """Periodic: delete outbox rows done more than a few days ago and heartbeats of processes gone for a day."""
    from governance.services.heartbeats import purge_heartbeats
    from governance.services.outbox import purge_outbox as purge

    with record_job("outbox_purge") as counts:
        counts["outbox_rows"] = purge()
        counts["heartbeats"] = purge_heartbeats()
    return counts


@shared_task(name="governance.tasks.purge_idempotency_keys", **RETRY)
def purge_idempotency_keys() -> dict:
    """Periodic (governance/migrations/0007): delete Idempotency-Key records older than IDEMPOTENCY_KEY_TTL."""
    from core.api.idempotency import purge_expired_keys

    with record_job("idempotency_purge") as counts:
        counts["idempotency_records"] = purge_expired_keys()
    return counts


@shared_task(name="governance.tasks.deliver_outbox_event", **RETRY)
def deliver_outbox_event(outbox_id: int) -> int:
    """An EVENT row of the outbox: hand it to its subscribers (idempotent subscribers; a row may come twice)."""
    from governance.services.outbox import deliver_event

    return deliver_event(outbox_id)


@shared_task(name="governance.tasks.deliver_webhook", **RETRY)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt of a webhook delivery (enqueued through the outbox; retries are new delayed outbox rows)."""
    from governance.services.webhooks import deliver

    return deliver(delivery_id)
