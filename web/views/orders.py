"""Order coordinators: order list, entry (customer credit, ATP as you type), the order page and its actions.

Every write goes through ``orders.services`` / ``governance.services``; their DomainError messages are shown
as they are (field by field on the entry form), so the page refuses what the API refuses, with the same words.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.actions import allowed_actions
from core.errors import DomainError, ValidationFailed
from governance import permissions
from governance.services import decide_approval
from inventory.models import Item
from inventory.units import to_base_quantity, unit_factors
from orders import selectors as order_selectors
from orders import services
from orders.models import Allocation, AllocationDecision, SalesOrder
from warehouse.models import ShipmentLine

from .. import display, selectors
from ..bulk import BulkOrderForm, form_refused, run_each
from ..decisions import DecisionForm, ReasonForm, flash_form_errors
from ..entry import OrderHeaderForm, OrderLineForm, attach_refusal, line_forms
from ..lists import Column, Filter, ListPage
from ..workspace import back_url, flash_refusal, site_page

BLANK_ROWS = 3
LINE_FIELDS = ("item", "quantity", "unit", "unit_price")


# --- list -----------------------------------------------------------------------------------------------------


ORDER_COLUMNS = (
    Column(
        "number", "Number", lambda o: o.number, "number", link=lambda o: reverse("web:order-detail", args=[o.number])
    ),
    Column("customer", "Customer", lambda o: f"{o.customer.code} {o.customer.name}", "customer__code"),
    Column("priority", "Prio", lambda o: o.priority, "priority", css="num"),
    Column("promised", "Promised", lambda o: o.promised_date, "promised_date"),
    Column("created", "Entered", lambda o: o.created_at, "created_at"),
    Column("status", "Status", lambda o: o.get_status_display(), "status"),
    Column("channel", "Channel", lambda o: o.get_channel_display(), "channel"),
    Column("reference", "Reference", lambda o: o.customer_reference, "customer_reference"),
)


@site_page()
def order_list(request, *, site):
    """Orders of the current site through the generic list (filters, sorting, CSV), with status tabs whose
    counts follow the other filters."""
    listing = ListPage(
        request,
        selectors.site_orders(user=request.user, site=site).select_related("customer"),
        ORDER_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=SalesOrder.Status.choices, hidden=True),
            Filter("q", "Number", "number__icontains"),
            Filter("customer", "Customer", "customer__code__iexact"),
            Filter("from", "Promised from", "promised_date__gte", kind="date_from"),
            Filter("to", "Promised to", "promised_date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"orders-{site.code}",
    )
    if request.GET.get("format") == "csv":
        return listing.csv_response()
    counts = selectors.order_status_counts(listing.filtered_except("status"))
    status = listing.values.get("status", "")
    keep = listing.query_without("status")
    tabs = [("", "All", sum(counts.values()), f"?{keep}")] + [
        (s.value, s.label, counts.get(s.value, 0), f"?{keep}&status={s.value}" if keep else f"?status={s.value}")
        for s in SalesOrder.Status
        if counts.get(s.value)
    ]
    return listing.respond(
        "web/orders/list.html",
        {
            "table_id": "order-table",
            "status": status,
            "tabs": tabs,
            "can_enter": permissions.can(request.user, "orders.manage", site),
            "row_select": "bulk-orders" if permissions.can(request.user, "orders.manage", site) else None,
            "several_sites": _order_sites(request.user).count() > 1,
            "crumbs": [("Orders", None)],
        },
    )


ALL_SITES_COLUMNS = (
    ORDER_COLUMNS[0],
    Column("site", "Site", lambda o: o.site.code, "site__code"),
    *ORDER_COLUMNS[1:],
)


def _order_sites(user):
    return permissions.visible_sites(user).filter(active=True).order_by("code")


@site_page()
def order_list_all(request, *, site):
    """Orders of every site the user sees, with a site column (for coordinators and others who see several
    sites); the same filters, sorting and CSV as the site's list, plus a site filter."""
    sites = list(_order_sites(request.user))
    listing = ListPage(
        request,
        order_selectors.orders_for(request.user).filter(site__in=sites).select_related("customer", "site"),
        ALL_SITES_COLUMNS,
        filters=(
            Filter("site", "Site", "site__code", kind="choice", choices=[(s.code, s.code) for s in sites]),
            Filter("status", "Status", "status", kind="choice", choices=SalesOrder.Status.choices),
            Filter("q", "Number", "number__icontains"),
            Filter("customer", "Customer", "customer__code__iexact"),
            Filter("from", "Promised from", "promised_date__gte", kind="date_from"),
            Filter("to", "Promised to", "promised_date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name="orders-all-sites",
    )
    if request.GET.get("format") == "csv":
        return listing.csv_response()
    return listing.respond(
        "web/orders/list_all.html",
        {
            "table_id": "order-table",
            "order_sites": sites,
            "can_enter": permissions.can(request.user, "orders.manage", site),
            "crumbs": [("Orders", reverse("web:order-list")), ("All my sites", None)],
        },
    )


# --- entry ----------------------------------------------------------------------------------------------------


def _entry_context(request, site, *, order=None, values=None, rows=None, errors=None, refused=None) -> dict:
    values = values or {}
    rows = rows or []
    while len(rows) < BLANK_ROWS or (rows and any(rows[-1].get(f) for f in LINE_FIELDS)):
        rows.append({"row": (rows[-1]["row"] + 1) if rows else 0})
    return {
        "order": order,
        "values": values,
        "rows": rows,
        "errors": errors or {},
        "refused": refused,
        "sites": list(permissions.visible_sites(request.user, "orders.manage").filter(active=True).order_by("code")),
        "channels": SalesOrder.Channel.choices,
        "crumbs": [("Orders", reverse("web:order-list"))]
        + (
            [(order.number, reverse("web:order-detail", args=[order.number])), ("Edit", None)]
            if order
            else [("New order", None)]
        ),
    }


@site_page("orders.manage")
def order_new(request, *, site):
    if request.method != "POST":
        return render(
            request,
            "web/orders/entry.html",
            _entry_context(
                request,
                site,
                values={
                    # no ship-from: the allocation rules choose the site (home, region, any; split when allowed)
                    "ship_from": "",
                    "promised_date": order_selectors.default_promised_date(site).isoformat(),
                    "channel": SalesOrder.Channel.PHONE,
                },
            ),
        )
    header = OrderHeaderForm(request.POST)
    rows = line_forms(OrderLineForm, request.POST)
    filled = [row for row in rows if not row.is_blank()]
    if header.is_valid() & all([row.is_valid() for row in rows]):
        data = header.cleaned_data
        try:
            order = services.create_order(
                user=request.user,
                customer=data["customer"],
                promised_date=data["promised_date"],
                lines=[row.service_line() for row in filled],
                channel=data["channel"] or SalesOrder.Channel.PHONE,
                priority=data["priority"],
                ship_from=data["ship_from"] or None,
                customer_reference=data["customer_reference"],
                ship_to_address=data["ship_to_address"],
            )
        except DomainError as exc:
            attach_refusal(exc, filled, header)
            return _entry_refused(request, site, header, rows, exc.message, exc.status_code)
        messages.success(request, f"Order {order.number} entered as a draft ({len(filled)} line(s)).")
        return redirect("web:order-detail", order.number)
    return _entry_refused(request, site, header, rows, "Check the highlighted fields.", 400)


def _entry_refused(request, site, header, rows, message: str, status: int, *, order=None):
    """The entry page again with what was typed and every error on its field (a 404 of the service: a 400)."""
    errors = {name: list(msgs) for name, msgs in header.errors.items()}
    if "__all__" in errors:
        errors["form"] = errors.pop("__all__")
    return render(
        request,
        "web/orders/entry.html",
        _entry_context(
            request,
            site,
            order=order,
            values=header.values(),
            rows=[row.as_row() for row in rows],
            errors=errors,
            refused=message,
        ),
        status=status if status != 404 else 400,
    )


def _visible_order(request, number: str) -> SalesOrder:
    order = order_selectors.orders_for(request.user).filter(number=number).first()
    if order is None:
        raise Http404("No such sales order.")
    return order


@site_page()
def order_edit(request, number, *, site):
    order = _visible_order(request, number)
    if not permissions.can(request.user, "orders.manage", order.site_id):
        messages.error(request, f"Your role at {order.site.code} does not allow editing orders.")
        return redirect("web:order-detail", order.number)
    if request.method != "POST":
        values = {
            "customer": order.customer.code,
            "promised_date": order.promised_date.isoformat(),
            "priority": str(order.priority),
            "ship_from": order.ship_from.code if order.ship_from else "",
            "customer_reference": order.customer_reference,
            "ship_to_address": order.ship_to_address,
            "channel": order.channel,
        }
        rows = [
            {
                "row": i,
                "item": line.item.sku,
                "quantity": f"{line.quantity.normalize():f}",
                "unit": line.unit,
                "unit_price": str(line.unit_price),
            }
            for i, line in enumerate(order.lines.select_related("item"))
        ]
        return render(
            request, "web/orders/entry.html", _entry_context(request, site, order=order, values=values, rows=rows)
        )
    header = OrderHeaderForm(request.POST)
    rows = line_forms(OrderLineForm, request.POST)
    filled = [row for row in rows if not row.is_blank()]
    if not (header.is_valid() & all([row.is_valid() for row in rows])):
        return _entry_refused(request, site, header, rows, "Check the highlighted fields.", 400, order=order)
    data = header.cleaned_data
    try:
        services.update_draft(
            user=request.user,
            order=order,
            expected_version=data["version"],
            customer=data["customer"],
            promised_date=data["promised_date"],
            priority=data["priority"],
            ship_from=data["ship_from"] or None,
            customer_reference=data["customer_reference"],
            ship_to_address=data["ship_to_address"],
            lines=[row.service_line() for row in filled],
        )
    except DomainError as exc:
        attach_refusal(exc, filled, header)
        return _entry_refused(request, site, header, rows, exc.message, exc.status_code, order=order)
    messages.success(request, f"Order {order.number} saved (draft).")
    return redirect("web:order-detail", order.number)


@site_page()
def line_row(request, *, site):
    """A blank line row for the entry form (htmx 'Add line')."""
    try:
        index = max(0, min(int(request.GET.get("index", "0")), 499))
    except ValueError:
        index = 0
    return render(request, "web/orders/_line_row.html", {"line": {"row": index}})


@site_page()
def atp_panel(request, *, site):
    """ATP per visible site for one entry row, as the coordinator types (orders.selectors.available_to_promise)."""
    row = request.GET.get("row", "0")
    row = row if row.isdigit() else "0"
    sku = (request.GET.get(f"item-{row}") or "").strip()
    quantity = (request.GET.get(f"quantity-{row}") or "").strip() or "1"
    unit = (request.GET.get(f"unit-{row}") or "").strip() or None
    context = {"row": row, "sku": sku}
    item = Item.objects.prefetch_related("units").filter(sku=sku).first() if sku else None
    if sku and item is None:
        context["problem"] = f"No item {sku!r}."
    elif item is not None:
        context["item"] = item
        context["units"] = sorted(unit_factors(item).items(), key=lambda kv: kv[1])
        try:
            base = to_base_quantity(item, quantity, unit)
        except ValidationFailed as exc:
            context["problem"] = exc.message
        else:
            context["base"] = base
            context["sites"] = order_selectors.available_to_promise(user=request.user, item=item, quantity=base)
    return render(request, "web/orders/_atp.html", context)


ITEM_MATCHES = 15


@site_page()
def item_search(request, *, site):
    """SKU search for an entry row: active items whose SKU starts with, or whose description contains, what was
    typed, as the <option>s of the row's datalist (htmx)."""
    row = request.GET.get("row", "0")
    row = row if row.isdigit() else "0"
    typed = (request.GET.get(f"item-{row}") or request.GET.get("q") or "").strip()
    items = []
    if len(typed) >= 2:
        active = Item.objects.filter(active=True)
        items = list(active.filter(sku__istartswith=typed).order_by("sku")[:ITEM_MATCHES])
        if len(items) < ITEM_MATCHES:
            seen = [i.pk for i in items]
            items += list(
                active.filter(description__icontains=typed)
                .exclude(pk__in=seen)
                .order_by("sku")[: ITEM_MATCHES - len(items)]
            )
    return render(request, "web/orders/_sku_options.html", {"items": items, "row": row})


@site_page()
def customer_panel(request, *, site):
    """Customer lookup with credit status (open order value against the credit limit)."""
    code = (request.GET.get("customer") or "").strip()
    customers = order_selectors.customers_for(request.user)
    customer = customers.filter(code__iexact=code).first() if code else None
    context = {"code": code, "customer": customer}
    if customer is not None:
        open_value = services.open_order_value(customer)
        context.update(open_value=open_value, headroom=customer.credit_limit - open_value)
    elif code:
        context["matches"] = list(customers.filter(active=True, name__icontains=code)[:8]) + list(
            customers.filter(active=True, code__istartswith=code)[:8]
        )
    return render(request, "web/orders/_customer.html", context)


# --- the order page -------------------------------------------------------------------------------------------

_HIDDEN_HISTORY_FIELDS = {"updated_at", "version"}


def _timeline(order: SalesOrder) -> list[dict]:
    records = list(order.history.select_related("history_user").order_by("-history_date", "-history_id"))
    out = []
    for i, record in enumerate(records):
        previous = records[i + 1] if i + 1 < len(records) else None
        changes = []
        if previous is not None:
            for change in record.diff_against(previous).changes:
                if change.field not in _HIDDEN_HISTORY_FIELDS:
                    changes.append(
                        (
                            change.field.replace("_", " "),
                            display.history_value(SalesOrder, change.field, change.old),
                            display.history_value(SalesOrder, change.field, change.new),
                        )
                    )
        out.append(
            {
                "when": record.history_date,
                "who": record.history_user.username if record.history_user else "system",
                "what": {"+": "Entered", "~": "Changed", "-": "Deleted"}.get(record.history_type, "Changed"),
                "status": record.get_status_display(),
                "changes": changes,
            }
        )
    return out


#: how often the order page asks whether allocation is done while the order waits for it (released)
LIVE_POLL_SECONDS = 2


def _live_context(order: SalesOrder) -> dict:
    """The parts of the order page that allocation changes: the status, the lines and the decisions."""
    lines = list(
        order.lines.select_related("item", "ship_from").prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("site"))
        )
    )
    decisions = list(AllocationDecision.objects.filter(order=order).select_related("site", "item", "line"))
    return {
        "order": order,
        "lines": lines,
        "decisions": decisions,
        "waiting_for_allocation": order.status == SalesOrder.Status.RELEASED,
        "poll_seconds": LIVE_POLL_SECONDS,
    }


