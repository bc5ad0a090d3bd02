"""Schedule the daily inventory reconciliation (balances against the ledger; LEDGER_DRIFT on a mismatch) in a
migration, so every deployment has it, not only one where load_demo or the run command created it. Same name as
distribution_erp.schedules (never twice); editable afterwards in admin, Periodic tasks."""

from django.db import migrations

NAME = "Reconcile inventory balances with the ledger (daily)"
TASK = "inventory.tasks.reconcile_inventory"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(task=TASK).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="30", hour="2", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": crontab, "queue": "default"})


def unschedule(apps, schema_editor):
    """Nothing: the row may predate this migration (load_demo made it) and an admin may rely on it."""


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0004_daily_counts_hourly"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
