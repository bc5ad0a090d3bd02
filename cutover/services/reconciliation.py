"""Reconciliation of a posted batch against the legacy system's control totals, per item and site:

- opening balances: the units (and value) the batch posted as OPENING moves;
- open purchase orders: the open units of the batch's orders (ordered less received and rejected) and their open
  lines, valued at the lines' cost;
- open sales orders: the unshipped units of the batch's orders (not cancelled) and their open lines, valued at the
  lines' price;
- transfers in transit: the units the batch put in transit (its OPENING moves to the in-transit locations) and the
  transfers' lines, valued at the moves' cost.

Documents are read as they stand when reconciled (reconcile right after posting). A line is inside the tolerance
when its units differ by at most the site rule's percentage and, where the legacy file gives ``lines``, the open
lines are the same."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Sum

from core.errors import StateConflict, ValidationFailed
from governance import permissions
from governance.models import Site
from governance.services.rules import get_rule
from inventory.models import Item, StockMove
from orders.models import PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine, TransferOrder, TransferOrderLine

from .. import policy
from ..columns import check_header, convert_row
from ..models import ImportBatch, ImportedDocument, Reconciliation, ReconciliationLine
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
    totals: dict[tuple[str, str], tuple[int, Decimal | None, int | None]] = {}
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
                totals[key] = (values["units"], values.get("value"), values.get("lines"))
    except FileProblem as exc:
        raise ValidationFailed(exc.message, errors=[{"field": "file", "code": exc.code, "message": exc.message}])
    if errors:
        raise ValidationFailed(f"{len(errors)} problems in the control totals; nothing was saved.", errors=errors)
    return totals, fmt


#: what a posted batch of each kind is reconciled on (the kinds without: nothing to count)
RECONCILED_KINDS = tuple(sorted(policy.RECONCILED_KINDS))
Posted = dict[int, tuple[int, Decimal, int | None]]  # item id -> (units, value, open lines or None)


def _documents(batch: ImportBatch, model) -> list[int]:
    return list(
        ImportedDocument.objects.filter(batch=batch, content_type=ContentType.objects.get_for_model(model)).values_list(
            "object_id", flat=True
        )
    )


def _add(posted: dict, item_id: int, units: int, value: Decimal, lines: int | None) -> None:
    have_units, have_value, have_lines = posted.get(item_id, (0, Decimal("0"), None))
    posted[item_id] = (
        have_units + units,
        have_value + value,
        None if lines is None else (have_lines or 0) + lines,
    )


def _moves(batch_filter) -> Posted:
    posted: Posted = {}
    for row in (
        StockMove.objects.filter(kind=StockMove.Kind.OPENING, **batch_filter)
        .values("item_id", "unit_cost")
        .annotate(units=Sum("quantity"))
    ):
        _add(posted, row["item_id"], row["units"], (row["unit_cost"] or 0) * row["units"], None)
    return posted


def posted_by_item(batch: ImportBatch) -> Posted:
    """What the batch brought onto the system, per item (see the module)."""
    K = ImportBatch.Kind
    posted: Posted = {}
    if batch.kind == K.OPENING_BALANCES:
        return _moves({"document_type": "cutover.importbatch", "document_id": batch.pk})
    if batch.kind == K.OPEN_PURCHASE_ORDERS:
        for line in PurchaseOrderLine.objects.filter(purchase_order_id__in=_documents(batch, PurchaseOrder)).exclude(
            purchase_order__status=PurchaseOrder.Status.CANCELLED
        ):
            units = line.open_quantity
            _add(posted, line.item_id, units, line.unit_cost * units, 1 if units else 0)
    elif batch.kind == K.OPEN_SALES_ORDERS:
        for line in SalesOrderLine.objects.filter(order_id__in=_documents(batch, SalesOrder)).exclude(
            order__status=SalesOrder.Status.CANCELLED
        ):
            units = max(line.quantity_base - line.shipped_quantity, 0)
            _add(posted, line.item_id, units, line.unit_price * units / line.unit_factor, 1 if units else 0)
    elif batch.kind == K.TRANSFERS_IN_TRANSIT:
        ids = _documents(batch, TransferOrder)
        posted = _moves({"document_type": "orders.transferorder", "document_id__in": ids})
        counts: dict[int, int] = defaultdict(int)
        for item_id in TransferOrderLine.objects.filter(transfer_id__in=ids).values_list("item_id", flat=True):
            counts[item_id] += 1
        posted = {item_id: (units, value, counts.get(item_id, 0)) for item_id, (units, value, _) in posted.items()}
    return posted


@transaction.atomic
def reconcile_batch(
    *, user, batch: ImportBatch, content: bytes | None = None, file_name: str = "", rows: list | None = None
) -> Reconciliation:
    """Compare what the batch brought onto the system per item and site (see the module) with the legacy totals.
    Every item on either side gets a line; a line is inside the tolerance when |difference| <= tolerance % of the
    legacy units and, where the legacy file gives them, the open lines agree."""
    permissions.require(user, ACTION, batch.site_id, what="import batch")
    if not policy.may_reconcile(batch.kind, batch.status):
        raise StateConflict(
            f"{batch.number} is not a posted batch of opening balances, open orders or transfers in transit; only "
            "those are reconciled."
        )
    totals, fmt = _read_totals(batch, content=content, file_name=file_name, rows=rows)
    tolerance = Decimal(str(get_rule(RULE, batch.site)))
    posted = posted_by_item(batch)
    documents = batch.kind != ImportBatch.Kind.OPENING_BALANCES
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
        legacy_units, legacy_value, legacy_lines = totals.get((sku, site.code), (0, None, None))
        system_units, system_value, system_lines = (
            posted.get(item.pk, (0, Decimal("0"), None)) if item else (0, 0, None)
        )
        system_value = Decimal(system_value)
        if documents and system_lines is None:
            system_lines = 0
        lines_agree = legacy_lines is None or legacy_lines == (system_lines or 0)
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
                legacy_lines=legacy_lines,
                system_lines=system_lines if documents else None,
                within_tolerance=within_tolerance(legacy_units, system_units, tolerance) and lines_agree,
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
    if documents:
        given_lines = [line.legacy_lines for line in lines if line.legacy_lines is not None]
        rec.legacy_lines = sum(given_lines) if given_lines else None
        rec.system_lines = sum(line.system_lines or 0 for line in lines)
    rec.save()
    return rec
