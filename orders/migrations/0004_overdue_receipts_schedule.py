from django.db import migrations

NAME = "Overdue receipts: open OVERDUE_RECEIPT exceptions"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": "orders.tasks.overdue_receipts_sweep", "interval": interval, "queue": "alerts"}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_supplier_historicalsupplier_purchaseorder_and_more")]

    operations = [migrations.RunPython(schedule, unschedule)]
