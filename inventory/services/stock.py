"""Services for every change of stock: receive, move, change status, reserve and unreserve."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.db.models import Q

from core.db import atomic_with_retry, lock_rows
from core.errors import InsufficientStock, NotFound, ValidationFailed
from core.validation import field_error, positive_quantity
from governance import permissions
from inventory.models import InventoryStatus, Item, Location, Lot, StockMove, StockQuant

from .ledger import MoveLine, post_moves

S = InventoryStatus


def virtual_location(site_id: int, kind: str) -> Location:
    """The site's virtual location of ``kind`` (SUPPLIER, CUSTOMER, IN_TRANSIT, ADJUSTMENT, SCRAP)."""
    location = Location.objects.filter(site_id=site_id, kind=kind).order_by("pk").first()
    if location is None:
        raise ValidationFailed(f"Site {site_id} has no {kind} location; run ensure_virtual_locations.")
    return location


def resolve_lot(
    item: Item, lot_number: str | None, expiry_date: date | None = None, *, create: bool = False, field: str = "lot"
) -> Lot | None:
    """The lot of a lot-tracked item (created on receipt when ``create``); None for items without lots."""
    if not item.lot_tracked:
        if lot_number:
            raise field_error(field, f"{item.sku} is not lot tracked; do not give a lot.", "lot_not_tracked")
        return None
    if not lot_number:
        raise field_error(field, f"{item.sku} is lot tracked; a lot number is required.", "required")
    lot = Lot.objects.filter(item=item, number=lot_number).first()
    if lot is not None:
        if expiry_date and lot.expiry_date and lot.expiry_date != expiry_date:
            raise field_error(
                "expiry_date",
                f"Lot {lot_number} of {item.sku} expires on {lot.expiry_date}, not {expiry_date}.",
                "expiry_mismatch",
            )
        return lot
    if not create:
        raise field_error(field, f"{item.sku} has no lot {lot_number!r}.", "does_not_exist")
    if item.shelf_life_days and not expiry_date:
        raise field_error("expiry_date", f"{item.sku} has a shelf life; an expiry date is required.", "required")
    lot, _ = Lot.objects.get_or_create(item=item, number=lot_number, defaults={"expiry_date": expiry_date})
    return lot


def _require_lot(item: Item, lot: Lot | None) -> None:
    """A lot-tracked item always carries its lot; an item without lots never carries one."""
    if item.lot_tracked and lot is None:
        raise field_error("lot", f"{item.sku} is lot tracked; give the lot.", "required")
    if not item.lot_tracked and lot is not None:
        raise field_error("lot", f"{item.sku} is not lot tracked; do not give a lot.", "lot_not_tracked")
    if lot is not None and lot.item_id != item.pk:
        raise field_error("lot", f"Lot {lot.number} is a lot of another item, not of {item.sku}.", "other_item")


def _require_stock_location(location: Location, field: str) -> None:
    if not location.holds_stock:
        raise field_error(field, f"{location} is a virtual location and holds no stock.", "virtual_location")
    if not location.active:
        raise field_error(field, f"{location} is inactive.", "inactive")


@atomic_with_retry
def receive_stock(
    *,
    user,
    item: Item,
    location: Location,
    quantity: int,
    status: str = S.RECEIVED,
    lot: Lot | None = None,
    reference: str = "",
    document=None,
    kind: str = StockMove.Kind.RECEIPT,
    unit_cost=None,
    note: str = "",
    check_permission: bool = True,
) -> StockMove:
    """Bring stock onto the site from its SUPPLIER virtual location into ``location`` with ``status``."""
    if check_permission:
        permissions.require(user, "inventory.receive", location.site_id, what="location")
    positive_quantity(quantity)
    _require_stock_location(location, "location")
    if status == S.IN_TRANSIT:
        raise field_error("status", "Stock is not received into IN_TRANSIT.", "invalid_status")
    _require_lot(item, lot)
    source = virtual_location(location.site_id, Location.Kind.SUPPLIER)
    (move,) = post_moves(
        lines=[MoveLine(item.pk, lot.pk if lot else None, quantity, source, "", location, status, unit_cost=unit_cost)],
        kind=kind,
        user=user,
        reference=reference,
        document=document,
        note=note,
    )
    return move


