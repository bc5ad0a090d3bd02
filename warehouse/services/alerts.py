"""Exception sweeps of the warehouse app, registered with the alerts worker in ``WarehouseConfig.ready()``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from governance.models import Site
from governance.services.alerts import Finding, register_sweep, sync_condition_exceptions
from governance.services.rules import get_rule_for_sites
from warehouse.models import PickTask, PutawayTask


def _age_text(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24} days {hours % 24} hours" if hours >= 24 else f"{hours} hours"


def sweep_stale_tasks(*, now: datetime | None = None) -> dict:
    """STALE_TASK for pick tasks open longer than ``exceptions.stale_pick_task_hours`` since the wave released
    them, and putaway tasks open longer than ``exceptions.stale_putaway_task_hours`` since they were created;
    resolved once the task is confirmed or cancelled. Idempotent."""
    now = now or timezone.now()
    site_ids = list(Site.objects.values_list("pk", flat=True))
    counts: dict[str, int] = {}
    for model, rule, what in (
        (PickTask, "exceptions.stale_pick_task_hours", "Pick"),
        (PutawayTask, "exceptions.stale_putaway_task_hours", "Putaway"),
    ):
        hours = get_rule_for_sites(rule, site_ids)
        findings = []
        if hours:
            tasks = (
                model.objects.filter(
                    status=model.Status.OPEN, created_at__lt=now - timedelta(hours=min(hours.values()))
                )
                .select_related("site", "item")
                .order_by("pk")
            )
            for task in tasks:
                age = now - task.created_at
                if age <= timedelta(hours=hours[task.site_id]):
                    continue
                findings.append(
                    Finding(
                        site=task.site,
                        subject=task,
                        summary=f"{what} task {task.pk} ({task.quantity} {task.item.sku}) open for {_age_text(age)} "
                        f"(site allows {hours[task.site_id]} hours).",
                        details={"task": task.pk, "kind": what.lower(), "created_at": task.created_at.isoformat()},
                    )
                )
        result = sync_condition_exceptions(
            code="STALE_TASK",
            model=model,
            findings=findings,
            now=now,
            cleared_note=f"The {what.lower()} task is no longer open.",
        )
        for key, value in result.items():
            counts[f"{what.lower()}_{key}"] = value
    return counts


def register_sweeps() -> None:
    from .outbound import sweep_late_shipment_risk

    register_sweep("stale_tasks", sweep_stale_tasks)
    register_sweep("late_shipment_risk", sweep_late_shipment_risk)
