"""Periodic jobs that load_demo (and the run command) make sure exist in django-celery-beat's tables.

The rows are created once and never overwritten, so a schedule changed in admin (Periodic tasks) stays as
the admin left it. Other apps schedule their own jobs in their migrations.
"""

from __future__ import annotations

#: (name, task, crontab minute, crontab hour, queue)
DAILY_TASKS = [
    (
        "Reconcile inventory balances with the ledger (daily)",
        "inventory.tasks.reconcile_inventory",
        "30",
        "2",
        "default",
    ),
    (
        # the same row reporting/migrations/0002_snapshot_schedule.py creates (same name: never twice)
        "Snapshot yesterday's KPIs for every site and the network (daily)",
        "reporting.tasks.snapshot_kpis",
        "15",
        "1",
        "default",
    ),
]


def ensure_periodic_tasks() -> int:
    """Create the missing periodic tasks; returns how many were created (0 on every later run)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    created = 0
    for name, task, minute, hour, queue in DAILY_TASKS:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
        )
        PeriodicTask.objects.create(name=name, task=task, crontab=crontab, queue=queue)
        created += 1
    return created
