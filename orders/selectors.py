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
