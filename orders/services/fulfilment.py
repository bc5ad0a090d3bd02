"""What the warehouse tells orders while it fulfils them: the order's own rows (status, line counters,
allocations) are written here and only here (one owner per row).

The warehouse locks the orders first (:func:`lock_sales_orders`, documents before stock, as everywhere), asks
:func:`require_action` with the order's state read under that lock, and then reports what happened:
:func:`start_picking` when a wave is released, :func:`record_pick` for every confirmed pick (a short pick gives
back the claim on the missing units), :func:`consume_for_shipment` when a shipment leaves (only open
allocations are consumed: a shipment can never lower ``allocated`` for units no allocation claims).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from core.db import lock_rows
from core.errors import StateConflict
from governance.services import get_rule
from governance.services.history import set_history_user
from inventory.services import change_allocated
from orders.events import emit_order_event
from orders.models import Allocation, SalesOrder, SalesOrderLine
from orders.policy import lifecycle

S = SalesOrder.Status


def _in_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("order fulfilment services run inside the caller's transaction")


def lock_sales_orders(order_ids) -> dict[int, SalesOrder]:
    """Lock the orders in primary-key order (the first locks of any fulfilment step) and return them by id."""
    _in_transaction()
    return {o.pk: o for o in lock_rows(SalesOrder.objects.filter(pk__in=sorted(set(order_ids))))}


def order_facts(order: SalesOrder, *, on_wave: bool = False) -> lifecycle.OrderFacts:
    picked = SalesOrderLine.objects.filter(order_id=order.pk).aggregate(n=Sum("picked_quantity"))["n"] or 0
    return lifecycle.OrderFacts(
        status=order.status,
        picked_units=picked,
        on_wave=on_wave,
        cancel_waved_orders=bool(get_rule("orders.cancel_waved_orders", order.site_id)),
    )


def allows(order: SalesOrder, action: str) -> bool:
    """Status-only check (no extra facts): may ``action`` act on the locked order?"""
    return action in lifecycle.allowed_actions(lifecycle.OrderFacts(status=order.status))


def require_action(order: SalesOrder, action: str, *, facts: lifecycle.OrderFacts | None = None) -> None:
    """Refuse (409) an action the locked order does not allow now."""
    why = lifecycle.refusal(facts or lifecycle.OrderFacts(status=order.status), action, order.number)
    if why:
        raise StateConflict(why)


def open_allocations(order_ids) -> dict[int, Allocation]:
    """The open allocations of the (locked) orders, by id: what a wave may still plan or pick."""
    return {
        a.pk: a
        for a in Allocation.objects.filter(line__order_id__in=list(order_ids), status=Allocation.Status.OPEN).only(
            "pk", "line_id", "site_id", "item_id", "quantity", "status"
        )
    }


def start_picking(*, orders, user) -> None:
    """A wave with the orders' lines was released: allocated orders become PICKING (with history)."""
    _in_transaction()
    now = timezone.now()
    for order in orders:
        if order.status in (S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED):
            order.status = S.PICKING
            order.updated_at = now
            set_history_user(order, user)
            order.save(update_fields=["status", "updated_at"])


def record_pick(*, order: SalesOrder, line_id: int, allocation_id: int, picked: int, short: int, user) -> None:
    """A pick of the (locked) order was confirmed: ``picked`` units reached staging, ``short`` were missing.
    The claim on the missing units is given back at once (the stock level's ``allocated`` and the allocation),
    before the caller moves those units out of AVAILABLE; the caller re-allocates the remainder afterwards."""
    _in_transaction()
    require_action(order, lifecycle.PICK)
    line = SalesOrderLine.objects.select_for_update(of=("self",), no_key=True).get(pk=line_id, order_id=order.pk)
    if short:
        allocation = Allocation.objects.select_for_update(of=("self",), no_key=True).get(pk=allocation_id)
        if allocation.status != Allocation.Status.OPEN or allocation.quantity < short:
            raise StateConflict(
                f"{order.number}: the allocation behind this pick claims {allocation.quantity} units "
                f"({allocation.status}); {short} cannot be given back."
            )
        change_allocated(deltas={(allocation.item_id, allocation.site_id): -short})
        allocation.quantity -= short
        if allocation.quantity == 0:
            allocation.status = Allocation.Status.RELEASED
            allocation.released_at = timezone.now()
        allocation.save(update_fields=["quantity", "status", "released_at"])
        line.allocated_quantity -= short
    line.picked_quantity += picked
    set_history_user(line, user)
    line.save(update_fields=["allocated_quantity", "picked_quantity"])
    # the (locked) order changed: its change feed shows it again (the line's history records the pick)
    SalesOrder.objects.filter(pk=order.pk).update(updated_at=timezone.now())


