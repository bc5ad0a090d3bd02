"""Stock adjustments of the current site for supervisors (issue 15): request one, see those waiting for approval,
approve or reject them, and the site's adjustments as a list.

A request goes through ``inventory.services.adjustments.adjust_stock`` (applied at once up to the site's approval
value, else it waits), a decision through ``decide_adjustment`` (governance's approval: the requester never
decides their own). Whether a user is offered the decision comes from ``inventory.selectors.adjustment_actions``,
the rule the service applies, so the requester is never shown the buttons. An adjustment of a site the user does
not see is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from inventory import selectors as inventory_selectors
from inventory.models import Adjustment
from inventory.services.adjustments import adjust_stock, decide_adjustment

from ..adjustments import AdjustmentForm
from ..decisions import DecisionForm, flash_form_errors
from ..lists import Column, Filter, ListPage
from ..workspace import field_errors, flash_refusal, site_page

REQUEST_ACTION = "inventory.adjust"
DECIDE = inventory_selectors.ADJUSTMENT_DECIDE
A = Adjustment.Status


def _lot(a) -> str:
    return a.lot.number if a.lot_id else ""


ADJUSTMENT_COLUMNS = (
    Column("number", "Adjustment", lambda a: a.number, "number"),
    Column("item", "Item", lambda a: a.item.sku, "item__sku"),
    Column("lot", "Lot", _lot),
    Column("location", "Location", lambda a: a.location.code, "location__code"),
    Column("status_of_units", "Units' status", lambda a: a.get_stock_status_display()),
    Column("delta", "Change", lambda a: f"{a.quantity_delta:+d}", "quantity_delta", css="num"),
    Column("value", "Value", lambda a: a.value, "value", css="num"),
    Column("reason", "Reason", lambda a: a.get_reason_code_display(), "reason_code"),
    Column("status", "Status", lambda a: a.get_status_display(), "status"),
    Column("by", "Requested by", lambda a: a.requested_by.username, "requested_by__username"),
    Column("decided", "Decided by", lambda a: a.decided_by.username if a.decided_by_id else "", "decided_by__username"),
    Column("created", "Requested", lambda a: a.created_at, "created_at"),
)


def _form_refusal(form, exc: DomainError) -> None:
    """The service's refusal on the field it names (the service says ``quantity_delta``, the form ``quantity``)."""
    names = {"quantity_delta": "quantity"}
    for name, msgs in field_errors(exc).items():
        field = names.get(name, name)
        form.add_error(field if field in form.fields else None, " ".join(msgs))


@site_page()
def adjustment_page(request, *, site):
    can_request = permissions.can(request.user, REQUEST_ACTION, site)
    form = AdjustmentForm(request.POST or None, site=site, initial={"item": request.GET.get("item", "")})
    if request.method == "POST":
        if not can_request:
            needed = ", ".join(sorted(permissions.allowed_roles(REQUEST_ACTION)))
            return render(
                request,
                "web/forbidden.html",
                {"message": f"Your role at {site.code} does not allow adjusting stock; needs one of: {needed}."},
                status=403,
            )
        if form.is_valid():
            try:
                adjustment = adjust_stock(user=request.user, **form.service_kwargs())
            except DomainError as exc:
                _form_refusal(form, exc)
            else:
                text = (
                    f"{adjustment.number}: {adjustment.quantity_delta:+d} {adjustment.item.sku} at "
                    f"{adjustment.location.code} ({adjustment.value} at standard cost)"
                )
                if adjustment.status == A.PENDING_APPROVAL:
                    messages.warning(request, f"{text} waits for an approver: nothing changes until then.")
                else:
                    messages.success(request, f"{text} applied.")
                return redirect("web:adjustments")
    site_adjustments = inventory_selectors.adjustments_for(request.user).filter(site=site)
    pending = list(site_adjustments.filter(status=A.PENDING_APPROVAL).order_by("created_at", "pk"))
    approvals = inventory_selectors.pending_adjustment_approvals(pending)
    rows = []
    for adjustment in pending:
        approval = approvals.get(adjustment.pk)
        actions = inventory_selectors.adjustment_actions(adjustment, request.user, approval=approval)
        rows.append({"adjustment": adjustment, "approval": approval, "can_decide": DECIDE in actions})
    listing = ListPage(
        request,
        site_adjustments,
        ADJUSTMENT_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=A.choices),
            Filter("reason", "Reason", "reason_code", kind="choice", choices=Adjustment.Reason.choices),
            Filter("item", "Item", "item__sku__icontains"),
            Filter("from", "Requested from", "created_at__date__gte", kind="date_from"),
            Filter("to", "Requested to", "created_at__date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"adjustments-{site.code}",
    )
    context = {
        "form": form,
        "can_request": can_request,
        "pending": rows,
        "table_id": "adjustment-table",
        "crumbs": [("Adjustments", None)],
    }
    if request.method == "POST":  # a refused request: the form again with its errors
        return render(request, "web/stock/adjustments.html", {**listing.context(), **context}, status=400)
    return listing.respond("web/stock/adjustments.html", context)


@require_POST
@site_page()
def adjustment_decide(request, pk, action, *, site):
    """Approve or reject a pending adjustment (not by its requester: the service refuses, and says why)."""
    if action not in ("approve", "reject"):
        raise Http404("No such action.")
    adjustment = inventory_selectors.adjustments_for(request.user).filter(pk=pk).first()
    if adjustment is None:
        raise Http404("No such adjustment.")
    form = DecisionForm(request.POST, action=action)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("web:adjustments")
    try:
        adjustment = decide_adjustment(
            user=request.user, adjustment=adjustment, approve=form.approve, note=form.decision_note
        )
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        if adjustment.status == A.APPLIED:
            messages.success(
                request,
                f"{adjustment.number} approved and applied: {adjustment.quantity_delta:+d} {adjustment.item.sku} at "
                f"{adjustment.location.code}.",
            )
        else:
            messages.success(request, f"{adjustment.number} rejected: the stock is unchanged.")
    return redirect("web:adjustments")
