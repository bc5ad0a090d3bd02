"""Change feeds (issue 14): shipments and receipts get ``updated_at`` (existing rows: their latest known change,
packed or shipped, received; their history rows: when they were written) and an index in the feed's order
(updated_at, id)."""

import django.utils.timezone
from django.db import migrations, models

HELP = "Last change (the change feed's order)"


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0009_package_sscc"),
    ]

    operations = [
        migrations.AddField(
            model_name="shipment",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, help_text=HELP),
        ),
        migrations.AddField(
            model_name="historicalshipment",
            name="updated_at",
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, editable=False, help_text=HELP),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="receipt",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, help_text=HELP),
        ),
        migrations.AddField(
            model_name="historicalreceipt",
            name="updated_at",
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, editable=False, help_text=HELP),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE warehouse_shipment SET updated_at = GREATEST(packed_at, shipped_at);"
            "UPDATE warehouse_historicalshipment SET updated_at = history_date;"
            "UPDATE warehouse_receipt SET updated_at = received_at;"
            "UPDATE warehouse_historicalreceipt SET updated_at = history_date;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="shipment",
            index=models.Index(fields=["updated_at", "id"], name="shipment_feed_idx"),
        ),
        migrations.AddIndex(
            model_name="receipt",
            index=models.Index(fields=["updated_at", "id"], name="receipt_feed_idx"),
        ),
    ]
