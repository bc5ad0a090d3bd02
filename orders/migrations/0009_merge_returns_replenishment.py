"""Joins the returns (0006) and replenishment (0007, 0008) branches, made in parallel on 0005."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0006_returns"),
        ("orders", "0008_replenishment_schedule"),
    ]

    operations = []
