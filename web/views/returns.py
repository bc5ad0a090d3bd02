"""Returns (RMA) of the current site: the list, a return's page, authorizing a return against an order's shipped
lines and receiving / inspecting one, with a line split between dispositions (3 restocked, 1 scrapped).

Every write goes through the services the API calls: ``orders.services.returns.create_return`` and
``decide_return``, ``warehouse.services.returns.receive_return``; what a user may do to a return comes from
``orders.selectors.return_actions``. A return or order of a site the user does not see is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from orders import selectors as order_selectors
from orders.models import Customer, ReturnAuthorization
from orders.services.returns import create_return, decide_return
from warehouse.services.returns import receive_return

from ..decisions import DecisionForm, flash_form_errors
from ..lists import Column, Filter, ListPage
from ..returns import (
    AUTHORIZE_FIELDS,
    MAX_PARTS,
    RECEIVE_FIELDS,
    AuthorizeHeaderForm,
    AuthorizeLineFormSet,
    ReceivePartFormSet,
    ReceiveReturnForm,
    ReturnOrderForm,
    ReturnPartsForm,
    authorize_lines,
    receive_lines,
    receive_rows,
    refusal_to_rows,
)
from ..workspace import flash_refusal, site_page

RMA = ReturnAuthorization
AUTHORIZE_ACTION = "returns.manage"
RECEIVE = order_selectors.RETURN_RECEIVE
DECIDE = order_selectors.RETURN_DECIDE


def return_for(request, number: str) -> ReturnAuthorization:
    """The return ``number`` when the user sees its site; else a 404 that does not say whether it exists."""
    rma = order_selectors.returns_for(request.user).filter(number=number).first()
    if rma is None:
        raise Http404("No such return.")
    return rma


def forbidden(request, site, action: str, what: str):
    needed = ", ".join(sorted(permissions.allowed_roles(action)))
    return render(
        request,
        "web/forbidden.html",
        {"message": f"Your role at {site.code} does not allow {what}; needs one of: {needed}."},
        status=403,
    )


def _return_url(rma) -> str:
    return reverse("web:return-detail", args=[rma.number])


RETURN_COLUMNS = (
    Column("number", "Return", lambda r: r.number, "number", link=_return_url),
    Column("customer", "Customer", lambda r: f"{r.customer.code} · {r.customer.name}", "customer__code"),
    Column("order", "Order", lambda r: r.sales_order.number, "sales_order__number"),
    Column("status", "Status", lambda r: r.get_status_display(), "status"),
    Column("units", "Units", lambda r: r.units, "units", css="num"),
    Column("received", "Received", lambda r: r.received_units, "received_units", css="num"),
    Column("value", "Value", lambda r: f"{r.value} {r.currency}", "value", css="num"),
    Column("credit", "Credit", lambda r: r.get_credit_status_display(), "credit_status"),
    Column("created", "Authorized / requested", lambda r: r.created_at, "created_at"),
    Column("arrived", "Arrived", lambda r: r.received_at, "received_at"),
)


@site_page()
def return_list(request, *, site):
    queryset = (
        order_selectors.returns_for(request.user)
        .filter(site=site)
        .annotate(units=Sum("lines__quantity"), received_units=Sum("lines__received_quantity"))
    )
    listing = ListPage(
        request,
        queryset,
        RETURN_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=RMA.Status.choices),
            Filter("credit", "Credit", "credit_status", kind="choice", choices=RMA.CreditStatus.choices),
            Filter(
                "customer",
                "Customer",
                apply=lambda qs, v: qs.filter(Q(customer__code__icontains=v) | Q(customer__name__icontains=v)),
            ),
            Filter(
                "number",
                "Return or order",
                apply=lambda qs, v: qs.filter(Q(number__icontains=v) | Q(sales_order__number__icontains=v)),
            ),
            Filter("from", "Created from", "created_at__date__gte", kind="date_from"),
            Filter("to", "Created to", "created_at__date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"returns-{site.code}",
    )
    return listing.respond(
        "web/returns/list.html",
        {
            "table_id": "return-table",
            "can_authorize": permissions.can(request.user, AUTHORIZE_ACTION, site),
            "crumbs": [("Returns", None)],
        },
    )


@site_page()
def return_detail(request, number, *, site):
    rma = return_for(request, number)
    detail = order_selectors.return_detail(rma)
    actions = order_selectors.return_actions(rma, request.user, approval=detail["approval"])
    return render(
        request,
        "web/returns/detail.html",
        {
            **detail,
            "rma": rma,
            "can_receive": RECEIVE in actions,
            "can_decide": DECIDE in actions,
            "crumbs": [("Returns", reverse("web:return-list")), (rma.number, None)],
        },
    )


@require_POST
@site_page()
def return_decide(request, number, action, *, site):
    """Approve or reject what the return waits for (its authorization, or its credit after receiving)."""
    rma = return_for(request, number)
    if action not in ("approve", "reject"):
        raise Http404("No such action.")
    form = DecisionForm(request.POST, action=action)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("web:return-detail", rma.number)
    try:
        rma = decide_return(user=request.user, rma=rma, approve=form.approve, note=form.decision_note)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(
            request,
            f"{rma.number}: {'approved' if action == 'approve' else 'rejected'} — now "
            f"{rma.get_status_display().lower()}, credit {rma.get_credit_status_display().lower()}.",
        )
    return redirect("web:return-detail", rma.number)


# --- authorize ------------------------------------------------------------------------------------------------

ORDER_COLUMNS = (
    Column(
        "number", "Order", lambda o: o.number, "number", link=lambda o: f"{reverse('web:return-new')}?order={o.number}"
    ),
    Column("customer", "Customer", lambda o: f"{o.customer.code} · {o.customer.name}", "customer__code"),
    Column("status", "Status", lambda o: o.get_status_display(), "status"),
    Column("shipped", "Shipped units", lambda o: o.shipped_units, "shipped_units", css="num"),
    Column("returns", "Returns", lambda o: o.return_count, "return_count", css="num"),
    Column("promised", "Promised", lambda o: o.promised_date, "promised_date"),
)


def _choose_order(request, site):
    """Step one: the site's orders with shipped units, by customer; each opens the lines to return."""
    queryset = order_selectors.returnable_orders(user=request.user, site=site).annotate(
        shipped_units=Sum("lines__shipped_quantity"), return_count=Count("returns", distinct=True)
    )
    customers = Customer.objects.filter(pk__in=queryset.values("customer_id")).order_by("code")
    listing = ListPage(
        request,
        queryset,
        ORDER_COLUMNS,
        filters=(
            Filter(
                "customer",
                "Customer",
                "customer__code",
                kind="choice",
                choices=[(c.code, f"{c.code} · {c.name}") for c in customers],
            ),
            Filter("number", "Order number", "number__icontains"),
        ),
        default_sort="-promised",
        page_size=15,
        csv_name=f"returnable-orders-{site.code}",
    )
    return listing.respond(
        "web/returns/choose_order.html",
        {
            "table_id": "returnable-orders",
            "crumbs": [("Returns", reverse("web:return-list")), ("Authorize a return", None)],
        },
    )


