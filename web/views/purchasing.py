"""Purchase orders of the current site and the desktop receive page.

The list and the page are for every role at the site; receiving needs the receiving roles at the PO's site
(``inventory.receive``) and goes through ``warehouse.services.receive``, the service the API's ``POST
/receipts/`` calls: over-receipts, unexpected items, damaged units and lot mismatches become discrepancies (with
their exceptions) or refusals in the service's words, and a refusal changes nothing. A PO of a site the user does
not see is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from core.actions import allowed_actions
from core.errors import DomainError
from governance import permissions
from orders.models import PurchaseOrder
from warehouse.services import receive

from .. import selectors
from ..lists import Column, Filter, ListPage
from ..receiving import ReceiveHeaderForm, ReceiveLineFormSet, ReceiveSourceForm, refusal_to_forms, service_lines
from ..workspace import site_page

PO = PurchaseOrder.Status
RECEIVE_ACTION = "inventory.receive"
RECEIPT_PAGES_ACTION = "warehouse.plan"  # the receipt list and pages (web.views.inbound)
EXTRA_ROWS = 2  # blank rows for items that came but are not on the order


def purchase_order_for(request, number: str) -> PurchaseOrder:
    """The PO ``number`` when the user sees its site; else a 404 that does not say whether it exists."""
    po = PurchaseOrder.objects.select_related("site", "supplier", "created_by").filter(number=number).first()
    if po is None or not permissions.can_see_site(request.user, po.site_id):
        raise Http404("No such purchase order.")
    return po


def forbidden(request, po: PurchaseOrder):
    needed = ", ".join(sorted(permissions.allowed_roles(RECEIVE_ACTION)))
    return render(
        request,
        "web/forbidden.html",
        {"message": f"Your role at {po.site.code} does not allow receiving; needs one of: {needed}."},
        status=403,
    )


def _po_url(po) -> str:
    return reverse("web:po-detail", args=[po.number])


PO_COLUMNS = (
    Column("number", "Purchase order", lambda p: p.number, "number", link=_po_url),
    Column("supplier", "Supplier", lambda p: f"{p.supplier.code} · {p.supplier.name}", "supplier__code"),
    Column("status", "Status", lambda p: p.get_status_display(), "status"),
    Column("expected", "Expected", lambda p: p.expected_date, "expected_date"),
    Column("lines", "Lines", lambda p: p.line_count, "line_count", css="num"),
    Column("ordered", "Ordered", lambda p: p.ordered_units, "ordered_units", css="num"),
    Column("received", "Received", lambda p: p.received_units, "received_units", css="num"),
    Column("open", "Open", lambda p: p.open_units, "open_units", css="num"),
    Column("asn", "Ship notice", lambda p: "yes" if p.has_ship_notice else "", "has_ship_notice"),
    Column("receipts", "Receipts", lambda p: p.receipt_count, "receipt_count", css="num"),
    Column("created", "Created", lambda p: p.created_at, "created_at"),
)


TO_RECEIVE = "TO_RECEIVE"
STATUS_CHOICES = ((TO_RECEIVE, "To receive (open or partially received)"), *PO.choices)


def _status_filter(qs, value):
    if value == TO_RECEIVE:
        return qs.filter(status__in=PurchaseOrder.RECEIVABLE)
    return qs.filter(status=value)


@site_page()
def po_list(request, *, site):
    listing = ListPage(
        request,
        selectors.site_purchase_orders(site=site),
        PO_COLUMNS,
        filters=(
            Filter("status", "Status", kind="choice", choices=STATUS_CHOICES, apply=_status_filter),
            Filter(
                "supplier",
                "Supplier",
                apply=lambda qs, v: qs.filter(Q(supplier__code__icontains=v) | Q(supplier__name__icontains=v)),
            ),
            Filter("number", "PO number", "number__icontains"),
            Filter("from", "Expected from", "expected_date__gte", kind="date_from"),
            Filter("to", "Expected to", "expected_date__lte", kind="date_to"),
        ),
        default_sort="expected",
        csv_name=f"purchase-orders-{site.code}",
    )
    can_receive = permissions.can(request.user, RECEIVE_ACTION, site)
    return listing.respond(
        "web/purchasing/list.html",
        {
            "table_id": "po-table",
            "can_receive": can_receive,
            "can_see_receipts": permissions.can(request.user, RECEIPT_PAGES_ACTION, site),
            "crumbs": [("Purchase orders", None)],
        },
    )


@site_page()
def po_detail(request, number, *, site):
    po = purchase_order_for(request, number)
    detail = selectors.purchase_order_detail(po)
    return render(
        request,
        "web/purchasing/detail.html",
        {
            **detail,
            "po": po,
            "can_receive": "receive" in allowed_actions(po, request.user),
            "can_see_receipts": permissions.can(request.user, RECEIPT_PAGES_ACTION, po.site_id),
            "crumbs": [("Purchase orders", reverse("web:po-list")), (po.number, None)],
        },
    )


def _rows(source: str, detail: dict) -> list[dict]:
    """The receive form's rows: one per open PO line, or one per ship notice line (its lot, expiry and
    quantity), then blank rows for unexpected items. Each row: the form's initial values and what to show."""
    rows = []
    by_line = {line.pk: line for line in detail["lines"]}
    if source == "asn":
        for notice in detail["notices"]:
            line = by_line[notice.po_line_id]
            rows.append(
                {
                    "initial": {
                        "item": line.item.sku,
                        "quantity": notice.quantity,
                        "damaged": 0,
                        "lot": notice.lot_number,
                        "expiry": notice.expiry_date,
                    },
                    "line": line,
                    "notice": notice,
                }
            )
    else:
        for line in detail["lines"]:
            if line.open_quantity:
                rows.append(
                    {"initial": {"item": line.item.sku, "quantity": line.open_quantity, "damaged": 0}, "line": line}
                )
    rows.extend({"initial": {}, "line": None} for _ in range(EXTRA_ROWS))
    return rows


