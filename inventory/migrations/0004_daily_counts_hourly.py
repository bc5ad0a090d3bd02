"""Run the daily count planning every hour: each site's count is dated by its own calendar day (its time zone),
and the job is idempotent per site and day, so the hourly run plans each site's day within an hour of its local
midnight. Only a schedule still on the seeded 05:00 UTC crontab is changed (an admin's edit is kept)."""

from django.db import migrations

NAME = "Plan the day's cycle counts at every site"
SEEDED = {"minute": "0", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
HOURLY = {**SEEDED, "minute": "5", "hour": "*"}


def _move(apps, old: dict, new: dict) -> None:
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    task = PeriodicTask.objects.filter(name=NAME).select_related("crontab").first()
    if task is None or task.crontab is None:
        return
    current = {key: getattr(task.crontab, key) for key in old}
    if current != old or str(task.crontab.timezone) != "UTC":
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(**new, timezone="UTC")
    task.crontab = crontab
    task.save(update_fields=["crontab"])


def hourly(apps, schema_editor):
    _move(apps, SEEDED, HOURLY)


def daily(apps, schema_editor):
    _move(apps, HOURLY, SEEDED)


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0003_daily_counts_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(hourly, daily)]
