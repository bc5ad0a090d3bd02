"""Periodic jobs that load_demo (and the run command) make sure exist in django-celery-beat's tables.

The rows are created once and never overwritten, so a schedule changed in admin (Periodic tasks) stays as
the admin left it; a job that already has a schedule under another name is left alone too. The migrations
create the same rows (same names), so a deployment that never runs load_demo has them as well.
"""

from __future__ import annotations

#: (name, task, crontab minute, crontab hour, queue)
CRON_TASKS = [
    (
        "Reconcile inventory balances with the ledger (daily)",
        "inventory.tasks.reconcile_inventory",
        "30",
        "2",
        "default",
    ),
    (
        # the row reporting/migrations/0002 + 0003 create (same name: never twice)
        "Snapshot each site's yesterday's KPIs (hourly: soon after each site's midnight)",
        "reporting.tasks.snapshot_kpis",
        "15",
        "*",
        "default",
    ),
]


def ensure_periodic_tasks() -> int:
    """Create the missing periodic tasks; returns how many were created (0 on every later run)."""
    from django.db.models import Q
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = 0
    for name, task, minute, hour, queue in CRON_TASKS:
        if PeriodicTask.objects.filter(Q(name=name) | Q(task=task)).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, queue=queue)
        created += 1
    return created
