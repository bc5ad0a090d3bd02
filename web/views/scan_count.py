"""Count entry scan screen for operators: scan the location, scan the item (or its lot), enter the quantity.

Blind: the screen, its checks and its messages never show the system's quantity (the service reads it under
lock when the count is entered). Entries go through ``inventory.services.counts.enter_count`` (or
``record_found_stock`` for an item the count does not list at that location), so the screen refuses what the
API refuses, in the same words."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from core.errors import DomainError
from governance import permissions
from inventory.models import CycleCount, CycleCountLine, Item, Location, Lot
from inventory.services.counts import enter_count, record_found_stock
from warehouse.policy import scan

from .. import adoption
from .. import count_scan as checks
from ..scan_forms import CountScanForm
from ..workspace import field_errors, site_page


def _count(request, pk) -> CycleCount:
    count = CycleCount.objects.filter(pk=pk).first()
    if count is None or not permissions.can_see_site(request.user, count.site_id):
        raise Http404("No such count.")
    return count


def _todo(count: CycleCount) -> tuple[checks.Todo, set[str]]:
    """Location code -> (sku, lot) still to count, and every location code on the count. No quantities read."""
    todo: checks.Todo = {}
    on_count: set[str] = set()
    rows = count.lines.values_list("location__code", "item__sku", "lot__number", "status")
    for code, sku, lot, status in rows:
        on_count.add(code)
        if status in CycleCountLine.TO_COUNT:
            todo.setdefault(code, set()).add((sku, lot or ""))
    return todo, on_count


@site_page("inventory.count")
def count_list(request, *, site):
    counts = list(
        CycleCount.objects.filter(site=site, status=CycleCount.Status.OPEN)
        .annotate(
            to_count=Count("lines", filter=Q(lines__status__in=CycleCountLine.TO_COUNT)),
            locations=Count("lines__location", filter=Q(lines__status__in=CycleCountLine.TO_COUNT), distinct=True),
        )
        .filter(to_count__gt=0)
        .order_by("plan_date", "created_at", "pk")[:50]
    )
    return render(request, "web/scan/count_list.html", {"counts": counts})


def _context(count, todo, *, kept: str = "", errors=None, values=None) -> dict:
    """``kept``: the location the counter is at (kept from the last count until another location is scanned or
    "Next location" is pressed): pre-filled, shown as the current location, and the item field has the focus."""
    values = dict(values or {})
    if kept:
        values["location"] = kept
    return {
        "count": count,
        "todo": sorted((code, len(pairs)) for code, pairs in todo.items() if pairs),
        "errors": errors or {},
        "values": values,
        "kept": kept,
        "kept_left": len(todo.get(kept, ())) if kept else 0,
        "kept_note": _kept_note(kept, todo) if kept else "",
        "focus_item": bool(kept),
        "focus_location": not kept,
    }


def _kept_note(kept: str, todo: checks.Todo) -> str:
    if todo.get(kept):
        return f"Location {kept} kept: scan the next item here, or scan another location."
    return f"Location {kept} kept: nothing listed is left here; scan another location or press Next location."


def _kept_location(scanned: str, on_count: set[str]) -> str:
    """The location to keep: one of the count's locations (a code from elsewhere is not kept)."""
    code = scan.normalise(scanned)
    return code if code in on_count else ""


