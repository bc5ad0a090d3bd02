"""Schedule the daily purge of Idempotency-Key records older than IDEMPOTENCY_KEY_TTL (editable in admin,
Periodic tasks)."""

from django.db import migrations

NAME = "Idempotency keys: purge records older than IDEMPOTENCY_KEY_TTL (daily)"
TASK = "governance.tasks.purge_idempotency_keys"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    if PeriodicTask.objects.filter(task=TASK).exclude(name=NAME).exists():
        return  # an admin scheduled it under another name
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="55", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(name=NAME, defaults={"task": TASK, "crontab": crontab, "queue": "alerts"})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0006_outbox_purge_schedule"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
