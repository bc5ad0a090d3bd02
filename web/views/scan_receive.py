"""Scan-receive for operators at the dock: scan the purchase order number, then per pallet or case the item
(SKU, GTIN or GS1-128 label, which fills lot, expiry and quantity), the quantity, how many of them arrived
damaged, lot and expiry; confirming posts one receipt line through ``warehouse.services.receive``, the API's
service, with its discrepancy rules and refusals in its words. A delivery is received scan by scan (each confirm
a partial receipt); "delivery complete" on the last one reports what is still missing as short.

A supplier's advance ship notice has no number of its own here (it is lines on the PO), so what is scanned is the
PO number or the supplier's reference of the PO (printed on its delivery note); the screen shows the ship notice's
lots."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date

from core.errors import DomainError
from governance import permissions
from orders.models import PurchaseOrder
from warehouse.policy import scan
from warehouse.services import receive

from .. import adoption, receiving, selectors
from ..workspace import site_page
from .purchasing import RECEIVE_ACTION, flash_receipt, forbidden, purchase_order_for

FIELDS = ("item", "quantity", "damaged", "lot", "expiry")


@site_page(RECEIVE_ACTION)
def receive_start(request, *, site):
    """The receivable POs of the site (expected first) and a field to scan a PO number (or the supplier's
    reference printed on the delivery note) into."""
    scanned = scan.normalise(request.GET.get("po", ""))
    error = ""
    receivable = selectors.site_purchase_orders(site=site).filter(status__in=PurchaseOrder.RECEIVABLE)
    if scanned:
        po = PurchaseOrder.objects.filter(number=scanned, site=site).first()
        by_reference = list(receivable.filter(supplier_reference=scanned)[:20]) if po is None else []
        if len(by_reference) == 1:
            po = by_reference[0]
        if po is None and by_reference:
            error = f"{scanned} is the supplier's reference of several purchase orders: choose one below."
            receivable = receivable.filter(pk__in=[p.pk for p in by_reference])
        elif po is None:
            error = f"No purchase order {scanned} at {site.code}."
            adoption.refused(
                request,
                scan.ScanCheck(False, error),
                site_id=site.pk,
                process=adoption.P.RECEIVE,
                field="po",
                scanned=scanned,
            )
        elif po.status not in PurchaseOrder.RECEIVABLE:
            error = f"{po.number} is {po.get_status_display().lower()}: nothing to receive."
        else:
            return redirect("web:scan-receive-po", po.number)
    orders = list(receivable.order_by("expected_date", "pk")[:50])
    return render(
        request,
        "web/scan/receive_list.html",
        {"orders": orders, "scanned": scanned, "error": error},
        status=400 if error else 200,
    )


def _po(request, number):
    po = purchase_order_for(request, number)
    if not permissions.can(request.user, RECEIVE_ACTION, po.site_id):
        return po, forbidden(request, po)
    return po, None


def _open_by_sku(detail) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in detail["lines"]:
        out[line.item.sku] = out.get(line.item.sku, 0) + line.open_quantity
    return out


def _context(po, detail, **extra) -> dict:
    return {
        "po": po,
        "lines": detail["lines"],
        "notices": detail["notices"],
        "receivable": po.status in PurchaseOrder.RECEIVABLE,
        "errors": {},
        "values": {},
        **extra,
    }


@site_page()
def receive_po(request, number, *, site):
    po, refused = _po(request, number)
    if refused:
        return refused
    detail = selectors.purchase_order_detail(po)
    if request.method != "POST":
        return render(request, "web/scan/receive.html", _context(po, detail))
    ordered = {line.item.sku: line.item for line in detail["lines"]}
    form = receiving.ScanReceiveForm(request.POST, ordered=ordered)
    if form.is_valid():
        try:
            receipt = receive(
                user=request.user,
                purchase_order=po,
                lines=[form.service_line()],
                final=form.cleaned_data["final"],
            )
        except DomainError as exc:
            general = receiving.refusal_to_forms(exc, [form], form)
            for msg in general:
                form.add_error(None, msg)
            po.refresh_from_db()
        else:
            flash_receipt(request, receipt)
            return redirect("web:scan-receive-po", po.number)
    context = _context(po, detail, errors=form.error_dict(), values=form.values())
    return render(request, "web/scan/receive.html", context, status=400)


@site_page()
def receive_check(request, number, *, site):
    """htmx: check one scanned field as soon as it is scanned."""
    po, refused = _po(request, number)
    if refused:
        return refused
    field = request.GET.get("field", "")
    value = request.GET.get(field, "")
    if field not in FIELDS:
        raise Http404("No such field.")
    detail = selectors.purchase_order_detail(po)
    ordered = {line.item.sku: line.item for line in detail["lines"]}
    open_by_sku = _open_by_sku(detail)
    if field == "item":
        found = receiving.resolve_item(value, ordered=ordered)
        result = receiving.check_item(found, po_number=po.number, open_by_sku=open_by_sku)
        adoption.refused(
            request,
            result,
            site_id=po.site_id,
            process=adoption.P.RECEIVE,
            field="item",
            scanned=value,
            task_id=po.pk,
            task_ref=po.number,
        )
    elif field == "quantity":
        found = receiving.resolve_item(request.GET.get("item", ""), ordered=ordered)
        sku = found.item.sku if found.item else ""
        result = receiving.check_quantity(value, open_quantity=open_by_sku.get(sku))
    elif field == "damaged":
        result = receiving.check_damaged(value)
    elif field == "lot":
        lot = scan.lot_from_scan(value)
        expected = sorted({n.lot_number for n in detail["notices"] if n.lot_number})
        if lot and expected and lot not in expected:
            result = scan.ScanCheck(
                True, f"Lot {lot} is not on the ship notice ({', '.join(expected)}): a discrepancy.", warn=True
            )
        else:
            result = scan.ScanCheck(True, f"Lot {lot} ✓" if lot else "")
    else:
        text = scan.normalise(value)
        try:
            day = parse_date(text) if text else None
        except ValueError:
            day = None
        if text and day is None:
            result = scan.ScanCheck(False, "Give the expiry date as YYYY-MM-DD.")
        else:
            result = scan.ScanCheck(True, f"Expiry {day.isoformat()} ✓" if day else "")
    return render(request, "web/scan/_feedback.html", {"result": result})
