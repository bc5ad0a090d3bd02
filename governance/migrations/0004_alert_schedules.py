"""Schedule the alerts worker's periodic jobs (editable afterwards in admin, Periodic tasks).

The overdue receipts and late shipment risk sweeps now run inside ``run_exception_sweeps`` with the other
condition sweeps, so their stand-alone schedules are switched off (not deleted: an admin may switch them on).
"""

from django.db import migrations

TASKS = [
    ("Exception sweeps: open and close exceptions", "governance.tasks.run_exception_sweeps", 15, "minutes"),
    (
        "Exception alerts: announce, escalate past SLA, email critical",
        "governance.tasks.process_exception_alerts",
        5,
        "minutes",
    ),
    ("Notification digest emails", "governance.tasks.send_notification_digests", 1, "hours"),
]
REPLACED = [
    "Overdue receipts: open OVERDUE_RECEIPT exceptions",
    "Late shipment risk: open LATE_SHIPMENT_RISK exceptions",
]


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, every, period in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=period)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval, "queue": "alerts"})
    PeriodicTask.objects.filter(name__in=REPLACED).update(enabled=False)


def unschedule(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[t[0] for t in TASKS]).delete()
    PeriodicTask.objects.filter(name__in=REPLACED).update(enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0003_escalation_steps_and_notifications"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        ("orders", "0004_overdue_receipts_schedule"),
        ("warehouse", "0004_late_shipment_schedule"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
