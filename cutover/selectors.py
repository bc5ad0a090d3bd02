"""Reads of the cutover app."""

from __future__ import annotations

import csv
import io

from governance import permissions

from .models import ImportBatch, Reconciliation


def visible_batches(user):
    return permissions.restrict(ImportBatch.objects.select_related("site", "created_by", "approval"), user).defer(
        "content"
    )


def reconciliation_csv(rec: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        [
            "sku",
            "site",
            "legacy_units",
            "system_units",
            "difference_units",
            "difference_percent",
            "unit_cost",
            "legacy_value",
            "system_value",
            "value_difference",
            "within_tolerance",
        ]
    )
    for line in rec.lines.select_related("site").order_by("within_tolerance", "sku"):
        writer.writerow(
            [
                line.sku,
                line.site.code,
                line.legacy_units,
                line.system_units,
                line.difference_units,
                "" if line.difference_percent is None else line.difference_percent,
                line.unit_cost,
                "" if line.legacy_value is None else line.legacy_value,
                line.system_value,
                line.value_difference,
                "yes" if line.within_tolerance else "no",
            ]
        )
    return out.getvalue()