def _authorize_context(order, rows, formset, header, refused=None, general=()) -> dict:
    return {
        "order": order,
        "formset": formset,
        "header": header,
        "rows": list(zip(formset.forms, rows, strict=True)),
        "refused": refused,
        "general_errors": list(general),
        "crumbs": [
            ("Returns", reverse("web:return-list")),
            ("Authorize a return", reverse("web:return-new")),
            (order.number, None),
        ],
    }


@site_page(AUTHORIZE_ACTION)
def return_new(request, *, site):
    """Authorize a return: choose the customer's shipped order, then per shipped line the units and the reason."""
    number = ReturnOrderForm(request.POST if request.method == "POST" else request.GET).number()
    if number == "":
        return _choose_order(request, site)
    order = (
        order_selectors.returnable_orders(user=request.user, site=site).filter(number=number).first()
        if number
        else None
    )
    if order is None:
        raise Http404("No such shipped order.")
    lines = order_selectors.returnable_lines(order)
    initial = [{"line": line.line_number} for line in lines]
    template = "web/returns/authorize.html"
    if request.method != "POST":
        formset = AuthorizeLineFormSet(initial=initial, prefix="line")
        header = AuthorizeHeaderForm(prefix="rma")
        return render(request, template, _authorize_context(order, lines, formset, header))
    formset = AuthorizeLineFormSet(request.POST, initial=initial, prefix="line")
    header = AuthorizeHeaderForm(request.POST, prefix="rma")
    if not formset.management_form.is_valid() or len(formset.forms) != len(lines):
        formset = AuthorizeLineFormSet(initial=initial, prefix="line")
        refused = "The order's lines changed since this page was drawn: nothing was authorized; check and post again."
        return render(request, template, _authorize_context(order, lines, formset, header, refused), status=409)
    if not (formset.is_valid() and header.is_valid()):
        context = _authorize_context(order, lines, formset, header, "Check the highlighted fields.")
        return render(request, template, context, status=400)
    service_lines, from_rows = authorize_lines(formset, {line.line_number: line for line in lines})
    if any(form.errors for form in formset.forms):
        context = _authorize_context(order, lines, formset, header, "Check the highlighted fields.")
        return render(request, template, context, status=400)
    try:
        rma = create_return(user=request.user, order=order, lines=service_lines, note=header.cleaned_data["note"])
    except DomainError as exc:
        general = refusal_to_rows(exc, [formset.forms[i] for i in from_rows], AUTHORIZE_FIELDS)
        lines = order_selectors.returnable_lines(order)
        refused = exc.message if general or not exc.errors else "Not authorized: see the highlighted lines."
        context = _authorize_context(order, lines, formset, header, refused, general)
        return render(request, template, context, status=exc.status_code)
    if rma.status == RMA.Status.PENDING_APPROVAL:
        messages.warning(
            request,
            f"{rma.number} for {order.number} ({rma.value} {rma.currency}) is above the site's authorization value: "
            "it waits for an approver.",
        )
    else:
        messages.success(request, f"{rma.number} authorized for {order.number}: {rma.value} {rma.currency}.")
    return redirect("web:return-detail", rma.number)


