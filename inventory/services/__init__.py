"""Every write of the inventory app."""

from .adjustments import adjust_stock, decide_adjustment
from .barcodes import add_item_barcode, remove_item_barcode, set_item_barcodes
from .ledger import MoveLine, change_allocated, lock_levels, lock_quants, lock_site_quants, post_moves, reserve_quants
from .master import (
    create_item,
    create_location,
    create_zone,
    ensure_virtual_locations,
    update_item,
    update_location,
)
from .stock import (
    change_status,
    find_quant,
    move_stock,
    receive_stock,
    reserve_stock,
    resolve_lot,
    unreserve_stock,
    virtual_location,
)

__all__ = [
    "MoveLine",
    "add_item_barcode",
    "adjust_stock",
    "change_allocated",
    "change_status",
    "create_item",
    "create_location",
    "create_zone",
    "decide_adjustment",
    "ensure_virtual_locations",
    "find_quant",
    "lock_levels",
    "lock_quants",
    "lock_site_quants",
    "move_stock",
    "post_moves",
    "receive_stock",
    "reserve_quants",
    "remove_item_barcode",
    "reserve_stock",
    "resolve_lot",
    "set_item_barcodes",
    "unreserve_stock",
    "update_item",
    "update_location",
    "virtual_location",
]
