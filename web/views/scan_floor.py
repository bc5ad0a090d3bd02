"""Scan screens for bin-to-bin moves and pick-face refills (issue 15), built like the pick and putaway screens:
one column, keyboard-wedge friendly, each scan checked as soon as it is made, and the same services as the API
(``inventory.services.move_stock``, ``warehouse.services.replenishment.confirm_replenishment_task``). Scans are
read by the one policy (``warehouse.policy.scan`` over ``inventory.policy.scanning``)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from core.errors import DomainError
from governance import permissions
from inventory.api.scanning import identified_item
from inventory.models import InventoryStatus, Location, StockQuant
from inventory.selectors import gtin_factors
from inventory.services import move_stock
from warehouse.models import ReplenishmentTask
from warehouse.policy import scan
from warehouse.services.replenishment import confirm_replenishment_task

from .. import adoption
from ..floor import ScanMoveForm
from ..scan_forms import TaskScanForm
from ..workspace import field_errors, site_page

# --- bin to bin -----------------------------------------------------------------------------------------------


@site_page("inventory.move")
def move_scan(request, *, site):
    """Scan the location the stock is in, the item (SKU, GTIN or GS1-128 label), the quantity and the location it
    goes to; AVAILABLE stock only (held stock moves on the desktop page)."""
    form = ScanMoveForm(request.POST if request.method == "POST" else None, site=site)
    if request.method == "POST" and form.is_valid():
        try:
            move = move_stock(user=request.user, **form.service_kwargs())
        except DomainError as exc:
            for name, msgs in field_errors(exc).items():
                form.add_error(name if name in form.fields else None, " ".join(msgs))
        else:
            messages.success(
                request,
                f"Moved {move.quantity} {form.item_obj.sku} from {move.from_location.code} to {move.to_location.code}.",
            )
            return redirect("web:scan-move")
    errors = {name: list(msgs) for name, msgs in form.errors.items()} if form.is_bound else {}
    values = form.values()
    return render(request, "web/scan/move.html", {"errors": errors, "values": values}, status=400 if errors else 200)


@site_page("inventory.move")
def move_check(request, *, site):
    """htmx: check one scanned field of the move screen as soon as it is scanned."""
    field = request.GET.get("field", "")
    value = scan.normalise(request.GET.get(field, ""))
    if field in ("from_location", "to_location"):
        location = Location.objects.filter(site=site, code=value).first() if value else None
        source = scan.normalise(request.GET.get("from_location", ""))
        if location is None:
            result = scan.ScanCheck(False, f"No location {value or '(nothing scanned)'} at {site.code}.")
        elif not location.holds_stock or not location.active:
            result = scan.ScanCheck(False, f"{value} holds no stock (virtual or inactive).")
        elif field == "to_location" and value == source:
            result = scan.ScanCheck(False, "Scan another location than the one the stock is in.")
        else:
            result = scan.ScanCheck(True, f"Location {value} ({location.get_kind_display().lower()}) ✓")
    elif field == "item":
        result = _item_check(site, value, scan.normalise(request.GET.get("from_location", "")))
    elif field == "lot":
        result = scan.ScanCheck(True, f"Lot {scan.lot_from_scan(value)}" if value else "")
    elif field == "quantity":
        ok = value.isdigit() and int(value) > 0
        result = scan.ScanCheck(ok, f"{value} ✓" if ok else "Enter the quantity as a whole number (at least 1).")
    else:
        raise Http404("No such field.")
    if field != "quantity":
        adoption.refused(request, result, site_id=site.pk, process=adoption.P.MOVE, field=field, scanned=value)
    return render(request, "web/scan/_feedback.html", {"result": result})


def _item_check(site, value: str, source: str) -> scan.ScanCheck:
    if not value:
        return scan.ScanCheck(False, "Scan the item label.")
    try:
        item = identified_item(value)
    except DomainError as exc:
        return scan.ScanCheck(False, exc.message)
    if item is None:
        return scan.ScanCheck(False, f"No item {value}.")
    check = scan.check_item(sku=item.sku, scanned=value, gtins=gtin_factors(item))
    free = ""
    if source:
        quants = StockQuant.objects.filter(
            item=item, location__site=site, location__code=source, status=InventoryStatus.AVAILABLE
        ).values_list("quantity", "reserved")
        units = sum(q - r for q, r in quants)
        free = f" · {units} free at {source}"
    return scan.ScanCheck(check.ok, f"{check.message}{free}", fill=check.fill)


# --- pick-face refills ----------------------------------------------------------------------------------------


def _refill_task(request, pk) -> ReplenishmentTask:
    task = (
        ReplenishmentTask.objects.select_related("item", "lot", "from_location", "to_location", "wave")
        .filter(pk=pk)
        .first()
    )
    if task is None or not permissions.can_see_site(request.user, task.site_id):
        raise Http404("No such refill task.")
    return task


@site_page("warehouse.execute")
def refill_list(request, *, site):
    tasks = list(
        ReplenishmentTask.objects.filter(site=site, status=ReplenishmentTask.Status.OPEN)
        .select_related("item", "from_location", "to_location")
        .order_by("created_at", "id")[:50]
    )
    return render(request, "web/scan/refill_list.html", {"tasks": tasks})


def _refill_context(task, **extra) -> dict:
    return {"task": task, "errors": {}, "values": {}, **extra}


@site_page("warehouse.execute")
def refill_task(request, pk, *, site):
    task = _refill_task(request, pk)
    if request.method != "POST":
        return render(request, "web/scan/refill.html", _refill_context(task))
    form = TaskScanForm(request.POST, task=task)
    if form.is_valid():
        try:
            confirm_replenishment_task(user=request.user, task=task, **form.service_kwargs())
        except DomainError as exc:
            form.add_refusal(field_errors(exc))
    if form.errors:
        context = _refill_context(task, errors=form.error_dict(), values=form.values())
        return render(request, "web/scan/refill.html", context, status=400)
    task.refresh_from_db()
    if task.status == ReplenishmentTask.Status.SHORT:
        messages.warning(
            request,
            f"REPL-{task.pk}: moved {task.moved_quantity} of {task.quantity}; "
            f"{task.from_location.code} will be counted.",
        )
    else:
        messages.success(
            request, f"REPL-{task.pk}: {task.moved_quantity} {task.item.sku} moved to {task.to_location.code}."
        )
    following = (
        ReplenishmentTask.objects.filter(site=site, status=ReplenishmentTask.Status.OPEN).order_by("created_at", "id")
    ).first()
    return redirect(reverse("web:scan-refill-task", args=[following.pk]) if following else reverse("web:scan-refill"))


@site_page("warehouse.execute")
def refill_check(request, pk, *, site):
    """htmx: check one scanned field of a refill task as soon as it is scanned."""
    task = _refill_task(request, pk)
    field = request.GET.get("field", "")
    value = request.GET.get(field, "")
    if field == "location":
        result = scan.check_location(expected=task.from_location.code, scanned=value)
    elif field == "item":
        result = scan.check_item(
            sku=task.item.sku,
            scanned=value,
            gtins=gtin_factors(task.item),
            task_lot=task.lot.number if task.lot_id else "",
        )
    elif field == "lot":
        result = scan.check_lot(expected=task.lot.number if task.lot_id else "", scanned=value)
    elif field == "quantity":
        result = scan.check_quantity(scanned=value, maximum=task.quantity, allow_zero=True)
    else:
        raise Http404("No such field.")
    if field != "quantity":
        expected = {
            "location": task.from_location.code,
            "item": task.item.sku,
            "lot": task.lot.number if task.lot_id else "",
        }
        adoption.refused(
            request,
            result,
            site_id=task.site_id,
            process=adoption.P.REFILL,
            field=field,
            scanned=value,
            expected=expected[field],
            task_id=task.pk,
            task_ref=f"REPL-{task.pk}",
        )
    return render(request, "web/scan/_feedback.html", {"result": result})
