"""The receipt control point and directed putaway, as service tests on PostgreSQL."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import RuleViolation, StateConflict, ValidationFailed
from governance.models import ExceptionCase
from governance.services import set_rule_value
from inventory.models import StockLevel, StockMove
from inventory.selectors import find_inventory_drift
from orders.models import PurchaseOrder
from orders.services import add_ship_notice, create_supplier
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import Discrepancy, PutawayRule, PutawayTask, Receipt
from warehouse.services import confirm_putaway, inspect_receipt_line, receive

pytestmark = pytest.mark.django_db


def codes(receipt):
    return sorted(receipt.discrepancies.values_list("code", flat=True))


def level(item, site):
    return StockLevel.objects.get(item=item, site=site)


def test_receipt_lands_received_at_the_dock_with_a_putaway_task(receiver, item, dock, storage, new_po, site):
    po = new_po([("WIDGET", 10)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 10}])
    assert codes(receipt) == []
    assert level(item, site).received == 10
    task = PutawayTask.objects.get()
    assert task.quantity == 10 and task.suggested_location == storage
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED


def test_short_damaged_and_late_lines_each_become_discrepancies_with_exceptions(
    receiver, item, dock, storage, new_po, site
):
    other = ItemFactory(sku="GADGET")
    po = new_po([("WIDGET", 10), ("GADGET", 5)], expected_date=timezone.localdate() - timedelta(days=1))
    receipt = receive(
        user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 7, "damaged_quantity": 2}]
    )
    assert codes(receipt) == ["DAMAGED", "LATE", "SHORT", "SHORT"]
    assert level(item, site).damaged == 2 and level(item, site).received == 7
    assert ExceptionCase.objects.filter(status="OPEN").count() == 4
    assert set(ExceptionCase.objects.values_list("code__code", flat=True)) == {
        "DAMAGED_RECEIPT",
        "LATE_RECEIPT",
        "SHORT_RECEIPT",
    }
    assert other.levels.count() == 0
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.CLOSED


def test_partial_delivery_is_not_short_when_more_is_coming(receiver, item, dock, new_po):
    po = new_po([("WIDGET", 10)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 4}], final=False)
    assert codes(receipt) == []
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.PARTIALLY_RECEIVED


def test_a_late_delivery_received_in_several_receipts_on_one_day_is_late_once(receiver, item, dock, new_po):
    po = new_po([("WIDGET", 10)], expected_date=timezone.localdate() - timedelta(days=2))
    first = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 4}], final=False)
    second = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 6}], final=False)
    assert codes(first) == ["LATE"] and codes(second) == []
    assert ExceptionCase.objects.filter(code__code="LATE_RECEIPT").count() == 1
    # a delivery on another day is late again
    Receipt.objects.filter(pk__in=[first.pk, second.pk]).update(received_at=timezone.now() - timedelta(days=1))
    third = receive(
        user=receiver,
        purchase_order=new_po([("WIDGET", 1)], expected_date=po.expected_date),
        lines=[{"item": "WIDGET", "quantity": 1}],
    )
    assert codes(third) == ["LATE"]
    po2 = new_po([("WIDGET", 3)], expected_date=po.expected_date)
    receive(user=receiver, purchase_order=po2, lines=[{"item": "WIDGET", "quantity": 1}], final=False)
    Receipt.objects.filter(purchase_order=po2).update(received_at=timezone.now() - timedelta(days=1))
    again = receive(user=receiver, purchase_order=po2, lines=[{"item": "WIDGET", "quantity": 2}])
    assert codes(again) == ["LATE"]


def test_over_receipt_within_tolerance_is_recorded_and_accepted(receiver, item, dock, new_po, site):
    po = new_po([("WIDGET", 100)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 104}])
    assert codes(receipt) == ["OVER"]
    assert level(item, site).received == 104 and level(item, site).hold == 0


def test_over_receipt_beyond_tolerance_is_held_for_inspection(receiver, item, dock, new_po, site):
    po = new_po([("WIDGET", 100)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 110}])
    assert codes(receipt) == ["OVER"]
    assert (level(item, site).received, level(item, site).hold) == (105, 5)
    assert receipt.lines.get().held_quantity == 5


def test_over_receipt_beyond_tolerance_is_refused_where_the_site_says_so(
    receiver, item, dock, new_po, site, admin_user
):
    set_rule_value(user=admin_user, key="receiving.over_receipt_action", value="REFUSE", site=site, reason="strict")
    po = new_po([("WIDGET", 100)])
    with pytest.raises(RuleViolation, match="tolerance"):
        receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 110}])
    assert Receipt.objects.count() == 0 and StockMove.objects.count() == 0
    po.refresh_from_db()
    assert po.lines.get().received_quantity == 0


def test_supplier_tolerance_override_beats_the_site_rule(receiver, item, dock, new_po, site):
    generous = create_supplier(user=None, code="GEN", name="Generous", over_receipt_tolerance_percent="20")
    po = new_po([("WIDGET", 100)], sup=generous)
    receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 115}])
    assert level(item, site).hold == 0


def test_wrong_item_is_held_and_flagged(receiver, item, dock, new_po, site):
    stranger = ItemFactory(sku="STRANGER")
    po = new_po([("WIDGET", 10)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "STRANGER", "quantity": 3}], final=False)
    assert codes(receipt) == ["WRONG_ITEM"]
    assert level(stranger, site).hold == 3


def test_lot_not_on_the_ship_notice_is_a_lot_mismatch(receiver, dock, new_po, site):
    ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=30)
    po = new_po([("MILK", 10)])
    add_ship_notice(user=None, purchase_order=po, lines=[{"item": "MILK", "lot_number": "L1", "quantity": 10}])
    receipt = receive(
        user=receiver,
        purchase_order=po,
        lines=[{"item": "MILK", "quantity": 10, "lot": "L2", "expiry_date": timezone.localdate() + timedelta(days=30)}],
    )
    assert codes(receipt) == ["LOT_MISMATCH"]


def test_lot_and_expiry_are_required_and_every_error_is_reported(receiver, dock, new_po):
    ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=30)
    po = new_po([("MILK", 10)])
    with pytest.raises(ValidationFailed) as exc:
        receive(
            user=receiver, purchase_order=po, lines=[{"item": "MILK", "quantity": 10}, {"item": "NOPE", "quantity": 1}]
        )
    assert {e["field"] for e in exc.value.errors} == {"lines[0].lot", "lines[0].expiry_date", "lines[1].item"}
    assert Receipt.objects.count() == 0


def test_items_needing_inspection_land_on_hold_until_released(receiver, dock, storage, new_po, site):
    fragile = ItemFactory(sku="FRAGILE", requires_inspection=True)
    po = new_po([("FRAGILE", 10)])
    receipt = receive(user=receiver, purchase_order=po, lines=[{"item": "FRAGILE", "quantity": 10}])
    assert level(fragile, site).hold == 10 and PutawayTask.objects.count() == 0
    line = receipt.lines.get()
    inspect_receipt_line(user=receiver, line=line, release_quantity=8, reject_quantity=2)
    lv = level(fragile, site)
    assert (lv.hold, lv.received, lv.damaged) == (0, 8, 2)
    assert PutawayTask.objects.get().quantity == 8
    with pytest.raises(StateConflict):
        inspect_receipt_line(user=receiver, line=line, release_quantity=1)


def test_units_held_for_inspection_are_released_by_the_inspection_not_by_a_plain_release(
    receiver, dock, storage, new_po, site, stock
):
    """A plain release of inspection-held units left them RECEIVED with no putaway task and the line pending; now
    it is refused naming the receipt, changes nothing, and other units held at the dock still release there."""
    from inventory.services.holds import hold_stock, release_stock

    fragile = ItemFactory(sku="FRAGILE", requires_inspection=True)
    receipt = receive(
        user=receiver, purchase_order=new_po([("FRAGILE", 10)]), lines=[{"item": "FRAGILE", "quantity": 10}]
    )
    line = receipt.lines.get()

    def release(quantity):
        return release_stock(
            user=receiver, item=fragile, location=dock, quantity=quantity, reason_code="QUALITY_OK", note="looks fine"
        )

    with pytest.raises(StateConflict, match=f"released by the inspection of receipt {receipt.number}"):
        release(1)
    line.refresh_from_db()
    assert level(fragile, site).hold == 10 and line.inspection == "PENDING" and line.released_quantity == 0
    assert not StockMove.objects.filter(reason_code="QUALITY_OK").exists()

    # 3 more units of the item at the dock, not from a receipt (found there), then put on hold by a supervisor
    stock(fragile, dock, 3, status="RECEIVED")
    hold_stock(user=receiver, item=fragile, site=site, location=dock, quantity=3, reason_code="QUALITY")
    assert level(fragile, site).hold == 13
    with pytest.raises(StateConflict, match="3 other units on hold can be released here"):
        release(4)
    move = release(3)
    assert (move.from_status, move.to_status, move.quantity) == ("HOLD", "RECEIVED", 3)
    assert level(fragile, site).hold == 10

    inspect_receipt_line(user=receiver, line=line, release_quantity=10)
    line.refresh_from_db()
    assert line.inspection == "DONE" and level(fragile, site).hold == 0
    assert PutawayTask.objects.filter(receipt_line=line).get().quantity == 10
    assert find_inventory_drift() == []


def test_rejected_units_can_go_back_to_the_vendor(receiver, dock, new_po, site):
    fragile = ItemFactory(sku="FRAGILE", requires_inspection=True)
    po = new_po([("FRAGILE", 10)])
    line = receive(user=receiver, purchase_order=po, lines=[{"item": "FRAGILE", "quantity": 10}]).lines.get()
    inspect_receipt_line(user=receiver, line=line, reject_quantity=10, reject_to="RETURN_TO_VENDOR")
    assert level(fragile, site).on_hand == 0
    assert po.lines.get().rejected_quantity == 10
    assert find_inventory_drift() == []


def test_receiving_a_cancelled_po_is_a_conflict(receiver, item, dock, new_po):
    from orders.services import cancel_purchase_order

    po = cancel_purchase_order(user=None, purchase_order=new_po([("WIDGET", 10)]))
    with pytest.raises(StateConflict):
        receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 1}])


def test_putaway_makes_stock_available_and_records_dock_to_stock(receiver, item, dock, storage, new_po, site):
    receive(user=receiver, purchase_order=new_po([("WIDGET", 10)]), lines=[{"item": "WIDGET", "quantity": 10}])
    task = PutawayTask.objects.get()
    task = confirm_putaway(user=receiver, task=task, location=storage, quantity=10)
    lv = level(item, site)
    assert (lv.received, lv.available) == (0, 10)
    assert task.status == "CONFIRMED" and task.dock_to_stock_seconds is not None
    assert StockMove.objects.filter(kind="PUTAWAY").count() == 1


def test_confirming_twice_is_harmless_with_same_data_and_409_with_different(
    receiver, item, dock, storage, storage2, new_po
):
    receive(user=receiver, purchase_order=new_po([("WIDGET", 10)]), lines=[{"item": "WIDGET", "quantity": 10}])
    task = PutawayTask.objects.get()
    confirm_putaway(user=receiver, task=task, location=storage, quantity=10)
    confirm_putaway(user=receiver, task=task, location=storage, quantity=10)
    assert StockMove.objects.filter(kind="PUTAWAY").count() == 1
    with pytest.raises(StateConflict):
        confirm_putaway(user=receiver, task=task, location=storage2, quantity=10, reason_code="OTHER")


def test_putting_away_elsewhere_needs_a_reason_which_is_recorded(receiver, item, dock, storage, storage2, new_po):
    receive(user=receiver, purchase_order=new_po([("WIDGET", 10)]), lines=[{"item": "WIDGET", "quantity": 10}])
    task = PutawayTask.objects.get()
    other = storage2 if task.suggested_location == storage else storage
    with pytest.raises(ValidationFailed, match="reason"):
        confirm_putaway(user=receiver, task=task, location=other, quantity=10)
    task = confirm_putaway(user=receiver, task=task, location=other, quantity=10, reason_code="LOCATION_FULL")
    assert task.reason_code == "LOCATION_FULL"
    assert StockMove.objects.get(kind="PUTAWAY").reason_code == "LOCATION_FULL"


def test_partial_putaway_leaves_the_rest_in_a_new_task(receiver, item, dock, storage, new_po):
    receive(user=receiver, purchase_order=new_po([("WIDGET", 10)]), lines=[{"item": "WIDGET", "quantity": 10}])
    confirm_putaway(user=receiver, task=PutawayTask.objects.get(), location=storage, quantity=6)
    assert sorted(PutawayTask.objects.values_list("status", "quantity")) == [("CONFIRMED", 6), ("OPEN", 4)]


def test_putaway_rule_directs_fast_movers_to_the_pick_face(receiver, dock, storage, new_po, site):
    fast = ItemFactory(sku="FAST", abc_class="A")
    pick = LocationFactory(site=site, code="P-01", kind="PICK", capacity=100)
    PutawayRule.objects.create(site=site, priority=1, abc_class="A", location_kinds="PICK,STORAGE")
    receive(user=receiver, purchase_order=new_po([("FAST", 10)]), lines=[{"item": "FAST", "quantity": 10}])
    assert PutawayTask.objects.get(item=fast).suggested_location == pick


def test_end_to_end_po_receipt_inspection_putaway_fills_a_backordered_order(
    receiver, item, dock, storage, new_po, site, make_user, django_capture_on_commit_callbacks
):
    from orders.services import create_order, release_order
    from tests.factories import CustomerFactory

    coordinator = make_user("coordinator", site)
    customer = CustomerFactory(home_site=site)
    order = create_order(
        user=coordinator,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=3),
        lines=[{"item": "WIDGET", "quantity": 12}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        release_order(user=coordinator, order=order)
    order.refresh_from_db()
    assert order.status == "BACKORDERED"

    gadget = ItemFactory(sku="GADGET", requires_inspection=True)
    po = new_po([("WIDGET", 15), ("GADGET", 5)])
    receipt = receive(
        user=receiver,
        purchase_order=po,
        lines=[
            {"item": "WIDGET", "quantity": 13, "damaged_quantity": 1},
            {"item": "GADGET", "quantity": 5},
        ],
    )
    assert codes(receipt) == ["DAMAGED", "SHORT"]
    inspect_receipt_line(user=receiver, line=receipt.lines.get(item=gadget), release_quantity=5)
    with django_capture_on_commit_callbacks(execute=True):
        for task in PutawayTask.objects.filter(status="OPEN"):
            confirm_putaway(user=receiver, task=task, location=task.suggested_location, quantity=task.quantity)
    order.refresh_from_db()
    assert order.status == "ALLOCATED"
    assert level(item, site).allocated == 12 and level(item, site).available == 13
    assert level(gadget, site).available == 5
    assert Discrepancy.objects.count() == 2
    assert find_inventory_drift() == []
