"""Supervisors, inbound: receipts (awaiting putaway first) with their lines, discrepancies and inspection, and
the putaway tasks. Inspection goes through ``warehouse.services.inspect_receipt_line``; its refusals are shown
in its own words and change nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from governance.models import ExceptionCase
from warehouse.models import Discrepancy, PutawayTask, Receipt, ReceiptLine
from warehouse.services import inspect_receipt_line

from ..lists import Column, Filter, ListPage
from ..receiving import InspectLineForm
from ..workspace import flash_refusal, site_page


def _item_url(item) -> str:
    """The item page, linked from the lists' item cells."""
    return reverse("web:item-detail", args=[item.sku])


P = PutawayTask.Status


def _receipt(request, number) -> Receipt:
    receipt = Receipt.objects.select_related("site", "purchase_order__supplier", "transfer_order", "location").filter(
        number=number
    )
    receipt = receipt.first()
    if receipt is None or not permissions.can_see_site(request.user, receipt.site_id):
        raise Http404("No such receipt.")
    return receipt


def _receipt_url(r) -> str:
    return reverse("web:receipt-detail", args=[r.number])


def _source(r) -> str:
    if r.purchase_order_id:
        return f"{r.purchase_order.number} · {r.purchase_order.supplier.code}"
    if r.transfer_order_id:
        return r.transfer_order.number
    return ""


def _source_url(r) -> str | None:
    if r.purchase_order_id:
        return reverse("web:po-detail", args=[r.purchase_order.number])
    if r.transfer_order_id:
        return reverse("web:transfer-detail", args=[r.transfer_order.number])
    return None


RECEIPT_STATES = (
    ("AWAITING_PUTAWAY", "Awaiting putaway"),
    ("PENDING_INSPECTION", "Pending inspection"),
    ("DISCREPANCIES", "With discrepancies"),
    ("DONE", "Put away"),
)


def _state_filter(qs, value):
    if value == "AWAITING_PUTAWAY":
        return qs.filter(open_putaway__gt=0)
    if value == "PENDING_INSPECTION":
        return qs.filter(pending_inspection=True)
    if value == "DISCREPANCIES":
        return qs.filter(discrepancy_count__gt=0)
    return qs.filter(open_putaway=0, pending_inspection=False)


def _state(r) -> str:
    parts = []
    if r.open_putaway:
        parts.append(f"{r.open_putaway} to put away")
    if r.pending_inspection:
        parts.append("inspection pending")
    return ", ".join(parts) or "put away"


RECEIPT_COLUMNS = (
    Column("number", "Receipt", lambda r: r.number, "number", link=_receipt_url),
    Column("source", "Purchase order / transfer", _source, "purchase_order__number", link=_source_url),
    Column("received", "Received", lambda r: r.received_at, "received_at"),
    Column("lines", "Lines", lambda r: r.line_count, "line_count", css="num"),
    Column("putaway", "Open putaway", lambda r: r.open_putaway, "open_putaway", css="num"),
    Column("discrepancies", "Discrepancies", lambda r: r.discrepancy_count, "discrepancy_count", css="num"),
    Column("state", "State", _state),
    Column("by", "Received by", lambda r: r.received_by.username if r.received_by_id else ""),
)


def site_receipts(site):
    tasks = PutawayTask.objects.filter(receipt_line__receipt=OuterRef("pk"), status=P.OPEN)
    open_putaway = tasks.order_by().values("receipt_line__receipt").annotate(n=Count("pk")).values("n")[:1]
    return (
        Receipt.objects.filter(site=site)
        .select_related("purchase_order__supplier", "transfer_order", "received_by")
        .annotate(
            open_putaway=Coalesce(open_putaway, Value(0), output_field=IntegerField()),
            pending_inspection=Exists(
                ReceiptLine.objects.filter(receipt=OuterRef("pk"), inspection=ReceiptLine.Inspection.PENDING)
            ),
            line_count=Count("lines", distinct=True),
            discrepancy_count=Count("discrepancies", distinct=True),
        )
    )


@site_page("warehouse.plan")
def receipt_list(request, *, site):
    listing = ListPage(
        request,
        site_receipts(site),
        RECEIPT_COLUMNS,
        filters=(
            Filter("state", "Status", kind="choice", choices=RECEIPT_STATES, apply=_state_filter),
            Filter(
                "supplier",
                "Supplier",
                apply=lambda qs, v: qs.filter(
                    Q(purchase_order__supplier__code__icontains=v) | Q(purchase_order__supplier__name__icontains=v)
                ),
            ),
            Filter(
                "number",
                "Receipt / PO",
                apply=lambda qs, v: qs.filter(Q(number__icontains=v) | Q(purchase_order__number__icontains=v)),
            ),
            Filter("from", "Received from", "received_at__date__gte", kind="date_from"),
            Filter("to", "Received to", "received_at__date__lte", kind="date_to"),
        ),
        default_sort="-putaway",
        csv_name=f"receipts-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Receipts at {site.code}",
            "intro": "Receipts with stock waiting to be put away come first.",
            "table_id": "receipt-table",
            "above": "web/receipts/_po_link.html",
            "crumbs": [("Receipts", None)],
        },
    )


def _exceptions_by_discrepancy(discrepancies) -> dict[int, ExceptionCase]:
    ct = ContentType.objects.get_for_model(Discrepancy)
    cases = ExceptionCase.objects.filter(content_type=ct, object_id__in=[d.pk for d in discrepancies]).select_related(
        "code", "assignee"
    )
    out: dict[int, ExceptionCase] = {}
    for case in cases.order_by("opened_at", "pk"):
        out[case.object_id] = case  # the latest case of each discrepancy
    return out


