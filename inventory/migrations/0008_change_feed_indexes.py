"""Change feeds (issue 14): an index in the feed's order (updated_at, id) for items and stock levels."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0007_stockmove_opening"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="item",
            index=models.Index(fields=["updated_at", "id"], name="item_feed_idx"),
        ),
        migrations.AddIndex(
            model_name="stocklevel",
            index=models.Index(fields=["updated_at", "id"], name="level_feed_idx"),
        ),
    ]
