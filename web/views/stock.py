"""Stock pages of the supervisor's workspace (issue 15): the item page, bin-to-bin moves, hold / release and the lot
recall. Every POST goes through a Django form (web.floor) and one service; a refusal is shown in
the service's words and changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from inventory import selectors as inventory_selectors
from inventory.models import InventoryStatus, Item
from inventory.services import move_stock
from inventory.services.holds import HOLD_ACTION, hold_stock, recall_lot, release_stock
from inventory.units import unit_factors
from orders import selectors as order_selectors
from warehouse.selectors import lot_recall_report

from ..floor import HoldForm, LotSearchForm, MoveForm, RecallForm, ReleaseForm
from ..workspace import field_errors, site_page

STATUS_LABELS = dict(InventoryStatus.choices)
#: rows of the item page's stock table (an item in every bin of the network would draw thousands)
ITEM_STOCK_ROWS = 300


def _form_refusal(form, exc: DomainError) -> None:
    """A service's refusal on the form: on the field it names (when the form has it), else above the form."""
    for name, msgs in field_errors(exc).items():
        form.add_error(name if name in form.fields else None, " ".join(msgs))


# --- the item page --------------------------------------------------------------------------------------------


@site_page()
def item_detail(request, sku, *, site):
    item = Item.objects.prefetch_related("units").filter(sku=sku).first()
    if item is None:
        raise Http404("No such item.")
    user = request.user
    stock = list(inventory_selectors.item_stock_for(user, item=item)[: ITEM_STOCK_ROWS + 1])
    return render(
        request,
        "web/item.html",
        {
            "item": item,
            "units": sorted(unit_factors(item).items(), key=lambda kv: kv[1]),
            "sites": order_selectors.available_to_promise(user=user, item=item, quantity=1),
            "stock": stock[:ITEM_STOCK_ROWS],
            "stock_cut": len(stock) > ITEM_STOCK_ROWS,
            "moves": inventory_selectors.recent_moves_for(user, item=item),
            "order_lines": order_selectors.open_order_lines_for(user, item=item),
            "po_lines": order_selectors.open_po_lines_for(user, item=item),
            "lots": sorted({q.lot.number for q in stock if q.lot_id}),
            "may_move": permissions.can(user, "inventory.move", site),
            "may_hold": permissions.can(user, HOLD_ACTION, site),
            "status_labels": STATUS_LABELS,
            "crumbs": [("Items", None), (item.sku, None)],
        },
    )


# --- bin to bin -----------------------------------------------------------------------------------------------


@site_page("inventory.move")
def move_page(request, *, site):
    """Move stock from one bin to another of the site (the units keep their status)."""
    initial = {k: request.GET[k] for k in ("item", "lot", "from_location") if request.GET.get(k)}
    form = MoveForm(request.POST or None, site=site, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            move = move_stock(user=request.user, **form.service_kwargs())
        except DomainError as exc:
            _form_refusal(form, exc)
        else:
            messages.success(
                request,
                f"Moved {move.quantity} {form.item_obj.sku}{f' lot {form.lot_obj.number}' if form.lot_obj else ''} "
                f"from {move.from_location.code} to {move.to_location.code}.",
            )
            return redirect(reverse("web:item-detail", args=[form.item_obj.sku]))
    return render(
        request,
        "web/stock/move.html",
        {"form": form, "crumbs": [("Move stock", None)]},
        status=400 if form.errors else 200,
    )


# --- hold and release -----------------------------------------------------------------------------------------


@site_page(HOLD_ACTION)
def holds_page(request, *, site):
    """Held and damaged stock of the site with a release form per row, and a form to put stock on hold."""
    form = HoldForm(request.POST or None, site=site, initial={"item": request.GET.get("item", "")})
    if request.method == "POST" and form.is_valid():
        try:
            result = hold_stock(user=request.user, **form.service_kwargs())
        except DomainError as exc:
            _form_refusal(form, exc)
        else:
            where = ", ".join(f"{h.quantity} at {h.location}" for s in result.sites for h in s.held)
            messages.success(request, f"On hold: {form.item_obj.sku} {where}.")
            return redirect("web:holds")
    held = list(inventory_selectors.held_stock(site=site))
    why = inventory_selectors.hold_reasons(held)
    rows = [
        (q, why.get(q.pk), ReleaseForm(initial={"quant": q.pk, "quantity": q.quantity}, prefix=f"r{q.pk}"))
        for q in held
    ]
    return render(
        request,
        "web/stock/holds.html",
        {"form": form, "rows": rows, "status_labels": STATUS_LABELS, "crumbs": [("Hold / release", None)]},
        status=400 if form.errors else 200,
    )


@require_POST
@site_page(HOLD_ACTION)
def release(request, pk, *, site):
    quant = inventory_selectors.held_stock(site=site).filter(pk=pk).first()
    if quant is None:
        raise Http404("No such held stock.")
    form = ReleaseForm(request.POST, prefix=f"r{pk}")
    if form.is_valid() and form.cleaned_data["quant"] == quant.pk:
        try:
            move = release_stock(
                user=request.user,
                item=quant.item,
                location=quant.location,
                lot=quant.lot,
                quantity=form.cleaned_data["quantity"],
                from_status=quant.status,
                reason_code=form.cleaned_data["reason_code"],
                note=form.cleaned_data.get("note") or "",
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"Released {form.cleaned_data['quantity']} {quant.item.sku}"
                f"{f' lot {quant.lot.number}' if quant.lot_id else ''} at {quant.location.code} to "
                f"{move.get_to_status_display().lower()}.",
            )
            return redirect("web:holds")
    else:
        messages.error(request, "Give the quantity to release (at least 1) and a reason.")
    return redirect("web:holds")


# --- lot recall -----------------------------------------------------------------------------------------------


def _stock_by_site(stock):
    out: dict[str, list] = {}
    for q in stock:
        out.setdefault(q.site.code, []).append(q)
    return out


@site_page(HOLD_ACTION)
def recall_page(request, *, site):
    """Find a lot, see where it is and where it was shipped, recall it with a reason; then the report."""
    user = request.user
    report = None
    recall_form = None
    if request.method == "POST":
        recall_form = RecallForm(request.POST)
        search = LotSearchForm({"item": request.POST.get("item", ""), "lot": request.POST.get("lot", "")})
        found = search.found()
        if found and recall_form.is_valid():
            item, lot = found
            try:
                result = recall_lot(user=user, item=item, lot=lot, reason=recall_form.cleaned_data["reason"])
            except DomainError as exc:
                _form_refusal(recall_form, exc)
            else:
                report = lot_recall_report(user, item=item, lot=lot, result=result)
                messages.success(request, f"Lot {lot.number} of {item.sku}: {result.held_total} units put on hold.")
    else:
        search = LotSearchForm(request.GET or None)
        found = search.found() if request.GET else None
    preview = None
    if found and report is None:
        item, lot = found
        preview = lot_recall_report(user, item=item, lot=lot)
        recall_form = recall_form or RecallForm(initial={"item": item.sku, "lot": lot.number})
    elif found:
        item, lot = found
    stock = _stock_by_site(inventory_selectors.lot_stock_for(user, item=found[0], lot=found[1])) if found else {}
    return render(
        request,
        "web/stock/recall.html",
        {
            "search": search,
            "found": found,
            "preview": preview,
            "report": report,
            "recall_form": recall_form,
            "stock": stock,
            "status_labels": STATUS_LABELS,
            "crumbs": [("Lot recall", None)],
        },
        status=400 if (recall_form is not None and recall_form.errors) or (request.GET and not found) else 200,
    )
