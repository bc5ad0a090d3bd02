"""Schedule the daily KPI snapshot (editable afterwards in admin, Periodic tasks)."""

from django.db import migrations

NAME = "Snapshot yesterday's KPIs for every site and the network (daily)"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(task="reporting.tasks.snapshot_kpis").exists():
        return  # already scheduled (0003 renames this row; the tests replay both)
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="1", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "reporting.tasks.snapshot_kpis", "crontab": crontab, "queue": "default"}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_kpi_snapshot"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