@site_page("inventory.count")
def count_task(request, pk, *, site):
    count = _count(request, pk)
    todo, on_count = _todo(count)
    if request.method != "POST":
        kept = _kept_location(request.GET.get("location", ""), on_count)
        return render(request, "web/scan/count.html", _context(count, todo, kept=kept))
    form = CountScanForm(request.POST, count=count, todo=todo, on_count=on_count)
    valid = form.is_valid()
    for field, (check, scanned) in form.refusals.items():
        _count_refused(request, count, check, field, scanned)
    values = form.values()
    errors: dict[str, list[str]] = {} if valid else form.error_dict()
    line = None
    if valid:
        location = Location.objects.filter(site_id=count.site_id, code=values["location"]).first()
        line, errors = _find_line(count, location, values)
    if not errors:
        quantity = form.cleaned_data["counted"]
        try:
            if line is not None:
                line = enter_count(user=request.user, line=line, quantity=quantity)
            else:
                item, lot, errors = _found_item(values)
                if not errors:
                    line = record_found_stock(
                        user=request.user, count=count, location=location, item=item, lot=lot, quantity=quantity
                    )
        except DomainError as exc:
            errors = field_errors(exc)
    if errors:
        # the location scanned stays the current one when only the item, lot or quantity was refused
        kept = "" if "location" in errors else _kept_location(values["location"], on_count)
        context = _context(count, todo, kept=kept, errors=errors, values=values)
        return render(request, "web/scan/count.html", context, status=400)
    label = f"{line.location.code} {line.item.sku}" + (f" lot {line.lot.number}" if line.lot_id else "")
    if line.status == CycleCountLine.Status.RECOUNT:
        messages.warning(request, f"{label}: {values['quantity']} recorded; another counter must recount it.")
    else:
        messages.success(request, f"{label}: {values['quantity']} counted.")
    count.refresh_from_db()
    if count.status != CycleCount.Status.OPEN or not count.lines.filter(status__in=CycleCountLine.TO_COUNT).exists():
        messages.info(request, f"{count.number}: nothing left to count.")
        return redirect("web:scan-count")
    # the next item is counted at the same location until the counter scans another one (or "Next location")
    url = reverse("web:scan-count-task", args=[count.pk])
    return redirect(f"{url}?{urlencode({'location': line.location.code})}")


def _find_line(count, location, values) -> tuple[CycleCountLine | None, dict]:
    """The count's line the scans name (to count or not: the service answers for a counted line); None when the
    item is not on the count at that location (found stock)."""
    lines = list(count.lines.filter(location=location).select_related("item", "lot"))
    scanned, lot_scan = values["item"], values["lot"]
    by_lot = [x for x in lines if x.lot_id and x.lot.number == scanned]
    if by_lot:
        return by_lot[0], {}
    of_item = [x for x in lines if x.item.sku == scanned]
    if lot_scan:
        of_item = [x for x in of_item if x.lot_id and x.lot.number == lot_scan]
        if not of_item and any(x.item.sku == scanned for x in lines):
            return None, {}  # a lot of a listed item that the count does not list: found stock
    if len(of_item) > 1:
        open_ones = [x for x in of_item if x.status in CycleCountLine.TO_COUNT]
        if len(open_ones) == 1:
            return open_ones[0], {}
        return None, {"lot": [f"{scanned} has several lots at {location.code}: scan the lot label."]}
    if of_item:
        return of_item[0], {}
    return None, {}


def _found_item(values) -> tuple[Item | None, Lot | None, dict]:
    item = Item.objects.filter(sku=values["item"]).first()
    lot = None
    if item is None:
        lot = Lot.objects.select_related("item").filter(number=values["item"]).first()
        if lot is None:
            return None, None, {"item": [f"No item {values['item']!r}."]}
        item = lot.item
    elif values["lot"]:
        lot = Lot.objects.filter(item=item, number=values["lot"]).first()
        if lot is None:
            return None, None, {"lot": [f"{item.sku} has no lot {values['lot']!r}."]}
    return item, lot, {}


@site_page("inventory.count")
def count_check(request, pk, *, site):
    """htmx: check one scanned field as soon as it is scanned (never against the expected quantity)."""
    count = _count(request, pk)
    field = request.GET.get("field", "")
    value = request.GET.get(field, "")
    if field == "quantity":
        result = checks.check_quantity(scanned=value)
        return render(request, "web/scan/_feedback.html", {"result": result})
    todo, on_count = _todo(count)
    if field == "location":
        result = checks.check_location(todo=todo, on_count=on_count, scanned=value, count_number=count.number)
    elif field == "item":
        sku = scan.normalise(value)
        known = bool(sku) and (Item.objects.filter(sku=sku).exists() or Lot.objects.filter(number=sku).exists())
        result = checks.check_item(
            todo=todo, location=request.GET.get("location", ""), scanned=value, known_item=known, on_count=on_count
        )
    elif field == "lot":
        lot = scan.normalise(value)
        result = checks.ScanCheck(True, f"Lot {lot} ✓" if lot else "")
    else:
        raise Http404("No such field.")
    _count_refused(request, count, result, field, value)
    return render(request, "web/scan/_feedback.html", {"result": result})


def _count_refused(request, count, result, field: str, value: str) -> None:
    """Blind: what was expected is not recorded (it would name what the count still asks for)."""
    adoption.refused(
        request,
        result,
        site_id=count.site_id,
        process=adoption.P.COUNT,
        field=field,
        scanned=value,
        task_id=count.pk,
        task_ref=count.number,
    )