@site_page()
def order_live(request, number, *, site):
    """The order page's live part (htmx): polled every LIVE_POLL_SECONDS while the order is released and waits
    for allocation; the answer for an allocated (or held, backordered ...) order has no trigger, so polling stops."""
    order = _visible_order(request, number)
    return render(request, "web/orders/_live.html", {**_live_context(order), "oob": True})


@site_page()
def order_detail(request, number, *, site):
    order = _visible_order(request, number)
    live = _live_context(order)
    shipment_lines = list(
        ShipmentLine.objects.filter(order=order).select_related("shipment", "item", "lot", "order_line")
    )
    shipments: dict[int, dict] = {}
    for sl in shipment_lines:
        shipments.setdefault(sl.shipment_id, {"shipment": sl.shipment, "lines": []})["lines"].append(sl)
    actions = allowed_actions(order, request.user)
    approval = order_selectors.pending_hold_approval(order) if order.status == SalesOrder.Status.ON_HOLD else None
    return render(
        request,
        "web/orders/detail.html",
        {
            **live,
            "shipments": list(shipments.values()),
            "timeline": _timeline(order),
            "value": services.order_value(order),
            "approval": approval,
            "actions": actions,
            "crumbs": [("Orders", reverse("web:order-list")), (order.number, None)],
        },
    )


