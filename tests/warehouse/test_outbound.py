"""Outbound execution as service tests on PostgreSQL: waves, picks (short), packing, shipping."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import StateConflict, ValidationFailed
from governance.models import ExceptionCase
from inventory.models import Location, StockLevel, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import Allocation, SalesOrder
from orders.services import allocate_orders, create_order, release_order
from tests.factories import CustomerFactory, ItemFactory, LocationFactory
from warehouse.models import CountRequest, PickTask, Shipment, Wave
from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, release_wave
from warehouse.services.outbound import sweep_late_shipment_risk

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(site):
    return {
        "pick": LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK),
        "bulk": LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE),
        "bulk2": LocationFactory(site=site, code="B-02", kind=Location.Kind.STORAGE),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
    }


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def ordered(boss, site):
    customer = CustomerFactory(code="SHOP", home_site=site)

    def _make(lines, cust=None):
        order = create_order(
            user=boss,
            customer=cust or customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": sku, "quantity": qty} for sku, qty in lines],
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk])
        order.refresh_from_db()
        return order

    return _make


def level(item, site):
    return StockLevel.objects.get(item=item, site=site)


def test_end_to_end_order_wave_short_pick_pack_ship(boss, site, item, floor, stock, ordered):
    stock(item, floor["pick"], 6)
    stock(item, floor["bulk"], 20)
    order = ordered([("WIDGET", 10)])
    assert order.status == "ALLOCATED" and level(item, site).allocated == 10

    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    order.refresh_from_db()
    assert wave.status == "RELEASED" and order.status == "PICKING"
    tasks = {t.location.code: t for t in PickTask.objects.order_by("sequence")}
    assert sorted((code, t.quantity) for code, t in tasks.items()) == [("B-01", 4), ("P-01", 6)]  # pick face first
    assert StockQuant.objects.get(location=floor["pick"]).reserved == 6
    assert find_inventory_drift() == []

    confirm_pick(user=boss, task=tasks["B-01"], quantity=4, location_code="B-01")
    # the picker finds only 3 of 6 at the pick face
    confirm_pick(user=boss, task=tasks["P-01"], quantity=3, location_code="P-01")
    line = order.lines.get()
    lv = level(item, site)
    assert line.picked_quantity == 7
    assert lv.hold == 3 and StockQuant.objects.get(location=floor["pick"], status="HOLD").quantity == 3
    assert ExceptionCase.objects.filter(code__code="SHORT_PICK", status="OPEN").count() == 1
    assert CountRequest.objects.filter(location=floor["pick"], status="OPEN").exists()
    # the remainder (3) was re-allocated from other stock at the site
    assert line.allocated_quantity == 10 and lv.allocated == 10
    assert find_inventory_drift() == []

    second = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = second.pick_tasks.get()
    assert task.quantity == 3 and task.location == floor["bulk"]
    confirm_pick(user=boss, task=task, quantity=3, location_code="B-01")

    (shipment,) = pack_wave(user=boss, wave=second)
    assert sum(shipment.lines.values_list("quantity", flat=True)) == 10  # both waves' picks, one shipment
    confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1Z999")
    order.refresh_from_db()
    line = order.lines.get()
    lv = level(item, site)
    assert order.status == "SHIPPED"
    assert (line.shipped_quantity, line.allocated_quantity, line.picked_quantity) == (10, 0, 10)
    assert (lv.available, lv.allocated, lv.hold) == (13, 0, 3)
    assert not Allocation.objects.filter(line=line, status="OPEN").exists()
    assert find_inventory_drift() == []


def test_wrong_scans_are_refused_and_change_nothing(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    ordered([("WIDGET", 4)])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    with pytest.raises(ValidationFailed, match="Wrong location"):
        confirm_pick(user=boss, task=task, quantity=4, location_code="B-02")
    with pytest.raises(ValidationFailed):
        confirm_pick(user=boss, task=task, quantity=5, location_code="B-01")
    with pytest.raises(ValidationFailed, match="Wrong item"):
        confirm_pick(user=boss, task=task, quantity=4, location_code="B-01", item_sku="GADGET")
    task.refresh_from_db()
    assert task.status == "OPEN" and level(item, site).available == 10


def test_confirming_twice_same_data_is_harmless_different_is_409(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    ordered([("WIDGET", 4)])
    task = release_wave(user=boss, wave=plan_wave(user=boss, site=site)).pick_tasks.get()
    confirm_pick(user=boss, task=task, quantity=4, location_code="B-01")
    confirm_pick(user=boss, task=task, quantity=4, location_code="B-01")
    assert level(item, site).available == 10
    with pytest.raises(StateConflict):
        confirm_pick(user=boss, task=task, quantity=3, location_code="B-01")


def test_fefo_never_picks_an_expired_or_short_dated_lot(boss, site, floor, stock, ordered):
    from inventory.models import Lot

    milk = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=60)
    today = timezone.localdate()
    old = Lot.objects.create(item=milk, number="OLD", expiry_date=today + timedelta(days=5))
    good = Lot.objects.create(item=milk, number="GOOD", expiry_date=today + timedelta(days=45))
    later = Lot.objects.create(item=milk, number="LATER", expiry_date=today + timedelta(days=90))
    stock(milk, floor["pick"], 10, lot=later)
    stock(milk, floor["bulk"], 10, lot=good)
    stock(milk, floor["bulk2"], 10, lot=old)
    ordered([("MILK", 8)])
    task = release_wave(user=boss, wave=plan_wave(user=boss, site=site)).pick_tasks.get()
    assert task.lot == good
    with pytest.raises(ValidationFailed, match="Wrong lot"):
        confirm_pick(user=boss, task=task, quantity=8, location_code="B-01", lot_number="LATER")


def test_two_waves_never_plan_the_same_units(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    ordered([("WIDGET", 4)])
    plan_wave(user=boss, site=site)
    with pytest.raises(StateConflict, match="nothing to plan"):
        plan_wave(user=boss, site=site)


def test_customer_wanting_complete_orders_waits_to_ship(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 4)
    strict = CustomerFactory(code="STRICT", home_site=site, allow_partial_shipment=False)
    order = ordered([("WIDGET", 10)], cust=strict)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=4, location_code="B-01")
    with pytest.raises(StateConflict, match="Nothing to pack"):
        pack_wave(user=boss, wave=wave)
    order.refresh_from_db()
    assert order.status == "PICKING"


def test_orders_of_one_customer_and_address_are_consolidated(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 20)
    ordered([("WIDGET", 2)])
    ordered([("WIDGET", 3)])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    for task in wave.pick_tasks.all():
        confirm_pick(user=boss, task=task, quantity=task.quantity, location_code=task.location.code)
    shipments = pack_wave(user=boss, wave=wave)
    assert len(shipments) == 1 and shipments[0].lines.count() == 2


def test_shipment_confirmation_needs_carrier_and_tracking_and_is_idempotent(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    ordered([("WIDGET", 4)])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=4, location_code="B-01")
    (shipment,) = pack_wave(user=boss, wave=wave)
    with pytest.raises(ValidationFailed):
        confirm_shipment(user=boss, shipment=shipment, carrier="", tracking_number="")
    confirm_shipment(user=boss, shipment=shipment, carrier="DHL", tracking_number="JD1")
    confirm_shipment(user=boss, shipment=shipment, carrier="DHL", tracking_number="JD1")
    with pytest.raises(StateConflict):
        confirm_shipment(user=boss, shipment=shipment, carrier="DHL", tracking_number="JD2")
    assert level(item, site).available == 6
    assert Shipment.objects.get().status == "SHIPPED"
    assert find_inventory_drift() == []


def test_cancelling_a_released_wave_order_takes_it_off_until_a_unit_is_picked(boss, site, item, floor, stock, ordered):
    from orders.services import cancel_order

    stock(item, floor["bulk"], 10)
    order = ordered([("WIDGET", 4)])
    kept = ordered([("WIDGET", 3)])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    assert StockQuant.objects.get(location=floor["bulk"]).reserved == 7
    # nothing picked yet: the order leaves the wave, its pick task is cancelled and its units unreserved
    cancel_order(user=boss, order=order, reason="customer called")
    order.refresh_from_db()
    assert order.status == "CANCELLED"
    assert PickTask.objects.get(wave_line__order_line__order=order).status == "CANCELLED"
    assert StockQuant.objects.get(location=floor["bulk"]).reserved == 3
    assert (level(item, site).allocated, level(item, site).available) == (3, 10)
    assert find_inventory_drift() == []
    # a picked unit is on the dock: the other order can no longer be cancelled
    task = PickTask.objects.get(wave_line__order_line__order=kept)
    confirm_pick(user=boss, task=task, quantity=1, location_code="B-01")
    with pytest.raises(StateConflict, match="1 units picked"):
        cancel_order(user=boss, order=kept)
    kept.refresh_from_db()
    assert kept.status == "PICKING"
    wave.refresh_from_db()
    assert wave.status == "COMPLETED"  # its last open task was confirmed (short): nothing left to pick
    assert find_inventory_drift() == []


def test_late_shipment_risk_opens_for_orders_near_their_promise(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    order = ordered([("WIDGET", 4)])
    SalesOrder.objects.filter(pk=order.pk).update(promised_date=timezone.localdate())
    assert sweep_late_shipment_risk()["opened"] == 1
    assert sweep_late_shipment_risk()["already_open"] == 1
    SalesOrder.objects.filter(pk=order.pk).update(status="SHIPPED")
    assert sweep_late_shipment_risk()["resolved"] == 1


def test_late_shipment_risk_counts_from_the_promised_day_where_the_order_ships_from(site, item, floor, stock, ordered):
    """Promised for 26 Nov at a site in Auckland: that day starts at 25 Nov 11:00 UTC, within the 24-hour window
    at 24 Nov 11:30 UTC; the same promise from a UTC site starts 12.5 hours later, outside the window."""
    from datetime import UTC, date, datetime

    from governance.models import Site

    stock(item, floor["bulk"], 10)
    order = ordered([("WIDGET", 4)])
    SalesOrder.objects.filter(pk=order.pk).update(promised_date=date(2026, 11, 26))
    now = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
    assert sweep_late_shipment_risk(now=now)["opened"] == 0
    Site.objects.filter(pk=site.pk).update(timezone="Pacific/Auckland")
    assert sweep_late_shipment_risk(now=now)["opened"] == 1


def test_wave_is_completed_when_every_task_is_confirmed(boss, site, item, floor, stock, ordered):
    stock(item, floor["bulk"], 10)
    ordered([("WIDGET", 4)])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=4, location_code="B-01")
    assert Wave.objects.get().status == "COMPLETED"
