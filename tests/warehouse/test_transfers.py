"""Transfers between sites: approval, picking at the source like a sales order (claim, pick tasks, short picks),
shipping the picked units in transit, receiving with discrepancies, and back; in transit at both ends."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InsufficientStock, SegregationOfDuties, StateConflict, ValidationFailed
from governance.models import ApprovalRequest, ExceptionCase
from governance.services import decide_approval
from inventory.models import Location, StockLevel, StockQuant
from inventory.selectors import find_inventory_drift, with_in_transit_out
from orders.models import TransferOrderLine
from orders.selectors import available_to_promise
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import CountRequest, PickTask, PutawayTask
from warehouse.services import confirm_pick, confirm_putaway
from warehouse.services.transfers import (
    cancel_transfer,
    create_transfer,
    receive_transfer,
    release_transfer,
    ship_transfer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(site, other_site, make_user):
    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="netplanner")
    for s in (site, other_site):
        LocationFactory(site=s, code="DOCK", kind=Location.Kind.RECEIVING)
        LocationFactory(site=s, code="BIN", kind=Location.Kind.STORAGE)
        LocationFactory(site=s, code="STAGE", kind=Location.Kind.STAGING)
    return user


def lv(item, site):
    return StockLevel.objects.get(item=item, site=site)


def out_of(item, site):
    return with_in_transit_out(StockLevel.objects.filter(item=item, site=site)).get().in_transit_out


def pick_all(user, transfer):
    for task in PickTask.objects.filter(transfer_line__transfer=transfer, status="OPEN").select_related("location"):
        confirm_pick(
            user=user,
            task=task,
            quantity=task.quantity,
            location_code=task.location.code,
            lot_number=task.lot.number if task.lot_id else "",
        )


def test_transfer_there_and_back_with_a_discrepancy(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 30)
    out = create_transfer(user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 20}])
    assert out.status == "APPROVED" and out.number.startswith("TO-")

    ship_transfer(user=network, transfer=out)  # approved: released for picking first
    out.refresh_from_db()
    task = PickTask.objects.get(transfer_line__transfer=out)
    assert out.status == "PICKING"
    assert (task.location.code, task.quantity, task.to_location.code) == ("BIN", 20, "STAGE")
    assert task.wave_id is None and task.order_line_id is None
    src = lv(item, site)
    assert (src.available, src.allocated) == (30, 20)  # claimed like a sales order's allocation
    assert StockQuant.objects.get(location__code="BIN", location__site=site).reserved == 20
    assert find_inventory_drift() == []

    pick_all(network, out)
    assert StockQuant.objects.get(location__code="STAGE", location__site=site).quantity == 20
    assert (lv(item, site).available, lv(item, site).allocated) == (30, 20)
    assert find_inventory_drift() == []

    ship_transfer(user=network, transfer=out)
    out.refresh_from_db()
    src = lv(item, site)
    assert out.status == "SHIPPED" and (src.available, src.allocated) == (10, 0)
    assert lv(item, other_site).in_transit == 20
    assert out_of(item, site) == 20 and out_of(item, other_site) == 0  # in transit at both ends
    assert out.lines.get().shipped_quantity == 20
    assert find_inventory_drift() == []

    receipt = receive_transfer(
        user=network, transfer=out, lines=[{"item": "WIDGET", "quantity": 18, "damaged_quantity": 1}]
    )
    assert [d.code for d in receipt.discrepancies.all()] == ["SHORT"]
    assert ExceptionCase.objects.filter(code__code="TRANSFER_DISCREPANCY", status="OPEN").count() == 1
    dest = lv(item, other_site)
    assert (dest.received, dest.damaged, dest.in_transit) == (18, 1, 1)
    assert out_of(item, site) == 0
    out.refresh_from_db()
    assert out.status == "RECEIVED" and out.cycle_seconds is not None
    task = PutawayTask.objects.get(site=other_site)
    confirm_putaway(user=network, task=task, location=Location.objects.get(site=other_site, code="BIN"), quantity=18)
    assert lv(item, other_site).available == 18

    back = create_transfer(user=network, from_site=other_site, to_site=site, lines=[{"item": "WIDGET", "quantity": 18}])
    release_transfer(user=network, transfer=back)
    pick_all(network, back)
    ship_transfer(user=network, transfer=back)
    receive_transfer(user=network, transfer=back, lines=[{"item": "WIDGET", "quantity": 18}])
    assert lv(item, site).received == 18 and lv(item, other_site).available == 0
    assert find_inventory_drift() == []


def test_transfer_above_the_value_rule_needs_approval_by_someone_else(
    network, site, other_site, item, stock, make_user
):
    stock(item, Location.objects.get(site=site, code="BIN"), 1000)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 600}]
    )  # 600 x 10.00 > 5000
    assert transfer.status == "PENDING_APPROVAL"
    with pytest.raises(StateConflict, match="approval"):
        ship_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict, match="approval"):
        release_transfer(user=network, transfer=transfer)
    assert not PickTask.objects.exists()
    approval = ApprovalRequest.objects.get(kind="TRANSFER")
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=network, approve=True)
    decide_approval(approval=approval, user=make_user("supervisor", site), approve=True)
    transfer.refresh_from_db()
    assert transfer.status == "APPROVED"


def test_transfer_never_takes_stock_allocated_to_orders(network, site, other_site, item, stock):
    from inventory.services import change_allocated

    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    change_allocated(deltas={(item.pk, site.pk): 8})
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    with pytest.raises(InsufficientStock, match="only 2 of 5 are free"):
        ship_transfer(user=network, transfer=transfer)
    with pytest.raises(InsufficientStock):
        release_transfer(user=network, transfer=transfer)
    assert (lv(item, site).available, lv(item, site).allocated) == (10, 8)
    assert not PickTask.objects.exists() and StockQuant.objects.get(location__code="BIN").reserved == 0
    transfer.refresh_from_db()
    assert transfer.status == "APPROVED"


def test_a_sales_order_cannot_allocate_what_a_transfer_claimed(network, site, other_site, item, stock, make_user):
    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory

    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 6}]
    )
    release_transfer(user=network, transfer=transfer)
    (atp,) = [row for row in available_to_promise(user=network, item=item, quantity=1) if row["site"] == site.code]
    assert atp["available_to_promise"] == 4
    coordinator = make_user("coordinator", site, username="coord")
    order = create_order(
        user=coordinator,
        customer=CustomerFactory(code="C9", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 10}],
    )
    release_order(user=coordinator, order=order)
    allocate_orders([order.pk])
    assert order.lines.get().allocated_quantity == 4
    assert lv(item, site).allocated == 10
    assert find_inventory_drift() == []


def test_a_short_transfer_pick_holds_the_missing_units_and_repicks_from_other_stock(
    network, site, other_site, item, stock
):
    bin_a = LocationFactory(site=site, code="A-01", kind=Location.Kind.STORAGE)
    stock(item, bin_a, 5)
    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    release_transfer(user=network, transfer=transfer)
    task = PickTask.objects.get(transfer_line__transfer=transfer)
    assert task.location == bin_a
    confirm_pick(user=network, task=task, quantity=3, location_code="A-01")
    task.refresh_from_db()
    assert task.status == "SHORT" and task.picked_quantity == 3
    assert StockQuant.objects.get(location=bin_a, status="HOLD").quantity == 2
    assert ExceptionCase.objects.filter(code__code="SHORT_PICK", status="OPEN").count() == 1
    assert CountRequest.objects.filter(location=bin_a, status="OPEN").exists()
    again = PickTask.objects.get(transfer_line__transfer=transfer, status="OPEN")
    assert (again.location.code, again.quantity) == ("BIN", 2)
    line = TransferOrderLine.objects.get(transfer=transfer)
    assert (line.allocated_quantity, line.picked_quantity) == (5, 3)
    assert lv(item, site).allocated == 5 and find_inventory_drift() == []
    with pytest.raises(StateConflict, match="still open"):
        ship_transfer(user=network, transfer=transfer)
    # the same confirmation again is harmless, different data is refused
    confirm_pick(user=network, task=task, quantity=3, location_code="A-01")
    with pytest.raises(StateConflict):
        confirm_pick(user=network, task=task, quantity=4, location_code="A-01")
    pick_all(network, transfer)
    ship_transfer(user=network, transfer=transfer)
    line.refresh_from_db()
    assert (line.shipped_quantity, line.allocated_quantity) == (5, 0)
    assert lv(item, other_site).in_transit == 5 and lv(item, site).allocated == 0
    assert find_inventory_drift() == []


def test_a_short_pick_without_other_stock_ships_less(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 5)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    release_transfer(user=network, transfer=transfer)
    task = PickTask.objects.get()
    confirm_pick(user=network, task=task, quantity=3, location_code="BIN")
    assert PickTask.objects.count() == 1 and lv(item, site).allocated == 3  # the picked units stay claimed
    ship_transfer(user=network, transfer=transfer)
    line = TransferOrderLine.objects.get()
    assert (line.quantity, line.picked_quantity, line.shipped_quantity) == (5, 3, 3)
    assert lv(item, other_site).in_transit == 3 and out_of(item, site) == 3
    receipt = receive_transfer(user=network, transfer=transfer, lines=[{"item": "WIDGET", "quantity": 3}])
    assert list(receipt.discrepancies.all()) == []
    assert find_inventory_drift() == []


def test_nothing_picked_cannot_ship_and_a_picking_transfer_can_be_cancelled(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 4}]
    )
    release_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict, match="only an approved transfer"):
        release_transfer(user=network, transfer=transfer)
    cancel_transfer(user=network, transfer=transfer)
    transfer.refresh_from_db()
    assert transfer.status == "CANCELLED"
    assert PickTask.objects.get().status == "CANCELLED"
    assert StockQuant.objects.get(location__code="BIN", location__site=site).reserved == 0
    assert lv(item, site).allocated == 0 and find_inventory_drift() == []
    with pytest.raises(StateConflict, match="cancelled"):
        confirm_pick(user=network, task=PickTask.objects.get(), quantity=4, location_code="BIN")

    short = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 10}]
    )
    release_transfer(user=network, transfer=short)
    task = PickTask.objects.get(transfer_line__transfer=short)
    confirm_pick(user=network, task=task, quantity=0, location_code="BIN")
    with pytest.raises(StateConflict, match="Nothing was picked"):
        ship_transfer(user=network, transfer=short)
    assert find_inventory_drift() == []


def test_transfer_picks_never_take_an_expired_or_short_dated_lot(network, site, other_site, stock):
    from inventory.models import Lot

    milk = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=60)
    today = timezone.localdate()
    bins = [LocationFactory(site=site, code=f"M-0{i}", kind=Location.Kind.STORAGE) for i in range(3)]
    stock(milk, bins[0], 10, lot=Lot.objects.create(item=milk, number="EXPIRED", expiry_date=today))
    stock(milk, bins[1], 10, lot=Lot.objects.create(item=milk, number="D29", expiry_date=today + timedelta(days=29)))
    stock(milk, bins[2], 10, lot=Lot.objects.create(item=milk, number="D30", expiry_date=today + timedelta(days=30)))
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "MILK", "quantity": 8}]
    )
    release_transfer(user=network, transfer=transfer)
    assert PickTask.objects.get().lot.number == "D30"  # the site's rule: at least 30 days left
    big = create_transfer(user=network, from_site=site, to_site=other_site, lines=[{"item": "MILK", "quantity": 5}])
    with pytest.raises(InsufficientStock, match="can be picked"):
        release_transfer(user=network, transfer=big)
    assert PickTask.objects.count() == 1 and lv(milk, site).allocated == 8


def test_a_shipped_transfer_cannot_be_cancelled_or_shipped_again(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    release_transfer(user=network, transfer=transfer)
    pick_all(network, transfer)
    ship_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict):
        ship_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict):
        cancel_transfer(user=network, transfer=transfer)
    assert lv(item, other_site).in_transit == 5 and find_inventory_drift() == []


@pytest.mark.parametrize("bad", [0, 6, "1", True])
def test_a_transfer_priority_outside_1_to_5_is_refused_and_nothing_is_made(network, site, other_site, item, bad):
    from orders.models import TransferOrder

    with pytest.raises(ValidationFailed) as refused:
        create_transfer(
            user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 1}], priority=bad
        )
    assert [e["field"] for e in refused.value.errors] == ["priority"]
    assert not TransferOrder.objects.exists()
