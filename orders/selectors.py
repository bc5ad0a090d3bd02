"""Every non-trivial read of the orders app."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum

from governance import permissions
from governance.models import Site
from governance.services.sites import site_local_date
from inventory.models import Item, StockLevel
from orders.models import (
    Allocation,
    Customer,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    TransferOrder,
    TransferOrderLine,
)
from orders.policy import lifecycle


def default_promised_date(site: Site | None) -> date:
    """The promised date order entry proposes: the next working day at ``site`` (orders.policy.lifecycle)."""
    return lifecycle.default_promised_date(site_local_date(site))


def orders_for(user) -> QuerySet[SalesOrder]:
    """Orders owned by the user's sites, or allocated at one of them."""
    qs = SalesOrder.objects.select_related("customer", "site", "ship_from")
    ids = permissions.site_ids_for(user)
    if ids is None:
        return qs
    allocated_here = Allocation.objects.filter(line__order=OuterRef("pk"), site_id__in=ids)
    return qs.filter(Q(site_id__in=ids) | Exists(allocated_here))


def customers_for(user) -> QuerySet[Customer]:
    """Customer master data is enterprise-wide: every signed-in user may read it."""
    return Customer.objects.select_related("home_site")


def earliest_promise_date(
    *, today: date, atp_now: int, backordered: int, quantity: int, inbound: list[tuple[date, int]]
) -> date | None:
    """Pure: the first date ``quantity`` can be promised, from what is free now plus expected receipts (in date
    order), after the units earlier promises (backorders) already wait for. None: not within known supply."""
    position = atp_now - backordered
    if position >= quantity:
        return today
    for expected, units in sorted(inbound):
        position += units
        if position >= quantity:
            return max(expected, today)
    return None


def available_to_promise(*, user, item: Item, quantity: int, site: Site | None = None) -> list[dict]:
    """Per visible site: what can be promised now (available less allocated), whether ``quantity`` fits, and
    the earliest date it can be promised counting open purchase orders net of existing backorders.

    Blind counting: at a site where ``user`` counts this item and the count is open
    (``inventory.selectors.blind_stock_for``), the row says ``blind`` and every figure derived from the stock
    level (available, allocated, ATP, in transit, whether it fits, the earliest date) is None."""
    from inventory.selectors import blind_stock_for

    sites = permissions.visible_sites(user).filter(active=True)
    if site is not None:
        sites = sites.filter(pk=site.pk)
    sites = list(sites.order_by("code"))
    site_ids = [s.pk for s in sites]
    levels = {lv.site_id: lv for lv in StockLevel.objects.filter(item=item, site_id__in=site_ids)}
    inbound: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for row in PurchaseOrderLine.objects.filter(
        item=item, purchase_order__site_id__in=site_ids, purchase_order__status__in=PurchaseOrder.RECEIVABLE
    ).values(
        "purchase_order__site_id", "purchase_order__expected_date", "quantity", "received_quantity", "rejected_quantity"
    ):
        open_units = row["quantity"] - row["received_quantity"] - row["rejected_quantity"]
        if open_units > 0:
            inbound[row["purchase_order__site_id"]].append((row["purchase_order__expected_date"], open_units))
    backorders = dict(
        SalesOrderLine.objects.filter(
            item=item, order__site_id__in=site_ids, backordered_quantity__gt=0, order__status__in=SalesOrder.ALLOCATABLE
        )
        .values_list("order__site_id")
        .annotate(total=Sum("backordered_quantity"))
    )
    transit_out = in_transit_out_by_site(item_id=item.pk, site_ids=site_ids)
    blind = blind_stock_for(user)
    out = []
    for s in sites:
        if (item.pk, s.pk) in blind.level_keys:
            out.append(
                {
                    "site": s.code,
                    "blind": True,
                    **dict.fromkeys(
                        ("available", "allocated", "available_to_promise", "in_transit_in", "in_transit_out")
                    ),
                    "can_promise_now": None,
                    "inbound": sum(units for _, units in inbound[s.pk]),
                    "backordered": backorders.get(s.pk, 0),
                    "earliest_date": None,
                }
            )
            continue
        lv = levels.get(s.pk)
        available = lv.available if lv else 0
        allocated = lv.allocated if lv else 0
        atp = max(available - allocated, 0)
        waiting = backorders.get(s.pk, 0)
        supply = sum(units for _, units in inbound[s.pk])
        out.append(
            {
                "site": s.code,
                "blind": False,
                "available": available,
                "allocated": allocated,
                "available_to_promise": atp,
                "in_transit_in": lv.in_transit if lv else 0,
                "in_transit_out": transit_out.get(s.pk, 0),
                "can_promise_now": atp >= quantity,
                "inbound": supply,
                "backordered": waiting,
                "earliest_date": earliest_promise_date(
                    today=site_local_date(s),
                    atp_now=atp,
                    backordered=0 if atp >= quantity else waiting,
                    quantity=quantity,
                    inbound=inbound[s.pk],
                ),
            }
        )
    return out


