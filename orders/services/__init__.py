"""Every write of the orders app."""

from .allocation import allocate_orders, fill_backorders, reconcile_allocations, release_allocations
from .customers import create_customer, update_customer
from .orders import (
    cancel_order,
    check_order,
    create_order,
    credit_decision,
    hold_order,
    open_order_value,
    order_value,
    release_order,
    update_draft,
    validate_order,
)
from .purchasing import (
    add_ship_notice,
    cancel_purchase_order,
    create_purchase_order,
    create_supplier,
    update_supplier,
)

__all__ = [
    "add_ship_notice",
    "cancel_purchase_order",
    "create_purchase_order",
    "create_supplier",
    "update_supplier",
    "allocate_orders",
    "cancel_order",
    "check_order",
    "create_customer",
    "create_order",
    "credit_decision",
    "fill_backorders",
    "hold_order",
    "open_order_value",
    "order_value",
    "reconcile_allocations",
    "release_allocations",
    "release_order",
    "update_customer",
    "update_draft",
    "validate_order",
]