@require_POST
@site_page("orders.manage")
def order_bulk(request, *, site):
    """Validate or release the orders ticked on the list, each through its service (a refusal is reported by the
    order's number and the others are still done); only orders of the current site."""
    form = BulkOrderForm(request.POST)
    back = back_url(request, "web:order-list")
    if not form.is_valid():
        form_refused(request, form)
        return redirect(back)
    action, selected = form.cleaned_data["action"], form.cleaned_data["selected"]
    found = {o.pk: o for o in order_selectors.orders_for(request.user).filter(site=site, pk__in=selected)}
    service = services.validate_order if action == "validate" else services.release_order
    run_each(
        request,
        selected,
        found,
        lambda order: service(user=request.user, order=order),
        label=lambda order: order.number,
        what="order",
        done_word="validated" if action == "validate" else "released",
        missing=f"no such order at {site.code}",
    )
    return redirect(back)


ORDER_ACTIONS = {
    "validate": (lambda user, order, reason: services.validate_order(user=user, order=order), "validated"),
    "release": (lambda user, order, reason: services.release_order(user=user, order=order), "released"),
    "hold": (lambda user, order, reason: services.hold_order(user=user, order=order, reason=reason), "put on hold"),
    "cancel": (lambda user, order, reason: services.cancel_order(user=user, order=order, reason=reason), "cancelled"),
}
#: the hold release request's decision: the URL's action -> the decision form's
HOLD_DECISIONS = {"approve-hold": "approve", "reject-hold": "reject"}


