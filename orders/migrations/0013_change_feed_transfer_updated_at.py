"""Change feeds (issue 14): transfer orders get ``updated_at`` (existing rows: their latest known change, created,
shipped or received; their history rows: when they were written), and sales orders, purchase orders and
transfer orders an index in the feed's order (updated_at, id)."""

import django.utils.timezone
from django.db import migrations, models

HELP = "Last change (the change feed's order)"


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_order_line_first_shipped_idx"),
    ]

    operations = [
        migrations.AddField(
            model_name="transferorder",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, help_text=HELP),
        ),
        migrations.AddField(
            model_name="historicaltransferorder",
            name="updated_at",
            field=models.DateTimeField(blank=True, default=django.utils.timezone.now, editable=False, help_text=HELP),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE orders_transferorder SET updated_at = GREATEST(created_at, shipped_at, received_at);"
            "UPDATE orders_historicaltransferorder SET updated_at = history_date;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="transferorder",
            index=models.Index(fields=["updated_at", "id"], name="transfer_feed_idx"),
        ),
        migrations.AddIndex(
            model_name="salesorder",
            index=models.Index(fields=["updated_at", "id"], name="order_feed_idx"),
        ),
        migrations.AddIndex(
            model_name="purchaseorder",
            index=models.Index(fields=["updated_at", "id"], name="purchase_order_feed_idx"),
        ),
    ]