@site_page("warehouse.plan")
def receipt_detail(request, number, *, site):
    receipt = _receipt(request, number)
    lines = list(receipt.lines.select_related("item", "lot", "po_line"))
    discrepancies = list(receipt.discrepancies.select_related("item", "line"))
    cases = _exceptions_by_discrepancy(discrepancies)
    for disc in discrepancies:
        disc.case = cases.get(disc.pk)
    tasks = list(
        PutawayTask.objects.filter(receipt_line__receipt=receipt)
        .select_related("item", "lot", "from_location", "suggested_location", "confirmed_location", "confirmed_by")
        .order_by("created_at", "pk")
    )
    now = timezone.now()
    for task in tasks:
        task.age = timesince(task.received_at, task.confirmed_at or now)
    return render(
        request,
        "web/receipts/detail.html",
        {
            "receipt": receipt,
            "lines": lines,
            "discrepancies": discrepancies,
            "tasks": tasks,
            "can_inspect": permissions.can(request.user, "warehouse.plan", receipt.site_id),
            "can_handle": permissions.can(request.user, "exception.handle", receipt.site_id),
            "crumbs": [("Receipts", reverse("web:receipt-list")), (receipt.number, None)],
        },
    )


@require_POST
@site_page("warehouse.plan")
def receipt_inspect(request, number, line_id, *, site):
    receipt = _receipt(request, number)
    line = receipt.lines.select_related("item").filter(pk=line_id).first()
    if line is None:
        raise Http404("No such receipt line.")
    form = InspectLineForm(request.POST)
    if not form.is_valid():
        for msgs in form.errors.values():
            for message in msgs:
                messages.error(request, message)
        return redirect("web:receipt-detail", receipt.number)
    data = form.cleaned_data
    release, reject, reject_to = data["release_quantity"], data["reject_quantity"], data["reject_to"]
    try:
        inspect_receipt_line(
            user=request.user,
            line=line,
            release_quantity=release,
            reject_quantity=reject,
            reject_to=reject_to,
            note=data["note"].strip(),
        )
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        done = []
        if release:
            done.append(f"{release} released to putaway")
        if reject:
            where = "returned to the vendor" if reject_to == "RETURN_TO_VENDOR" else "rejected as damaged"
            done.append(f"{reject} {where}")
        messages.success(request, f"{receipt.number} {line.item.sku}: {' and '.join(done)}.")
    return redirect("web:receipt-detail", receipt.number)


# --- putaway tasks --------------------------------------------------------------------------------------------


def _age(task) -> str:
    end = task.confirmed_at or timezone.now()
    return timesince(task.received_at, end)


PUTAWAY_COLUMNS = (
    Column(
        "task",
        "Task",
        lambda t: f"PUT-{t.pk}",
        "pk",
        link=lambda t: reverse("web:scan-putaway-task", args=[t.pk]) if t.status == P.OPEN else None,
    ),
    Column(
        "receipt",
        "Receipt",
        lambda t: t.receipt_line.receipt.number if t.receipt_line_id else "",
        "receipt_line__receipt__number",
        link=lambda t: (
            reverse("web:receipt-detail", args=[t.receipt_line.receipt.number]) if t.receipt_line_id else None
        ),
    ),
    Column(
        "item",
        "Item",
        lambda t: t.item.sku + (f" / {t.lot.number}" if t.lot_id else ""),
        "item__sku",
        link=lambda t: _item_url(t.item),
    ),
    Column("quantity", "Qty", lambda t: t.quantity, "quantity", css="num"),
    Column("from", "From", lambda t: t.from_location.code, "from_location__code"),
    Column(
        "suggested",
        "Suggested",
        lambda t: t.suggested_location.code if t.suggested_location_id else "",
        "suggested_location__code",
    ),
    Column("status", "Status", lambda t: t.get_status_display(), "status"),
    Column(
        "put",
        "Put at",
        lambda t: t.confirmed_location.code if t.confirmed_location_id else "",
        "confirmed_location__code",
    ),
    Column("received", "Received", lambda t: t.received_at, "received_at"),
    Column("age", "Age / dock to stock", _age, "received_at"),
    Column("by", "Confirmed by", lambda t: t.confirmed_by.username if t.confirmed_by_id else ""),
)


@site_page("warehouse.plan")
def putaway_list(request, *, site):
    tasks = PutawayTask.objects.filter(site=site).select_related(
        "item",
        "lot",
        "from_location",
        "suggested_location",
        "confirmed_location",
        "confirmed_by",
        "receipt_line__receipt",
    )
    listing = ListPage(
        request,
        tasks,
        PUTAWAY_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=P.choices),
            Filter("item", "Item", "item__sku__icontains"),
            Filter("receipt", "Receipt", "receipt_line__receipt__number__icontains"),
            Filter("from", "Received from", "received_at__date__gte", kind="date_from"),
            Filter("to", "Received to", "received_at__date__lte", kind="date_to"),
        ),
        default_sort="received",
        csv_name=f"putaway-tasks-{site.code}",
    )
    return listing.respond(
        "web/supervisor/list.html",
        {
            "heading": f"Putaway tasks at {site.code}",
            "intro": "Oldest first; an open task ages from receipt, a confirmed one shows its dock to stock.",
            "table_id": "putaway-table",
            "crumbs": [("Putaway tasks", None)],
        },
    )
