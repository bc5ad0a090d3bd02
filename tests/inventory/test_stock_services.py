"""Receive, move, change status, reserve and unreserve: every rule and every refusal (which changes nothing)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InsufficientStock, NotFound, PermissionDenied, ValidationFailed
from inventory.models import Location, Lot, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import (
    change_status,
    move_stock,
    receive_stock,
    reserve_stock,
    resolve_lot,
    unreserve_stock,
    virtual_location,
)
from tests.factories import ItemFactory, LocationFactory, LotFactory

from .helpers import inventory_state, level_of, quant_of

pytestmark = pytest.mark.django_db

BAD_QUANTITIES = [0, -1, 1.5, "3", True, None, 1_000_000_001]


@pytest.fixture
def refused():
    """with refused(ErrorClass, match=...): the call raises and the whole inventory state stays as it was."""
    from contextlib import contextmanager

    @contextmanager
    def _refused(error, match=None):
        before = inventory_state()
        with pytest.raises(error, match=match) as exc_info:
            yield exc_info
        assert inventory_state() == before
        assert find_inventory_drift() == []

    return _refused


# --- receive ----------------------------------------------------------------------------------------------------


def test_receipt_comes_from_the_sites_supplier_location_into_received_status(supervisor, site, item, storage):
    move = receive_stock(user=supervisor, item=item, location=storage, quantity=40, reference="PO-1")
    assert (move.kind, move.quantity, move.from_status, move.to_status) == ("RECEIPT", 40, "", "RECEIVED")
    assert move.from_location == virtual_location(site.pk, Location.Kind.SUPPLIER)
    assert (move.to_location, move.user, move.reference) == (storage, supervisor, "PO-1")
    assert quant_of(item, storage, "RECEIVED") == (40, 0)
    assert level_of(item, site)["received"] == 40
    quant = StockQuant.objects.get(item=item, location=storage)
    assert quant.site == site and quant.last_received_at is not None
    assert find_inventory_drift() == []


@pytest.mark.parametrize("status", ["AVAILABLE", "HOLD", "DAMAGED"])
def test_receipt_may_land_in_another_status(supervisor, site, item, storage, status):
    receive_stock(user=supervisor, item=item, location=storage, quantity=5, status=status)
    assert quant_of(item, storage, status) == (5, 0)
    assert level_of(item, site)[status.lower()] == 5


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_receipt_of_a_quantity_that_is_not_a_positive_whole_number_is_refused(
    supervisor, item, storage, refused, quantity
):
    with refused(ValidationFailed):
        receive_stock(user=supervisor, item=item, location=storage, quantity=quantity)


@pytest.mark.parametrize("kind", ["SUPPLIER", "CUSTOMER", "ADJUSTMENT", "SCRAP", "IN_TRANSIT"])
def test_receipt_into_a_virtual_location_is_refused(supervisor, site, item, refused, kind):
    with refused(ValidationFailed):
        receive_stock(user=supervisor, item=item, location=virtual_location(site.pk, kind), quantity=5)


def test_receipt_into_an_inactive_location_is_refused(supervisor, site, item, refused):
    closed = LocationFactory(site=site, code="CLOSED", active=False)
    with refused(ValidationFailed, match="inactive"):
        receive_stock(user=supervisor, item=item, location=closed, quantity=5)


@pytest.mark.parametrize("status", ["IN_TRANSIT", "LOST", ""])
def test_receipt_into_a_status_stock_cannot_be_received_in_is_refused(supervisor, item, storage, refused, status):
    with refused(ValidationFailed):
        receive_stock(user=supervisor, item=item, location=storage, quantity=5, status=status)


def test_a_lot_tracked_item_is_received_only_with_a_lot(supervisor, lot_item, lot, storage, refused):
    with refused(ValidationFailed) as exc_info:
        receive_stock(user=supervisor, item=lot_item, location=storage, quantity=5)
    assert exc_info.value.errors[0]["field"] == "lot"
    receive_stock(user=supervisor, item=lot_item, location=storage, quantity=5, lot=lot)
    assert quant_of(lot_item, storage, "RECEIVED", lot) == (5, 0)


def test_an_item_without_lots_is_received_without_a_lot(supervisor, item, lot, storage, refused):
    with refused(ValidationFailed) as exc_info:
        receive_stock(user=supervisor, item=item, location=storage, quantity=5, lot=lot)
    assert exc_info.value.errors[0]["field"] == "lot"


def test_a_lot_of_another_item_is_refused(supervisor, lot, storage, refused):
    other = ItemFactory(sku="CHEESE", lot_tracked=True)
    with refused(ValidationFailed) as exc_info:
        receive_stock(user=supervisor, item=other, location=storage, quantity=5, lot=lot)
    assert exc_info.value.errors[0]["field"] == "lot"


def test_receiving_at_a_site_the_user_cannot_see_is_not_found(outsider, item, storage, refused):
    with refused(NotFound):
        receive_stock(user=outsider, item=item, location=storage, quantity=5)


def test_receiving_needs_a_role_that_receives(auditor, item, storage, refused):
    with refused(PermissionDenied):
        receive_stock(user=auditor, item=item, location=storage, quantity=5)


# --- lots -------------------------------------------------------------------------------------------------------


def test_a_new_lot_of_a_shelf_life_item_needs_an_expiry_date(lot_item):
    with pytest.raises(ValidationFailed) as exc_info:
        resolve_lot(lot_item, "L-NEW", None, create=True)
    assert exc_info.value.errors[0]["field"] == "expiry_date"
    assert not Lot.objects.filter(number="L-NEW").exists()
    expiry = timezone.localdate() + timedelta(days=30)
    lot = resolve_lot(lot_item, "L-NEW", expiry, create=True)
    assert (lot.item, lot.number, lot.expiry_date) == (lot_item, "L-NEW", expiry)
    assert resolve_lot(lot_item, "L-NEW") == lot  # found again, no expiry needed


def test_a_lot_without_shelf_life_may_be_created_without_expiry(db):
    screws = ItemFactory(sku="SCREWS", lot_tracked=True)
    assert resolve_lot(screws, "BATCH-7", create=True).expiry_date is None


def test_an_existing_lot_with_another_expiry_date_is_refused(lot_item, lot):
    with pytest.raises(ValidationFailed) as exc_info:
        resolve_lot(lot_item, lot.number, lot.expiry_date + timedelta(days=1), create=True)
    assert exc_info.value.errors[0]["code"] == "expiry_mismatch"


def test_resolve_lot_refuses_missing_unknown_and_unexpected_lot_numbers(lot_item, item):
    with pytest.raises(ValidationFailed, match="required"):
        resolve_lot(lot_item, "")
    with pytest.raises(ValidationFailed, match="no lot"):
        resolve_lot(lot_item, "NOPE")
    with pytest.raises(ValidationFailed, match="not lot tracked"):
        resolve_lot(item, "L-001")
    assert resolve_lot(item, None) is None
    assert not Lot.objects.filter(number="NOPE").exists()


# --- move -------------------------------------------------------------------------------------------------------


def test_a_move_takes_from_one_quant_and_adds_to_another_of_the_same_site(
    supervisor, site, item, storage, storage2, stock
):
    stock(item, storage, 100)
    move = move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=30)
    assert (move.kind, move.from_status, move.to_status) == ("MOVE", "AVAILABLE", "AVAILABLE")
    assert quant_of(item, storage) == (70, 0)
    assert quant_of(item, storage2) == (30, 0)
    assert level_of(item, site)["available"] == 100
    assert find_inventory_drift() == []


def test_putaway_moves_received_stock_to_available(supervisor, site, item, storage, storage2, stock):
    stock(item, storage, 12, status="RECEIVED")
    move_stock(
        user=supervisor,
        item=item,
        from_location=storage,
        to_location=storage2,
        quantity=12,
        status="RECEIVED",
        to_status="AVAILABLE",
        kind="PUTAWAY",
    )
    assert level_of(item, site) == {
        "received": 0,
        "available": 12,
        "hold": 0,
        "damaged": 0,
        "in_transit": 0,
        "allocated": 0,
    }
    assert quant_of(item, storage, "RECEIVED") == (0, 0)


def test_a_move_of_more_than_on_hand_is_refused(supervisor, item, storage, storage2, stock, refused):
    stock(item, storage, 10)
    with refused(InsufficientStock, match="Only 10"):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=11)


def test_a_move_from_a_location_without_stock_is_refused(supervisor, item, storage, storage2, refused):
    with refused(InsufficientStock):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=1)


def test_a_move_of_another_status_than_the_stock_has_is_refused(supervisor, item, storage, storage2, stock, refused):
    stock(item, storage, 10, status="HOLD")
    with refused(InsufficientStock):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=1)


def test_reserved_units_are_not_moved_by_a_plain_move(supervisor, item, storage, storage2, stock, refused):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    reserve_stock(user=supervisor, quant=quant, quantity=8)
    with refused(InsufficientStock, match="reserved"):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=3)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=2)
    assert quant_of(item, storage) == (8, 8)


def test_a_task_moving_its_reserved_units_releases_the_reservation(supervisor, item, storage, storage2, stock):
    stock(item, storage, 10)
    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=6)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=6, consume_reserved=6)
    assert quant_of(item, storage) == (4, 0)
    assert quant_of(item, storage2) == (6, 0)


def test_a_task_cannot_consume_more_reservation_than_exists(supervisor, item, storage, storage2, stock, refused):
    stock(item, storage, 10)
    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=2)
    with refused(InsufficientStock, match="reserved"):
        move_stock(
            user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=5, consume_reserved=5
        )
    with refused(ValidationFailed):
        move_stock(
            user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=2, consume_reserved=3
        )


def test_a_move_to_another_site_is_refused(supervisor, item, storage, other_site, stock, refused):
    stock(item, storage, 10)
    elsewhere = LocationFactory(site=other_site, code="B-01")
    with refused(ValidationFailed) as exc_info:
        move_stock(user=supervisor, item=item, from_location=storage, to_location=elsewhere, quantity=1)
    assert exc_info.value.errors[0]["code"] == "other_site"


@pytest.mark.parametrize("kind", ["SUPPLIER", "CUSTOMER", "ADJUSTMENT", "SCRAP", "IN_TRANSIT"])
def test_a_move_to_or_from_a_virtual_location_is_refused(supervisor, site, item, storage, stock, refused, kind):
    stock(item, storage, 10)
    virtual = virtual_location(site.pk, kind)
    with refused(ValidationFailed):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=virtual, quantity=1)
    with refused(ValidationFailed):
        move_stock(user=supervisor, item=item, from_location=virtual, to_location=storage, quantity=1)


def test_a_move_that_changes_neither_location_nor_status_is_refused(supervisor, item, storage, stock, refused):
    stock(item, storage, 10)
    with refused(ValidationFailed):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage, quantity=1)


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_move_of_a_bad_quantity_is_refused(supervisor, item, storage, storage2, stock, refused, quantity):
    stock(item, storage, 10)
    with refused(ValidationFailed):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=quantity)


def test_a_lot_tracked_item_is_moved_by_lot(supervisor, lot_item, lot, storage, storage2, stock, refused):
    stock(lot_item, storage, 10, lot=lot)
    with refused(ValidationFailed) as exc_info:
        move_stock(user=supervisor, item=lot_item, from_location=storage, to_location=storage2, quantity=1)
    assert exc_info.value.errors[0]["field"] == "lot"
    move_stock(user=supervisor, item=lot_item, lot=lot, from_location=storage, to_location=storage2, quantity=4)
    assert quant_of(lot_item, storage2, lot=lot) == (4, 0)


def test_an_item_without_lots_is_moved_without_a_lot(supervisor, item, lot, storage, storage2, stock, refused):
    stock(item, storage, 10)
    with refused(ValidationFailed) as exc_info:
        move_stock(user=supervisor, item=item, lot=lot, from_location=storage, to_location=storage2, quantity=1)
    assert exc_info.value.errors[0]["field"] == "lot"


def test_moving_at_a_site_the_user_cannot_see_is_not_found(outsider, auditor, item, storage, storage2, stock, refused):
    stock(item, storage, 10)
    with refused(NotFound):
        move_stock(user=outsider, item=item, from_location=storage, to_location=storage2, quantity=1)
    with refused(PermissionDenied):
        move_stock(user=auditor, item=item, from_location=storage, to_location=storage2, quantity=1)


# --- change status ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_status", "to_status"),
    [("AVAILABLE", "HOLD"), ("HOLD", "AVAILABLE"), ("AVAILABLE", "DAMAGED"), ("RECEIVED", "HOLD")],
)
def test_a_status_change_moves_units_between_statuses_in_place(
    supervisor, site, item, storage, stock, from_status, to_status
):
    stock(item, storage, 10, status=from_status)
    move = change_status(
        user=supervisor, item=item, location=storage, quantity=4, from_status=from_status, to_status=to_status
    )
    assert (move.kind, move.from_location, move.to_location) == ("STATUS", storage, storage)
    assert quant_of(item, storage, from_status) == (6, 0)
    assert quant_of(item, storage, to_status) == (4, 0)
    level = level_of(item, site)
    assert (level[from_status.lower()], level[to_status.lower()]) == (6, 4)
    assert find_inventory_drift() == []


def test_a_status_change_to_the_same_status_is_refused(supervisor, item, storage, stock, refused):
    stock(item, storage, 10)
    with refused(ValidationFailed) as exc_info:
        change_status(
            user=supervisor, item=item, location=storage, quantity=1, from_status="AVAILABLE", to_status="AVAILABLE"
        )
    assert exc_info.value.errors[0]["code"] == "same_status"


@pytest.mark.parametrize(("from_status", "to_status"), [("AVAILABLE", "IN_TRANSIT"), ("AVAILABLE", "LOST")])
def test_a_status_change_to_a_status_not_allowed_here_is_refused(
    supervisor, item, storage, stock, refused, from_status, to_status
):
    stock(item, storage, 10)
    with refused(ValidationFailed):
        change_status(
            user=supervisor, item=item, location=storage, quantity=1, from_status=from_status, to_status=to_status
        )


def test_a_status_change_of_more_than_there_is_is_refused(supervisor, item, storage, stock, refused):
    stock(item, storage, 10, status="HOLD")
    with refused(InsufficientStock):
        change_status(
            user=supervisor, item=item, location=storage, quantity=11, from_status="HOLD", to_status="AVAILABLE"
        )


def test_reserved_units_keep_their_status(supervisor, item, storage, stock, refused):
    stock(item, storage, 10)
    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=7)
    with refused(InsufficientStock, match="reserved"):
        change_status(
            user=supervisor, item=item, location=storage, quantity=4, from_status="AVAILABLE", to_status="HOLD"
        )


def test_a_status_change_in_a_virtual_location_is_refused(supervisor, site, item, refused):
    with refused(ValidationFailed):
        change_status(
            user=supervisor,
            item=item,
            location=virtual_location(site.pk, "ADJUSTMENT"),
            quantity=1,
            from_status="AVAILABLE",
            to_status="HOLD",
        )


def test_an_operator_may_change_status_but_an_auditor_may_not(operator, auditor, item, storage, stock, refused):
    stock(item, storage, 10)
    change_status(user=operator, item=item, location=storage, quantity=1, from_status="AVAILABLE", to_status="HOLD")
    with refused(PermissionDenied):
        change_status(user=auditor, item=item, location=storage, quantity=1, from_status="AVAILABLE", to_status="HOLD")


# --- reserve and unreserve --------------------------------------------------------------------------------------


def test_reserving_claims_units_of_a_quant_without_changing_the_ledger(supervisor, item, storage, stock):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    moves = StockMove.objects.count()
    reserve_stock(user=supervisor, quant=quant, quantity=4)
    reserve_stock(user=supervisor, quant=quant, quantity=6)
    assert quant_of(item, storage) == (10, 10)
    unreserve_stock(user=supervisor, quant=quant, quantity=3)
    assert quant_of(item, storage) == (10, 7)
    assert StockMove.objects.count() == moves
    assert find_inventory_drift() == []


def test_reserving_more_than_is_free_is_refused(supervisor, item, storage, stock, refused):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    reserve_stock(user=supervisor, quant=quant, quantity=7)
    with refused(InsufficientStock, match="Only 3 free"):
        reserve_stock(user=supervisor, quant=quant, quantity=4)


@pytest.mark.parametrize("status", ["RECEIVED", "HOLD", "DAMAGED"])
def test_only_available_stock_can_be_reserved(supervisor, item, storage, stock, refused, status):
    stock(item, storage, 10, status=status)
    with refused(InsufficientStock, match="AVAILABLE"):
        reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=1)


def test_releasing_more_than_is_reserved_is_refused(supervisor, item, storage, stock, refused):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    reserve_stock(user=supervisor, quant=quant, quantity=2)
    with refused(InsufficientStock, match="Only 2 reserved"):
        unreserve_stock(user=supervisor, quant=quant, quantity=3)


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_reserving_or_releasing_a_bad_quantity_is_refused(supervisor, item, storage, stock, refused, quantity):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    with refused(ValidationFailed):
        reserve_stock(user=supervisor, quant=quant, quantity=quantity)
    with refused(ValidationFailed):
        unreserve_stock(user=supervisor, quant=quant, quantity=quantity)


def test_reserving_a_quant_of_a_site_the_user_cannot_see_is_not_found(outsider, auditor, item, storage, stock, refused):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    with refused(NotFound):
        reserve_stock(user=outsider, quant=quant, quantity=1)
    with refused(PermissionDenied):
        reserve_stock(user=auditor, quant=quant, quantity=1)
    with refused(NotFound):
        unreserve_stock(user=outsider, quant=quant, quantity=1)


def test_a_lot_of_another_item_cannot_be_moved_into_existence(supervisor, lot_item, storage, storage2, stock, refused):
    other = ItemFactory(sku="CREAM", lot_tracked=True)
    other_lot = LotFactory(item=other, number="C-1")
    stock(lot_item, storage, 10, lot=LotFactory(item=lot_item, number="Y-1"))
    with refused((ValidationFailed, InsufficientStock)):
        move_stock(
            user=supervisor, item=lot_item, lot=other_lot, from_location=storage, to_location=storage2, quantity=1
        )