def _version(po) -> str:
    """What the receive form was drawn from: the PO's last change (a receipt changes it)."""
    return po.updated_at.isoformat()


def _receive_context(po, detail, source, rows, formset, header, refused=None, general=()) -> dict:
    return {
        **detail,
        "po": po,
        "source": source,
        "formset": formset,
        "header": header,
        "rows": list(zip(formset.forms, rows, strict=True)),
        "refused": refused,
        "general_errors": list(general),
        "receivable": po.status in PurchaseOrder.RECEIVABLE,
        "crumbs": [
            ("Purchase orders", reverse("web:po-list")),
            (po.number, reverse("web:po-detail", args=[po.number])),
            ("Receive", None),
        ],
    }


@site_page()
def po_receive(request, number, *, site):
    """Receive a delivery against the PO at a desk: per line good and damaged units, lot and expiry."""
    po = purchase_order_for(request, number)
    if not permissions.can(request.user, RECEIVE_ACTION, po.site_id):
        return forbidden(request, po)
    source = ReceiveSourceForm(request.POST if request.method == "POST" else request.GET).source_name()
    detail = selectors.purchase_order_detail(po)
    rows = _rows(source, detail)
    initial = [row["initial"] for row in rows]
    if request.method != "POST":
        formset = ReceiveLineFormSet(initial=initial, prefix="line")
        header = ReceiveHeaderForm(initial={"seen": _version(po)}, prefix="receipt")
        return render(
            request, "web/purchasing/receive.html", _receive_context(po, detail, source, rows, formset, header)
        )
    formset = ReceiveLineFormSet(request.POST, initial=initial, prefix="line")
    header = ReceiveHeaderForm(request.POST, prefix="receipt")
    header_ok = header.is_valid()
    seen = header.cleaned_data["seen"] if header_ok else ""
    stale = bool(seen) and seen != _version(po)
    if stale or not seen or not formset.management_form.is_valid() or len(formset.forms) != len(rows):
        # the PO changed since the form was drawn (another receipt, this one posted twice), or an incomplete POST:
        # draw it again from what the PO is now, receiving nothing
        formset = ReceiveLineFormSet(initial=initial, prefix="line")
        kept = {"seen": _version(po), **({k: header.cleaned_data[k] for k in ("final", "note")} if header_ok else {})}
        header = ReceiveHeaderForm(initial=kept, prefix="receipt")
        refused = (
            f"{po.number} changed since this page was drawn (another receipt?): nothing was received; "
            "check the lines and post again."
            if stale
            else "The form was incomplete: nothing was received; check the lines and post again."
        )
        context = _receive_context(po, detail, source, rows, formset, header, refused=refused)
        return render(request, "web/purchasing/receive.html", context, status=409 if stale else 400)
    if not (formset.is_valid() and header_ok):
        context = _receive_context(po, detail, source, rows, formset, header, refused="Check the highlighted fields.")
        return render(request, "web/purchasing/receive.html", context, status=400)
    lines, from_rows = service_lines(formset)
    try:
        receipt = receive(
            user=request.user,
            purchase_order=po,
            lines=lines,
            final=header.cleaned_data["final"],
            note=header.cleaned_data["note"],
        )
    except DomainError as exc:
        general = refusal_to_forms(exc, [formset.forms[i] for i in from_rows], None)
        po.refresh_from_db()
        # the service's words: on the lines they name, and above the form when they name no line
        refused = exc.message if general or not exc.errors else "Not received: see the highlighted lines."
        context = _receive_context(po, detail, source, rows, formset, header, refused=refused, general=general)
        return render(request, "web/purchasing/receive.html", context, status=exc.status_code)
    flash_receipt(request, receipt)
    if permissions.can(request.user, RECEIPT_PAGES_ACTION, po.site_id):
        return redirect("web:receipt-detail", receipt.number)
    return redirect("web:po-detail", po.number)


def flash_receipt(request, receipt) -> None:
    """What the receipt did, and its discrepancies (each opened an exception), as messages."""
    discrepancies = list(receipt.discrepancies.all())
    units = sum(line.quantity + line.damaged_quantity for line in receipt.lines.all())
    receipt.purchase_order.refresh_from_db()
    status = receipt.purchase_order.get_status_display().lower()
    text = f"{receipt.number}: {units} units received against {receipt.purchase_order.number} (now {status})."
    if discrepancies:
        messages.warning(
            request,
            f"{text} {len(discrepancies)} discrepanc{'y' if len(discrepancies) == 1 else 'ies'}: "
            + "; ".join(f"{d.get_code_display()} — {d.detail}" for d in discrepancies),
        )
    else:
        messages.success(request, text)