@atomic_with_retry
def move_stock(
    *,
    user,
    item: Item,
    from_location: Location,
    to_location: Location,
    quantity: int,
    lot: Lot | None = None,
    status: str = S.AVAILABLE,
    to_status: str | None = None,
    kind: str = StockMove.Kind.MOVE,
    consume_reserved: int = 0,
    reference: str = "",
    document=None,
    reason_code: str = "",
    note: str = "",
    check_permission: bool = True,
) -> StockMove:
    """Move stock between two locations of one site (optionally changing its status, as putaway does)."""
    if from_location.site_id != to_location.site_id:
        raise field_error(
            "to_location", "Both locations must belong to the same site; use a transfer order.", "other_site"
        )
    if check_permission:
        permissions.require(user, "inventory.move", from_location.site_id, what="location")
    positive_quantity(quantity)
    _require_stock_location(from_location, "from_location")
    _require_stock_location(to_location, "to_location")
    _require_lot(item, lot)
    (move,) = post_moves(
        lines=[
            MoveLine(
                item.pk,
                lot.pk if lot else None,
                quantity,
                from_location,
                status,
                to_location,
                to_status or status,
                consume_reserved=consume_reserved,
            )
        ],
        kind=kind,
        user=user,
        reference=reference,
        document=document,
        reason_code=reason_code,
        note=note,
    )
    return move


@atomic_with_retry
def change_status(
    *,
    user,
    item: Item,
    location: Location,
    quantity: int,
    from_status: str,
    to_status: str,
    lot: Lot | None = None,
    reason_code: str = "",
    note: str = "",
    reference: str = "",
    document=None,
    check_permission: bool = True,
) -> StockMove:
    """Change the status of stock in place: hold, release, mark damaged (a STATUS move)."""
    if check_permission:
        permissions.require(user, "inventory.change_status", location.site_id, what="location")
    positive_quantity(quantity)
    _require_stock_location(location, "location")
    _require_lot(item, lot)
    for field, value in (("from_status", from_status), ("to_status", to_status)):
        if value not in S.values or value == S.IN_TRANSIT:
            raise field_error(
                field, f"{value!r} is not a status stock can be changed to or from here.", "invalid_status"
            )
    if from_status == to_status:
        raise field_error("to_status", "The new status must differ from the current one.", "same_status")
    (move,) = post_moves(
        lines=[MoveLine(item.pk, lot.pk if lot else None, quantity, location, from_status, location, to_status)],
        kind=StockMove.Kind.STATUS,
        user=user,
        reason_code=reason_code,
        note=note,
        reference=reference,
        document=document,
    )
    return move


def _lock_quant(quant_id: int, user, action: str) -> StockQuant:
    quant = StockQuant.objects.select_related("location").filter(pk=quant_id).first()
    if quant is None or not permissions.can_see_site(user, quant.site_id):
        raise NotFound("No such stock quant.")
    permissions.require(user, action, quant.site_id, what="stock quant")
    (locked,) = lock_rows(StockQuant.objects.filter(pk=quant_id))
    return locked


@atomic_with_retry
def reserve_stock(*, user, quant: StockQuant, quantity: int) -> StockQuant:
    """Claim ``quantity`` units of one quant for a task; two claims never take the same units."""
    positive_quantity(quantity)
    locked = _lock_quant(quant.pk, user, "inventory.reserve")
    if locked.status != S.AVAILABLE:
        raise InsufficientStock(f"Only AVAILABLE stock can be reserved; this quant is {locked.status}.")
    if locked.quantity - locked.reserved < quantity:
        raise InsufficientStock(
            f"Only {locked.quantity - locked.reserved} free in this quant ({locked.reserved} already reserved); "
            f"cannot reserve {quantity}.",
            field="quantity",
        )
    locked.reserved += quantity
    locked.save(update_fields=["reserved", "updated_at"])
    return locked


@atomic_with_retry
def unreserve_stock(*, user, quant: StockQuant, quantity: int) -> StockQuant:
    positive_quantity(quantity)
    locked = _lock_quant(quant.pk, user, "inventory.reserve")
    if locked.reserved < quantity:
        raise InsufficientStock(
            f"Only {locked.reserved} reserved in this quant; cannot release {quantity}.", field="quantity"
        )
    locked.reserved -= quantity
    locked.save(update_fields=["reserved", "updated_at"])
    return locked


def find_quant(*, item: Item, location: Location, status: str, lot: Lot | None = None) -> StockQuant | None:
    q = Q(item=item, location=location, status=status) & (Q(lot=lot) if lot else Q(lot__isnull=True))
    return StockQuant.objects.filter(q).first()


__all__ = [
    "change_status",
    "find_quant",
    "move_stock",
    "receive_stock",
    "reserve_stock",
    "resolve_lot",
    "transaction",
    "unreserve_stock",
    "virtual_location",
]