def consume_for_shipment(
    *, orders: dict[int, SalesOrder], site_id: int, per_line: dict[int, int], user, now: datetime | None = None
) -> dict[tuple[int, int], int]:
    """A shipment of the (locked) orders leaves ``site_id`` with ``per_line`` units of each order line.

    Consumes the lines' open allocations at the site, oldest first, and refuses (409) when they claim fewer
    units than are shipped; records shipped quantities and times; moves each order to PARTIALLY_SHIPPED or
    SHIPPED (with history). Returns the consumed units per (item, site): the stock levels' ``allocated``
    falls by exactly that much when the caller posts the SHIP moves."""
    _in_transaction()
    now = now or timezone.now()
    for order in orders.values():
        require_action(order, lifecycle.SHIP)
    lines = {line.pk: line for line in lock_rows(SalesOrderLine.objects.filter(pk__in=list(per_line)))}
    allocations = lock_rows(
        Allocation.objects.filter(line_id__in=list(per_line), site_id=site_id, status=Allocation.Status.OPEN)
    )
    by_line: dict[int, list[Allocation]] = defaultdict(list)
    for allocation in allocations:
        by_line[allocation.line_id].append(allocation)
    consumed: dict[tuple[int, int], int] = defaultdict(int)
    for line_id, qty in sorted(per_line.items()):
        line = lines[line_id]
        if line.order_id not in orders:
            raise StateConflict(f"Order line {line_id} is not part of this shipment's orders.")
        claimed = sum(a.quantity for a in by_line[line_id])
        if claimed < qty:
            order = orders[line.order_id]
            raise StateConflict(
                f"{order.number} line {line.line_number}: {qty} units would ship but only {claimed} are allocated "
                f"at this site; the order changed after it was packed."
            )
        left = qty
        for allocation in by_line[line_id]:
            take = min(allocation.quantity, left)
            if not take:
                break
            allocation.quantity -= take
            if allocation.quantity == 0:
                allocation.status = Allocation.Status.CONSUMED
                allocation.released_at = now
            allocation.save(update_fields=["quantity", "status", "released_at"])
            consumed[(allocation.item_id, allocation.site_id)] += take
            left -= take
        line.shipped_quantity += qty
        line.allocated_quantity -= qty
        line.first_shipped_at = line.first_shipped_at or now
        line.last_shipped_at = now
        set_history_user(line, user)
        line.save(update_fields=["shipped_quantity", "allocated_quantity", "first_shipped_at", "last_shipped_at"])
    for order in orders.values():
        order_lines = list(SalesOrderLine.objects.filter(order_id=order.pk))
        done = all(line.shipped_quantity >= line.quantity_base for line in order_lines)
        order.status = S.SHIPPED if done else S.PARTIALLY_SHIPPED
        if done:
            order.shipped_at = now
        set_history_user(order, user)
        order.save(update_fields=["status", "shipped_at", "updated_at"])
        emit_order_event("order.shipped", order, lines=order_lines)
    return dict(consumed)


__all__ = [
    "allows",
    "consume_for_shipment",
    "lock_sales_orders",
    "open_allocations",
    "order_facts",
    "record_pick",
    "require_action",
    "start_picking",
]
