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


#: the columns of a reconciliation line, in order: the CSV download and the API answer show the same
RECONCILIATION_COLUMNS = (
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
)


def reconciliation_csv(rec: Reconciliation) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RECONCILIATION_COLUMNS)
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
