"""Scan screens for operators: pick confirm and putaway confirm. Big targets, one column, keyboard-wedge
friendly (scan location, scan item, enter quantity; Enter moves on), immediate feedback on a wrong scan, and the
same services as the API (warehouse.services.confirm_pick / confirm_putaway)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from core.errors import DomainError
from governance import permissions
from inventory.models import Location
from inventory.selectors import gtin_factors
from orders.models import TransferOrder
from warehouse.models import PickTask, PutawayTask, Wave
from warehouse.policy import scan
from warehouse.services import confirm_pick, confirm_putaway
from warehouse.services.putaway import OVERRIDE_REASONS

from .. import adoption
from ..scan_forms import PickScanForm, PutawayScanForm
from ..workspace import field_errors, site_page

# --- pick -----------------------------------------------------------------------------------------------------


def _pick_task(request, pk) -> PickTask:
    related = ("item", "lot", "location", "wave", "order_line__order", "transfer_line__transfer")
    task = PickTask.objects.select_related(*related).filter(pk=pk).first()
    if task is None or not permissions.can_see_site(request.user, task.site_id):
        raise Http404("No such pick task.")
    return task


@site_page("warehouse.execute")
def pick_list(request, *, site):
    # a released wave's picks and a transfer's picks at the source (no wave) while it is being picked
    released = Q(wave__status=Wave.Status.RELEASED) | Q(transfer_line__transfer__status=TransferOrder.Status.PICKING)
    tasks = list(
        PickTask.objects.filter(released, site=site, status=PickTask.Status.OPEN)
        .select_related("item", "location", "wave", "transfer_line__transfer")
        .order_by("wave__released_at", "wave_id", "sequence", "id")[:50]
    )
    return render(request, "web/scan/pick_list.html", {"tasks": tasks})


def _pick_context(task, **extra) -> dict:
    return {"task": task, "errors": {}, "values": {}, "short_reasons": PickTask.ShortReason.choices, **extra}


@site_page("warehouse.execute")
def pick_task(request, pk, *, site):
    task = _pick_task(request, pk)
    if request.method != "POST":
        return render(request, "web/scan/pick.html", _pick_context(task))
    form = PickScanForm(request.POST, task=task)
    if form.is_valid():
        try:
            confirm_pick(
                user=request.user,
                task=task,
                short_reason=form.cleaned_data["short_reason"],
                **form.service_kwargs(),
            )
        except DomainError as exc:
            form.add_refusal(field_errors(exc))
    if form.errors:
        context = _pick_context(task, errors=form.error_dict(), values=form.values())
        return render(request, "web/scan/pick.html", context, status=400)
    task.refresh_from_db()
    if task.status == PickTask.Status.SHORT:
        messages.warning(
            request,
            f"PICK-{task.pk}: picked {task.picked_quantity} of {task.quantity} "
            f"({task.get_short_reason_display().lower() or 'short'}); short pick reported, "
            f"{task.location.code} will be counted.",
        )
    else:
        messages.success(request, f"PICK-{task.pk}: {task.picked_quantity} {task.item.sku} picked.")
    if task.transfer_line_id:
        same = Q(transfer_line__transfer_id=task.transfer_line.transfer_id)
    else:
        same = Q(wave_id=task.wave_id)
    following = PickTask.objects.filter(same, status=PickTask.Status.OPEN).order_by("sequence", "id").first()
    return redirect(reverse("web:scan-pick-task", args=[following.pk]) if following else reverse("web:scan-pick"))


@site_page("warehouse.execute")
def pick_check(request, pk, *, site):
    """htmx: check one scanned field of a pick task as soon as it is scanned."""
    task = _pick_task(request, pk)
    field = request.GET.get("field", "")
    value = request.GET.get(field, "")
    if field == "location":
        result = scan.check_location(expected=task.location.code, scanned=value)
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
            "location": task.location.code,
            "item": task.item.sku,
            "lot": task.lot.number if task.lot_id else "",
        }
        adoption.refused(
            request,
            result,
            site_id=task.site_id,
            process=adoption.P.TRANSFER_PICK if task.transfer_line_id else adoption.P.PICK,
            field=field,
            scanned=value,
            expected=expected[field],
            task_id=task.pk,
            task_ref=f"PICK-{task.pk}",
        )
    return render(request, "web/scan/_feedback.html", {"result": result})


# --- putaway --------------------------------------------------------------------------------------------------


def _putaway_task(request, pk) -> PutawayTask:
    task = (
        PutawayTask.objects.select_related("item", "lot", "from_location", "suggested_location").filter(pk=pk).first()
    )
    if task is None or not permissions.can_see_site(request.user, task.site_id):
        raise Http404("No such putaway task.")
    return task


@site_page("warehouse.execute")
def putaway_list(request, *, site):
    tasks = list(
        PutawayTask.objects.filter(site=site, status=PutawayTask.Status.OPEN)
        .select_related("item", "from_location", "suggested_location")
        .order_by("received_at", "id")[:50]
    )
    return render(request, "web/scan/putaway_list.html", {"tasks": tasks})


def _putaway_context(task, **extra) -> dict:
    return {"task": task, "errors": {}, "values": {}, "reasons": OVERRIDE_REASONS, **extra}


@site_page("warehouse.execute")
def putaway_task(request, pk, *, site):
    task = _putaway_task(request, pk)
    if request.method != "POST":
        return render(request, "web/scan/putaway.html", _putaway_context(task))
    form = PutawayScanForm(request.POST, task=task)
    valid = form.is_valid()
    for field, (check, scanned) in form.refusals.items():
        _putaway_refused(request, task, check, field, scanned)
    if valid:
        try:
            confirm_putaway(
                user=request.user,
                task=task,
                location=form.location_obj,
                quantity=scan.as_quantity(form.cleaned_data["quantity"]),
                reason_code=form.cleaned_data["reason_code"],
            )
        except DomainError as exc:
            form.add_refusal(field_errors(exc))
    if form.errors:
        context = _putaway_context(task, errors=form.error_dict(), values=form.values())
        return render(request, "web/scan/putaway.html", context, status=400)
    values, location = form.values(), form.location_obj
    messages.success(request, f"PUT-{task.pk}: {values['quantity']} {task.item.sku} put away at {location.code}.")
    return redirect("web:scan-putaway")


@site_page("warehouse.execute")
def putaway_check(request, pk, *, site):
    task = _putaway_task(request, pk)
    field = request.GET.get("field", "")
    value = request.GET.get(field, "")
    if field == "item":
        result = scan.check_item(
            sku=task.item.sku, lot=task.lot.number if task.lot_id else "", scanned=value, gtins=gtin_factors(task.item)
        )
    elif field == "location":
        code = scan.normalise(value)
        location = Location.objects.filter(site_id=task.site_id, code=code).first() if code else None
        if location is None:
            result = scan.ScanCheck(False, f"No location {code or '(nothing scanned)'} at this site.")
        elif location.kind not in (Location.Kind.STORAGE, Location.Kind.PICK):
            result = scan.ScanCheck(False, f"{code} is a {location.get_kind_display().lower()} location.")
        elif task.suggested_location_id and location.pk != task.suggested_location_id:
            result = scan.ScanCheck(True, f"{code} is not the suggested location: choose a reason.", warn=True)
        else:
            result = scan.ScanCheck(True, f"Location {code} ✓")
    elif field == "quantity":
        result = scan.check_quantity(scanned=value, maximum=task.quantity, allow_zero=False)
    else:
        raise Http404("No such field.")
    if field != "quantity":
        _putaway_refused(request, task, result, field, value)
    return render(request, "web/scan/_feedback.html", {"result": result})


def _putaway_refused(request, task, result, field: str, value: str) -> None:
    expected = (
        task.item.sku if field == "item" else (task.suggested_location.code if task.suggested_location_id else "")
    )
    adoption.refused(
        request,
        result,
        site_id=task.site_id,
        process=adoption.P.PUTAWAY,
        field=field,
        scanned=value,
        expected=expected,
        task_id=task.pk,
        task_ref=f"PUT-{task.pk}",
    )