# --- receive / inspect ----------------------------------------------------------------------------------------


def _parts(request) -> int:
    return ReturnPartsForm(request.POST if request.method == "POST" else request.GET).parts_count()


def _receive_context(rma, parts, rows, formset, header, refused=None, general=()) -> dict:
    return {
        "rma": rma,
        "parts": parts,
        "more_parts": parts + 1 if parts < MAX_PARTS else None,
        "formset": formset,
        "header": header,
        "rows": list(zip(formset.forms, rows, strict=True)),
        "refused": refused,
        "general_errors": list(general),
        "crumbs": [
            ("Returns", reverse("web:return-list")),
            (rma.number, reverse("web:return-detail", args=[rma.number])),
            ("Receive", None),
        ],
    }


@site_page()
def return_receive(request, number, *, site):
    """Receive and inspect a return at the dock: per line what came back, in parts when it goes several ways."""
    rma = return_for(request, number)
    if not permissions.can(request.user, "warehouse.execute", rma.site_id):
        return forbidden(request, rma.site, "warehouse.execute", "receiving returns")
    if RECEIVE not in order_selectors.return_actions(rma, request.user):
        messages.error(request, f"{rma.number} is {rma.get_status_display().lower()}: it cannot be received.")
        return redirect("web:return-detail", rma.number)
    lines = order_selectors.return_detail(rma)["lines"]
    parts = _parts(request)
    rows = receive_rows(lines, parts)
    initial = [row["initial"] for row in rows]
    template = "web/returns/receive.html"
    if request.method != "POST":
        formset = ReceivePartFormSet(initial=initial, prefix="part")
        header = ReceiveReturnForm(prefix="rma")
        return render(request, template, _receive_context(rma, parts, rows, formset, header))
    formset = ReceivePartFormSet(request.POST, initial=initial, prefix="part")
    header = ReceiveReturnForm(request.POST, prefix="rma")
    if not formset.management_form.is_valid() or len(formset.forms) != len(rows):
        formset = ReceivePartFormSet(initial=initial, prefix="part")
        refused = "The form was incomplete: nothing was received; check the lines and post again."
        return render(request, template, _receive_context(rma, parts, rows, formset, header, refused), status=400)
    if not (formset.is_valid() and header.is_valid()):
        context = _receive_context(rma, parts, rows, formset, header, "Check the highlighted fields.")
        return render(request, template, context, status=400)
    service_lines, from_rows = receive_lines(formset, {line.line_number: line for line in lines})
    if any(form.errors for form in formset.forms):
        context = _receive_context(rma, parts, rows, formset, header, "Check the highlighted fields.")
        return render(request, template, context, status=400)
    try:
        rma = receive_return(
            user=request.user, rma=rma, lines=service_lines, arrived_at=header.cleaned_data.get("arrived_at")
        )
    except DomainError as exc:
        general = refusal_to_rows(exc, [formset.forms[i] for i in from_rows], RECEIVE_FIELDS)
        rma.refresh_from_db()
        refused = exc.message if general or not exc.errors else "Not received: see the highlighted rows."
        context = _receive_context(rma, parts, rows, formset, header, refused, general)
        return render(request, template, context, status=exc.status_code)
    received = sum(line.received_quantity for line in rma.lines.all())
    text = f"{rma.number}: {received} units received; credit {rma.credit_amount} {rma.currency}"
    if rma.credit_status == RMA.CreditStatus.PENDING_APPROVAL:
        messages.warning(request, f"{text}, above the site's credit value: it waits for an approver.")
    else:
        messages.success(request, f"{text} ({rma.get_credit_status_display().lower()}).")
    return redirect("web:return-detail", rma.number)