@require_POST
@site_page()
def order_action(request, number, action, *, site):
    order = _visible_order(request, number)
    if action in ORDER_ACTIONS:
        run, done = ORDER_ACTIONS[action]
        form = ReasonForm(request.POST)
        if not form.is_valid():
            flash_form_errors(request, form)
            return redirect("web:order-detail", order.number)
        try:
            order = run(request.user, order, form.cleaned_data["reason"])
        except DomainError as exc:
            flash_refusal(request, exc)
        else:
            order.refresh_from_db()
            note = f" Now {order.get_status_display().lower()}."
            if order.status == SalesOrder.Status.ON_HOLD and action == "release":
                messages.warning(request, f"{order.number} is on hold: {order.hold_reason}")
            elif order.status == SalesOrder.Status.RELEASED and action == "release":
                messages.success(
                    request, f"{order.number} released. Allocation runs in the background; the page shows it when done."
                )
            else:
                messages.success(request, f"{order.number} {done}.{note}")
    elif action in HOLD_DECISIONS:
        approval = order_selectors.pending_hold_approval(order)
        form = DecisionForm(request.POST, action=HOLD_DECISIONS[action])
        if approval is None:
            messages.error(request, f"{order.number} has no pending hold release request.")
        elif not form.is_valid():
            flash_form_errors(request, form)
        else:
            try:
                decide_approval(approval=approval, user=request.user, approve=form.approve, note=form.decision_note)
            except DomainError as exc:
                flash_refusal(request, exc)
            else:
                order.refresh_from_db()
                verb = "released from hold" if action == "approve-hold" else "kept on hold (release refused)"
                messages.success(request, f"{order.number} {verb}. Now {order.get_status_display().lower()}.")
    else:
        raise Http404("No such action.")
    return redirect("web:order-detail", order.number)
