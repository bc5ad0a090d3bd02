"""Daily KPI snapshots: one row per (site or network, KPI, day), written by reporting.tasks.snapshot_kpis."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.models import Site


class KpiSnapshot(models.Model):
    """A KPI's value for one day at one site (``site`` empty: the whole network), with its numerator,
    denominator and breakdown, so trend lines never recompute history."""

    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="kpi_snapshots")
    key = models.CharField(max_length=60)
    date = models.DateField(help_text="The day the values are for (in the site's time zone)")
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    numerator = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    denominator = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    unit = models.CharField(max_length=20, blank=True)
    breakdown = models.JSONField(default=dict, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key", "site", "-date"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "key", "date"], name="kpi_snapshot_unique_site_key_date", nulls_distinct=False
            ),
        ]
        indexes = [
            models.Index(fields=["key", "site", "date"], name="kpi_snapshot_trend_idx"),
            models.Index(fields=["key", "date"], name="kpi_snapshot_network_idx", condition=Q(site__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.site.code if self.site_id else 'network'} {self.date}: {self.value}"
