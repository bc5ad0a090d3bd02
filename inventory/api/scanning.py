"""Scanner input of the API's task endpoints (pick, refill and putaway confirmations, cycle count entries): the
``item`` field takes what the scan screens take, the SKU, a GTIN of the item or of one of its units, or a GS1-128
label, read by the same policy (``inventory.policy.scanning``).

- a unit's GTIN (a case of 12) counts ``quantity`` in that unit: 2 cases are 24 base units;
- a GS1-128 label fills the lot, the expiry and, when ``quantity`` is left out, the quantity (its count (30)/(37)
  times the unit's factor; one unit without a count);
- a barcode of another item, a label of another lot, or a label that does not parse is a 422 on the field,
  naming what was scanned (``ScanRefused``). A SKU that is not the task's stays the service's 400."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.errors import DomainError, ScanRefused
from core.validation import field_error
from inventory.policy import scanning
from inventory.policy.barcodes import display_gtin
from inventory.selectors import barcode_for_gtin, gtin_factors
from inventory.signals import scan_refused

SCANNED_ITEM_HELP = (
    "Scanned item: the SKU, a GTIN of the item or of one of its units (the quantity then counts that unit), or a "
    "GS1-128 label (fills the lot, and the quantity when left out); another item's barcode or lot is a 422"
)


@dataclass(frozen=True)
class ScannedInput:
    """What the service is given: ``item`` the SKU (or the text scanned, for the service to refuse), ``lot``,
    ``quantity`` in base units (None: not given and no label count), the label's ``expiry``, and ``factor``
    the base units in one of what was scanned (quantities were multiplied by it)."""

    item: str
    lot: str
    quantity: object
    expiry: dt.date | None = None
    factor: int = 1


def refuse(result: scanning.ItemScan) -> ScanRefused:
    return ScanRefused(result.message, code=result.code, field=result.field)


def _owner_of(scanned: str) -> dict[str, str]:
    label = scanning.read_label(scanned)
    barcode = barcode_for_gtin(label.gtin) if label.gtin else None
    return {label.gtin: barcode.item.sku} if barcode is not None else {}


def report_refusal(exc: DomainError, *, record: dict | None, scanned: str, expected: str = "") -> DomainError:
    """Tell the adoption records (``inventory.signals.scan_refused``) about a refused scan of the task
    ``record`` names (site_id, user, process, task_id, task_ref); returns ``exc`` to raise."""
    if record:
        scan_refused.send(
            sender=ScannedInput,
            field=(exc.field or "item").rsplit(".", 1)[-1],
            code=exc.code or "",
            expected=expected,
            scanned=scanned,
            detail=exc.message,
            **record,
        )
    return exc


def scanned_item(
    item,
    *,
    scanned: str,
    quantity=None,
    lot: str = "",
    task_lot: str = "",
    sku_required: bool = False,
    record: dict | None = None,
) -> ScannedInput:
    """Read an ``item`` field scanned for a task or count line of ``item`` (with ``lot`` given alongside,
    ``task_lot`` the lot the task names). ``sku_required``: a wrong SKU is refused here (400) too, for
    endpoints whose service does not check the item. ``record``: the task (site_id, user, process, task_id,
    task_ref) a refusal is recorded against as a refused scan."""
    lot = scanning.lot_from_scan(lot or "")
    gtins = gtin_factors(item)
    result = scanning.item_scan(scanned or "", sku=item.sku, gtins=gtins, lot=lot, task_lot=task_lot)
    if result.problem and result.code == "wrong_item" and result.barcode:
        result = scanning.item_scan(
            scanned, sku=item.sku, gtins=gtins, lot=lot, task_lot=task_lot, owner_of=_owner_of(scanned)
        )
    if result.problem:
        if result.barcode:
            raise report_refusal(refuse(result), record=record, scanned=scanned, expected=item.sku)
        if sku_required:
            raise report_refusal(
                field_error(result.field, result.message, result.code),
                record=record if scanned else None,
                scanned=scanned,
                expected=item.sku,
            )
        return ScannedInput(item=result.sku, lot=lot, quantity=quantity)
    if quantity is None:
        counted = result.quantity
    elif result.factor > 1 and not isinstance(quantity, bool):
        counted = quantity * result.factor
    else:
        counted = quantity
    return ScannedInput(
        item=result.sku, lot=lot or result.lot, quantity=counted, expiry=result.expiry, factor=result.factor
    )


def required_quantity(value, *, what: str = "quantity"):
    if value is None:
        raise field_error(
            "quantity", f"Give the {what}, or scan a GS1-128 label that carries a count into `item`.", "required"
        )
    return value


def identified_item(scanned: str):
    """The item a scan names where no task names one (stock found during a count): its SKU, or a GTIN of any
    item or unit, alone or in a GS1-128 label. None: no item has that SKU (the caller's 400). A barcode no item
    has, or a label that does not parse, is a 422 naming what was scanned."""
    from inventory.models import Item

    value = scanning.normalise(scanned)
    item = Item.objects.prefetch_related("units").filter(sku=value).first()
    if item is not None:
        return item
    label = scanning.read_label(value)
    if label.error:
        raise ScanRefused(f"{label.error.rstrip('.')} (scanned {label.shown}).", code="bad_label", field="item")
    if label.gtin:
        barcode = barcode_for_gtin(label.gtin)
        if barcode is None:
            raise ScanRefused(
                f"No item has the GTIN {display_gtin(label.gtin)} (scanned {label.shown}).",
                code="unknown_gtin",
                field="item",
            )
        return Item.objects.prefetch_related("units").get(pk=barcode.item_id)
    if label.is_gs1:
        raise ScanRefused(
            f"Scanned {label.shown}: a GS1 label without an item GTIN (01).", code="not_an_item_label", field="item"
        )
    return None


def unit_for(scan: ScannedInput, unit: str | None) -> str | None:
    """The ``unit`` to convert a quantity with: none once a unit's barcode was scanned (the quantity is counted
    in it and already converted); giving one as well is refused."""
    if scan.factor > 1:
        if unit:
            raise field_error(
                "unit",
                f"The scanned barcode is of a unit of {scan.factor}: give the quantity in it, without `unit`.",
                "unit_and_barcode",
            )
        return None
    return unit or None


def _prefixed(exc: DomainError, prefix: str) -> DomainError:
    errors = exc.errors or ([{"field": exc.field, "code": exc.code, "message": exc.message}] if exc.field else [])
    for error in errors:
        error["field"] = f"{prefix}.{error['field']}"
    exc.errors, exc.field = errors, None
    return exc


def scanned_lines(lines: list[dict], *, prefix: str = "lines") -> list[dict]:
    """:func:`scanned_line` of each line (one query for the SKUs given)."""
    from inventory.models import Item

    skus = set(
        Item.objects.filter(sku__in=[str(line.get("item") or "") for line in lines]).values_list("sku", flat=True)
    )
    return [scanned_line(index, dict(line), prefix=prefix, skus=skus) for index, line in enumerate(lines)]


def scanned_line(index: int, line: dict, *, prefix: str = "lines", skus: set[str] | None = None) -> dict:
    """A received line whose ``item`` may be scanned (receipts, transfer receipts): a GTIN of any item or unit,
    or a GS1-128 label, becomes the SKU; the label fills ``lot``, ``expiry_date`` and, left out, ``quantity``;
    the quantities of a unit's GTIN are counted in that unit. A SKU (or an unknown one) is left to the service.
    Refusals name the line's field (``lines[2].item``)."""
    from inventory.models import Item

    raw = str(line.get("item") or "")
    where = f"{prefix}[{index}]"
    item = None
    is_sku = raw in skus if skus is not None else Item.objects.filter(sku=raw).exists()
    if raw and not is_sku:
        try:
            item = identified_item(raw)
        except DomainError as exc:
            raise _prefixed(exc, where)
    if item is None:  # a SKU, or no item at all: the service's words
        if line.get("quantity") is None:
            raise field_error(f"{where}.quantity", "This field is required.", "required")
        return line
    try:
        scan = scanned_item(item, scanned=raw, quantity=line.get("quantity"), lot=line.get("lot") or "")
        unit = unit_for(scan, line.get("unit"))
    except DomainError as exc:
        raise _prefixed(exc, where)
    given_expiry = line.get("expiry_date")
    if scan.expiry and given_expiry and given_expiry != scan.expiry:
        raise ScanRefused(
            f"The label's expiry is {scan.expiry.isoformat()}, not {given_expiry.isoformat()}.",
            code="expiry_mismatch",
            field=f"{where}.expiry_date",
        )
    out = dict(line, item=item.sku, unit=unit or "", quantity=scan.quantity)
    if scan.quantity is None:
        raise field_error(f"{where}.quantity", "Give the quantity, or scan a label that carries a count.", "required")
    if scan.lot:
        out["lot"] = scan.lot
    if scan.expiry and not given_expiry:
        out["expiry_date"] = scan.expiry
    if scan.factor > 1 and line.get("damaged_quantity"):
        out["damaged_quantity"] = line["damaged_quantity"] * scan.factor
    return out
