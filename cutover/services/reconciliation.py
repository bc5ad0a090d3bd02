"""Reconciliation of a posted opening-balance batch against the legacy system's control totals."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from distribution_erp.errors import StateConflict, ValidationFailed
from governance import permissions
from governance.models import Site
from governance.services.rules import get_rule
from inventory.models import Item, StockMove

from ..columns import check_header, convert_row
from ..models import ImportBatch, Reconciliation, ReconciliationLine
from ..parsing import FileProblem, detect_format, header_of, iter_rows
from .batches import ACTION

RULE = "cutover.reconciliation_tolerance_percent"
CENT = Decimal("0.01")


def difference_percent(legacy: int, system: int) -> Decimal | None:
    """|system - legacy| as a percentage of legacy (None when legacy is zero)."""
    if legacy == 0:
        return None
    return (Decimal(abs(system - legacy)) * 100 / Decimal(legacy)).quantize(CENT)


def within_tolerance(legacy: int, system: int, tolerance: Decimal) -> bool:
    percent = difference_percent(legacy, system)
    return system == legacy if percent is None else percent <= tolerance


def _read_totals(batch: ImportBatch, *, content: bytes | None, file_name: str, rows: list | None):
    if rows is not None:
        if not isinstance(rows, list) or not rows:
            raise ValidationFailed(
                "Give the control totals.",
                errors=[{"field": "rows", "code": "required", "message": "Give at least one control total."}],
            )
        content, fmt = json.dumps(rows).encode(), "JSON"
    else:
        fmt = detect_format(file_name, content or b"")
        if fmt is None:
            raise ValidationFailed(
                "Upload a .csv or .xlsx file.",
                errors=[{"field": "file", "code": "invalid_format", "message": "Upload a .csv or .xlsx file."}],
            )
    errors = []
    totals: dict[tuple[str, str], tuple[int, Decimal | None]] = {}
    try:
        problems = check_header("CONTROL_TOTALS", header_of(content, fmt))
        if problems:
            raise ValidationFailed(
                "; ".join(p.message for p in problems),
                errors=[{"field": f"file.{p.column}", "code": p.code, "message": p.message} for p in problems],
            )
        for number, raw in iter_rows(content, fmt):
            values, cell_errors = convert_row("CONTROL_TOTALS", raw)
            errors += [
                {"field": f"rows[{number}].{e.column}", "code": e.code, "message": e.message} for e in cell_errors
            ]
            site_code = values.get("site") or batch.site.code
            if site_code != batch.site.code:
                errors.append(
                    {
                        "field": f"rows[{number}].site",
                        "code": "other_site",
                        "message": f"This batch is for site {batch.site.code}, not {site_code}.",
                    }
                )
            key = (values.get("sku", ""), site_code)
            if key in totals:
                errors.append(
                    {
                        "field": f"rows[{number}].sku",
                        "code": "duplicate",
                        "message": f"{key[0]} at {key[1]} is given twice.",
                    }
                )
            if not cell_errors:
                totals[key] = (values["units"], values.get("value"))
    except FileProblem as exc:
        raise ValidationFailed(exc.message, errors=[{"field": "file", "code": exc.code, "message": exc.message}])
    if errors:
        raise ValidationFailed(f"{len(errors)} problems in the control totals; nothing was saved.", errors=errors)
    return totals, fmt


@transaction.atomic
def reconcile_batch(
    *, user, batch: ImportBatch, content: bytes | None = None, file_name: str = "", rows: list | None = None
) -> Reconciliation:
    """Compare the units (and value) the batch posted per item and site with the legacy totals. Every item on
    either side gets a line; a line is inside the tolerance when |difference| <= tolerance % of the legacy units."""
    permissions.require(user, ACTION, batch.site_id, what="import batch")
    if batch.kind != ImportBatch.Kind.OPENING_BALANCES or batch.status != ImportBatch.Status.POSTED:
        raise StateConflict(f"{batch.number} is not a posted opening-balance batch; only those are reconciled.")
    totals, fmt = _read_totals(batch, content=content, file_name=file_name, rows=rows)
    tolerance = Decimal(str(get_rule(RULE, batch.site)))
    posted: dict[int, tuple[int, Decimal]] = defaultdict(lambda: (0, Decimal("0")))
    moves = (
        StockMove.objects.filter(kind=StockMove.Kind.OPENING, document_type="cutover.importbatch", document_id=batch.pk)
        .values("item_id", "unit_cost")
        .annotate(units=Sum("quantity"))
    )
    for row in moves:
        units, value = posted[row["item_id"]]
        posted[row["item_id"]] = (units + row["units"], value + (row["unit_cost"] or 0) * row["units"])
    skus = {sku for sku, _ in totals}
    items = {i.sku: i for i in Item.objects.filter(sku__in=skus)} | {
        i.sku: i for i in Item.objects.filter(pk__in=list(posted))
    }
    site: Site = batch.site
    rec = Reconciliation.objects.create(
        batch=batch, source="TYPED" if rows is not None else "UPLOAD", tolerance_percent=tolerance, created_by=user
    )
    lines = []
    for sku in sorted(skus | {i.sku for i in items.values() if i.pk in posted}):
        item = items.get(sku)
        legacy_units, legacy_value = totals.get((sku, site.code), (0, None))
        system_units, system_value = posted.get(item.pk, (0, Decimal("0"))) if item else (0, Decimal("0"))
        cost = (system_value / system_units) if system_units else (item.standard_cost if item else Decimal("0"))
        diff = system_units - legacy_units
        lines.append(
            ReconciliationLine(
                reconciliation=rec,
                sku=sku,
                item=item,
                site=site,
                legacy_units=legacy_units,
                system_units=system_units,
                difference_units=diff,
                difference_percent=difference_percent(legacy_units, system_units),
                unit_cost=Decimal(cost).quantize(CENT),
                legacy_value=legacy_value,
                system_value=Decimal(system_value).quantize(CENT),
                value_difference=(system_value - legacy_value if legacy_value is not None else diff * cost).quantize(
                    CENT
                ),
                within_tolerance=within_tolerance(legacy_units, system_units, tolerance),
            )
        )
    ReconciliationLine.objects.bulk_create(lines, batch_size=5000)
    rec.lines_total = len(lines)
    rec.lines_outside = sum(1 for line in lines if not line.within_tolerance)
    rec.legacy_units = sum(line.legacy_units for line in lines)
    rec.system_units = sum(line.system_units for line in lines)
    given = [line.legacy_value for line in lines if line.legacy_value is not None]
    rec.legacy_value = sum(given, Decimal("0")) if given else None
    rec.system_value = sum((line.system_value for line in lines), Decimal("0"))
    rec.value_difference = sum((line.value_difference for line in lines), Decimal("0"))
    rec.save()
    return rec