def in_transit_out_expression():
    """Per StockLevel row (OuterRef item_id, site_id): units shipped on transfers from that site that are still
    in transit (the transfer is SHIPPED, not yet received). Derived from the transfer lines, no counter."""
    return Subquery(
        TransferOrderLine.objects.filter(
            item_id=OuterRef("item_id"),
            transfer__from_site_id=OuterRef("site_id"),
            transfer__status=TransferOrder.Status.SHIPPED,
        )
        .values("item_id")
        .annotate(total=Sum("shipped_quantity"))
        .values("total")[:1]
    )


def in_transit_out_by_site(*, item_id: int, site_ids: list[int]) -> dict[int, int]:
    """Site -> units of one item shipped from it on transfers not yet received at the other end."""
    return dict(
        TransferOrderLine.objects.filter(
            item_id=item_id, transfer__from_site_id__in=site_ids, transfer__status=TransferOrder.Status.SHIPPED
        )
        .values_list("transfer__from_site_id")
        .annotate(total=Sum("shipped_quantity"))
    )


def open_order_lines_for(user, *, item: Item, limit: int = 20) -> list[SalesOrderLine]:
    """The item's lines of orders not yet shipped or cancelled, of orders the user may see, soonest promised first
    (the item page)."""
    closed = (SalesOrder.Status.SHIPPED, SalesOrder.Status.CANCELLED)
    orders = orders_for(user).exclude(status__in=closed)
    return list(
        SalesOrderLine.objects.filter(item=item, order__in=orders)
        .select_related("order__customer", "order__site")
        .order_by("order__promised_date", "order__number", "line_number")[:limit]
    )


def open_po_lines_for(user, *, item: Item, limit: int = 20) -> list:
    """The item's lines of purchase orders still to receive at the user's sites, soonest expected first."""
    from orders.models import PurchaseOrder, PurchaseOrderLine

    pos = permissions.restrict(PurchaseOrder.objects.filter(status__in=PurchaseOrder.RECEIVABLE), user)
    return list(
        PurchaseOrderLine.objects.filter(item=item, purchase_order__in=pos)
        .select_related("purchase_order__supplier", "purchase_order__site")
        .order_by("purchase_order__expected_date", "purchase_order__number", "line_number")[:limit]
    )


# --- allowed_actions (core.actions) ----------------------------------------------------------------------------

#: the order actions a person takes on the order page and through the API (the rest are the system's and the
#: warehouse's steps: allocation, waves, picking, packing, shipping)
COORDINATOR_ACTIONS = frozenset(
    {lifecycle.EDIT, lifecycle.VALIDATE, lifecycle.RELEASE, lifecycle.HOLD, lifecycle.CANCEL}
)
#: statuses in which an order may be on a wave or have picked units (so cancel / hold depend on them)
WAVEABLE = frozenset(
    {
        lifecycle.ALLOCATED,
        lifecycle.PARTIALLY_ALLOCATED,
        lifecycle.BACKORDERED,
        lifecycle.PICKING,
        lifecycle.PARTIALLY_SHIPPED,
    }
)
#: approve or reject the pending request to release the order from hold (an approver, never its requester)
DECIDE_HOLD = "decide_hold"

_on_wave_check = None


def register_on_wave_check(check) -> None:
    """Warehouse (above orders) says whether an order has lines on an active wave: ``check(order_id) -> bool``,
    registered in its ``AppConfig.ready()``. A waved order is not withdrawn where the site rule forbids it."""
    global _on_wave_check
    _on_wave_check = check


def pending_hold_approval(order: SalesOrder):
    """The pending request to release ``order`` from hold, or None."""
    from django.contrib.contenttypes.models import ContentType

    from governance.models import ApprovalRequest
    from orders.services.orders import HOLD_APPROVAL

    return (
        ApprovalRequest.objects.select_related("requested_by")
        .filter(
            content_type=ContentType.objects.get_for_model(SalesOrder),
            object_id=order.pk,
            kind=HOLD_APPROVAL,
            status=ApprovalRequest.Status.PENDING,
        )
        .first()
    )


