"""Schedule the allocation engine's periodic jobs (editable afterwards in admin, Periodic tasks)."""

from django.db import migrations

TASKS = [
    (
        "Allocation sweep: allocate released orders and backorders",
        "orders.tasks.allocation_sweep",
        5,
        "minutes",
        "allocation",
    ),
    (
        "Reconcile allocated counters with allocation rows",
        "orders.tasks.reconcile_allocations_task",
        1,
        "hours",
        "allocation",
    ),
]


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period, queue in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval, "queue": queue})


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[t[0] for t in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
