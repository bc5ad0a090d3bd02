"""Schedule the pick-face replenishment sweep (editable afterwards in admin, Periodic tasks)."""

from django.db import migrations

NAME = "Pick-face replenishment: refill faces at or below their min"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={"task": "warehouse.tasks.replenish_pick_faces_sweep", "interval": interval, "queue": "replenishment"},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0005_replenishment_task"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(schedule, unschedule)]
