"""Run the KPI snapshot every hour instead of once at 01:15 UTC: each site stores its own yesterday (its time
zone), so a site west of UTC had no row for its last day until 01:15 UTC of the next day; hourly, each site's day
is stored within an hour of its local midnight (the job is idempotent: re-running updates the rows). Only a
schedule still on the seeded 01:15 UTC crontab is changed (an admin's edit is kept)."""

from django.db import migrations

OLD_NAME = "Snapshot yesterday's KPIs for every site and the network (daily)"
NEW_NAME = "Snapshot each site's yesterday's KPIs (hourly: soon after each site's midnight)"
SEEDED = {"minute": "15", "hour": "1", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}
HOURLY = {**SEEDED, "hour": "*"}


def _move(apps, old_name, new_name, old, new):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    task = PeriodicTask.objects.filter(name=old_name).select_related("crontab").first()
    if task is None or task.crontab is None:
        return
    if {key: getattr(task.crontab, key) for key in old} != old or str(task.crontab.timezone) != "UTC":
        return
    if PeriodicTask.objects.filter(name=new_name).exists():
        return
    task.crontab, _ = CrontabSchedule.objects.get_or_create(**new, timezone="UTC")
    task.name = new_name
    task.save(update_fields=["crontab", "name"])


def hourly(apps, schema_editor):
    _move(apps, OLD_NAME, NEW_NAME, SEEDED, HOURLY)


def daily(apps, schema_editor):
    _move(apps, NEW_NAME, OLD_NAME, HOURLY, SEEDED)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0002_snapshot_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(hourly, daily)]