def order_actions(order: SalesOrder, user) -> frozenset[str]:
    """``allowed_actions`` of a sales order: the lifecycle's actions (orders/policy/lifecycle.py, with the facts
    its services read under the lock: picked units, on a wave, the site's rule) that a coordinator takes, for a
    user who may manage orders at its site; and ``decide_hold`` for an approver of its pending hold release."""
    from governance.services.approvals import approval_actions
    from orders.services.fulfilment import order_facts

    actions: set[str] = set()
    if permissions.can(user, "orders.manage", order.site_id):
        # the facts beyond the status are read only where they can change the answer: a RELEASED order (the
        # answer of a release request) is on no wave and has nothing picked, so it costs no query
        base = lifecycle.allowed_actions(lifecycle.OrderFacts(status=order.status))
        waveable = order.status in WAVEABLE and bool(base & {lifecycle.CANCEL, lifecycle.HOLD})
        if waveable:
            on_wave = bool(_on_wave_check and _on_wave_check(order.pk))
            facts = order_facts(order, on_wave=on_wave)
        else:
            facts = lifecycle.OrderFacts(status=order.status)
        actions |= lifecycle.allowed_actions(facts) & COORDINATOR_ACTIONS
    if order.status == lifecycle.ON_HOLD:
        approval = pending_hold_approval(order)
        if approval is not None and approval_actions(approval, user):
            actions.add(DECIDE_HOLD)
    return frozenset(actions)


# --- returns ------------------------------------------------------------------------------------------------

#: what can be done to a return, by whom (``return_actions``)
RETURN_RECEIVE, RETURN_DECIDE = "receive", "decide"


def returns_for(user) -> QuerySet:
    """Returns (RMAs) of the sites the user sees, with what their pages show."""
    from orders.models import ReturnAuthorization

    return permissions.restrict(
        ReturnAuthorization.objects.select_related("site", "sales_order", "customer", "requested_by", "received_by"),
        user,
    )


def return_detail(rma) -> dict:
    """A return's lines (with their order line, item and received parts) and the approval it waits for."""
    from orders.services.returns import pending_approval_for

    lines = list(
        rma.lines.select_related("item", "order_line").prefetch_related("dispositions").order_by("line_number")
    )
    return {"lines": lines, "approval": pending_approval_for(rma)}


def return_actions(rma, user, *, approval=None) -> frozenset[str]:
    """``allowed_actions`` of a return: ``receive`` an authorized return for a user who executes warehouse work at
    its site (warehouse.services.returns.receive_return checks the same under the lock), ``decide`` its pending
    authorization or credit for an approver who is not its requester (governance's approval rules). ``approval``:
    the pending approval when the caller has it already."""
    from governance.services.approvals import approval_actions
    from orders.models import ReturnAuthorization
    from orders.services.returns import pending_approval_for

    actions: set[str] = set()
    if rma.status == ReturnAuthorization.Status.AUTHORIZED and permissions.can(user, "warehouse.execute", rma.site_id):
        actions.add(RETURN_RECEIVE)
    waits = rma.status == ReturnAuthorization.Status.PENDING_APPROVAL or (
        rma.credit_status == ReturnAuthorization.CreditStatus.PENDING_APPROVAL
    )
    if waits:
        approval = approval or pending_approval_for(rma)
        if approval is not None and approval_actions(approval, user):
            actions.add(RETURN_DECIDE)
    return frozenset(actions)


def returnable_orders(*, user, site: Site) -> QuerySet[SalesOrder]:
    """Orders the user sees, of ``site`` or shipped from it, with at least one unit shipped (returns are
    authorized against shipped units)."""
    shipped_here = Allocation.objects.filter(line__order=OuterRef("pk"), site=site, status=Allocation.Status.CONSUMED)
    return (
        orders_for(user)
        .filter(Q(site=site) | Exists(shipped_here))
        .filter(Exists(SalesOrderLine.objects.filter(order=OuterRef("pk"), shipped_quantity__gt=0)))
        .select_related("customer", "site")
    )


def returnable_lines(order: SalesOrder) -> list[SalesOrderLine]:
    """The order's shipped lines, each with ``returnable``: shipped minus already returned or authorized."""
    from orders.services.returns import returnable_quantity, returned_quantities

    lines = list(order.lines.select_related("item").filter(shipped_quantity__gt=0).order_by("line_number"))
    already = returned_quantities([line.pk for line in lines])
    for line in lines:
        line.already_returned = already[line.pk]
        line.returnable = returnable_quantity(line, already[line.pk])
    return lines


def purchase_order_actions(po: PurchaseOrder, user) -> frozenset[str]:
    """``allowed_actions`` of a purchase order: ``receive`` while it is receivable (PurchaseOrder.RECEIVABLE, the
    receiving service's rule) for a user who receives at its site."""
    if po.status in PurchaseOrder.RECEIVABLE and permissions.can(user, "inventory.receive", po.site_id):
        return frozenset({"receive"})
    return frozenset()


def suggestion_actions(suggestion, user) -> frozenset[str]:
    """``allowed_actions`` of a replenishment suggestion: ``accept`` and ``dismiss`` while it is open, for a planner
    of its site (accept_suggestion / dismiss_suggestion refuse anything else)."""
    from orders.models import ReplenishmentSuggestion

    if suggestion.status == ReplenishmentSuggestion.Status.OPEN and permissions.can(
        user, "replenishment.plan", suggestion.site_id
    ):
        return frozenset({"accept", "dismiss"})
    return frozenset()
