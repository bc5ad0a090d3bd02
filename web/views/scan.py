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
from ..workspace import field_errors, site_page

# --- GS1-128 labels ----------------------------------------------------------------------------------------


def _fill_from_label(values: dict, gtins: dict[str, int]) -> dict[str, list[str]]:
    """A GS1-128 label scanned into the item field fills the lot and the quantity the operator left empty; a lot
    typed differently from the label's is an error on the lot."""
    label = scan.read_label(values["item"])
    if not label.is_gs1 or label.error or label.gtin not in gtins:
        return {}
    fill = scan.label_fill(label, factor=gtins[label.gtin])
    if fill.get("lot"):
        typed = scan.lot_from_scan(values.get("lot", ""))
        if typed and typed != fill["lot"]:
            return {"lot": [f"The label is lot {fill['lot']}, not {typed}."]}
        values["lot"] = fill["lot"]
    if not values.get("quantity") and "quantity" in fill:
        values["quantity"] = str(fill["quantity"])
    return {}


# --- pick -----------------------------------------------------------------------------------------------------


def read_task_scan(request, item) -> tuple[dict, dict[str, list[str]], dict[str, int]]:
    """The posted scans of a task screen (pick, refill): location, item, lot, quantity normalised, a GS1 label's
    fields filled in, the item scan required; returns the values, the field errors and the item's GTINs."""
    values = {k: scan.normalise(request.POST.get(k, "")) for k in ("location", "item", "lot", "quantity")}
    errors: dict[str, list[str]] = {}
    if not values["item"]:
        errors["item"] = ["Scan the item label."]
    gtins = gtin_factors(item)
    errors.update(_fill_from_label(values, gtins))
    values["lot"] = scan.lot_from_scan(values["lot"])
    return values, errors, gtins


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


def _short_unconfirmed(request, task, values) -> dict[str, list[str]]:
    """A pick of fewer units than asked is confirmed only with a reason, once the picker has seen the shortfall:
    the first post of a short quantity comes back asking for both (nothing is written)."""
    quantity = scan.as_quantity(values["quantity"])
    if not isinstance(quantity, int) or quantity >= task.quantity or task.status != PickTask.Status.OPEN:
        return {}
    values["short_reason"] = (request.POST.get("short_reason") or "").strip()
    values["short"] = task.quantity - quantity
    if request.POST.get("confirm_short") and values["short_reason"]:
        return {}
    message = f"Only {quantity} of {task.quantity}: {task.quantity - quantity} short. Check the location, then"
    if request.POST.get("confirm_short"):
        return {"short_reason": [f"{message} choose why it is short."]}
    return {"short_reason": [f"{message} choose why and confirm the short pick."]}


@site_page("warehouse.execute")
def pick_task(request, pk, *, site):
    task = _pick_task(request, pk)
    if request.method != "POST":
        return render(request, "web/scan/pick.html", _pick_context(task))
    values, errors, gtins = read_task_scan(request, task.item)
    if not errors:
        errors = _short_unconfirmed(request, task, values)
    if not errors:
        try:
            confirm_pick(
                user=request.user,
                task=task,
                quantity=scan.as_quantity(values["quantity"]),
                location_code=values["location"],
                lot_number=values["lot"],
                item_sku=scan.scanned_sku(scanned=values["item"], sku=task.item.sku, gtins=gtins),
                short_reason=values.get("short_reason", ""),
            )
        except DomainError as exc:
            errors = field_errors(exc)
    if errors:
        return render(request, "web/scan/pick.html", _pick_context(task, errors=errors, values=values), status=400)
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
    values = {k: scan.normalise(request.POST.get(k, "")) for k in ("item", "location", "quantity", "reason_code")}
    errors: dict[str, list[str]] = {}
    gtins = gtin_factors(task.item)
    values.setdefault("lot", "")
    errors.update(_fill_from_label(values, gtins))
    item_check = scan.check_item(
        sku=task.item.sku, lot=task.lot.number if task.lot_id else "", scanned=values["item"], gtins=gtins
    )
    if not item_check.ok:
        errors["item"] = [item_check.message]
        _putaway_refused(request, task, item_check, "item", values["item"])
    location = Location.objects.filter(site_id=task.site_id, code=values["location"]).first()
    if location is None:
        errors["location"] = [f"No location {values['location'] or '(nothing scanned)'} at this site."]
        _putaway_refused(request, task, scan.ScanCheck(False, errors["location"][0]), "location", values["location"])
    if not errors:
        try:
            confirm_putaway(
                user=request.user,
                task=task,
                location=location,
                quantity=scan.as_quantity(values["quantity"]),
                reason_code=values["reason_code"],
            )
        except DomainError as exc:
            errors = field_errors(exc)
    if errors:
        return render(
            request, "web/scan/putaway.html", _putaway_context(task, errors=errors, values=values), status=400
        )
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
