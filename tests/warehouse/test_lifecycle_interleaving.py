"""Documents of orders and warehouse interleaving (issue 11, finding 1): the order's lifecycle is checked under
its lock at every step, so a cancelled or held order is never picked, packed or shipped, and a shipment only
consumes open allocations."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import StateConflict
from governance.services.rules import set_rule_value
from inventory.models import Location, StockLevel, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import Allocation, SalesOrder
from orders.services import allocate_orders, cancel_order, create_order, hold_order, release_order
from tests.factories import CustomerFactory, LocationFactory
from warehouse.models import PickTask, Shipment, Wave, WaveLine
from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, release_wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(site):
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    return LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator", "admin"], site, username="boss")


@pytest.fixture
def ordered(boss, site):
    customer = CustomerFactory(code="SHOP", home_site=site)

    def _make(qty):
        order = create_order(
            user=boss,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": "WIDGET", "quantity": qty}],
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk])
        order.refresh_from_db()
        return order

    return _make


def level(item, site):
    return StockLevel.objects.get(item=item, site=site)


def test_the_reported_interleaving_cancel_after_waving_is_never_picked_or_shipped(
    api, boss, site, item, floor, stock, ordered
):
    """POST waves/ -> cancel A -> release -> pick -> pack -> ship: A stays CANCELLED, never on a pick task or a
    shipment, and allocated/ATP stay right (the report saw 20 promised against 15 on hand)."""
    stock(item, floor, 15)
    a, b = ordered(5), ordered(5)
    client = api(boss)
    wave = client.post("/api/v1/waves/", {"site": "DC1", "max_orders": 10}, format="json").json()
    assert sorted(wave["orders"]) == sorted([a.number, b.number])
    assert client.post(f"/api/v1/sales-orders/{a.pk}/cancel/", {"reason": "customer"}, format="json").status_code == 200
    assert not WaveLine.objects.filter(order_line__order=a, active=True).exists()
    released = client.post(f"/api/v1/waves/{wave['id']}/release/").json()
    assert len(released["pick_tasks"]) == 1  # only B's
    assert not PickTask.objects.filter(wave_line__order_line__order=a).exists()
    task = released["pick_tasks"][0]
    done = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 5, "location": "B-01"}, format="json")
    assert done.status_code == 200
    shipments = client.post(f"/api/v1/waves/{wave['id']}/pack/", {}, format="json").json()
    assert [{line["order"] for line in s["lines"]} for s in shipments] == [{b.number}]
    shipped = client.post(
        f"/api/v1/shipments/{shipments[0]['id']}/confirm/", {"carrier": "UPS", "tracking_number": "1Z"}, format="json"
    )
    assert shipped.status_code == 200
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, b.status) == ("CANCELLED", "SHIPPED")
    lv = level(item, site)
    assert (lv.available, lv.allocated) == (10, 0)
    assert level(item, site).available - level(item, site).allocated == 10  # what the next order is promised
    assert find_inventory_drift() == []


def test_a_cancelled_pick_task_is_refused_at_the_scanner(boss, site, item, floor, stock, ordered):
    stock(item, floor, 10)
    order = ordered(4)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    cancel_order(user=boss, order=order)
    with pytest.raises(StateConflict):
        confirm_pick(user=boss, task=task, quantity=4, location_code="B-01")
    assert StockQuant.objects.get(location=floor).reserved == 0
    wave.refresh_from_db()
    assert wave.status == "CANCELLED"  # its only order left it
    assert find_inventory_drift() == []


def test_holding_a_waved_order_takes_it_off_and_it_can_be_waved_again_after_the_hold(
    boss, site, item, floor, stock, ordered, make_user
):
    from governance import selectors
    from governance.services import decide_approval

    stock(item, floor, 10)
    order = ordered(4)
    wave = plan_wave(user=boss, site=site)
    hold_order(user=boss, order=order, reason="customer asked to wait")
    wave.refresh_from_db()
    assert wave.status == "CANCELLED" and SalesOrder.objects.get(pk=order.pk).status == "ON_HOLD"
    with pytest.raises(StateConflict):
        release_wave(user=boss, wave=wave)
    approver = make_user(["supervisor"], site, username="approver")
    decide_approval(approval=selectors.pending_approval(subject=order), user=approver, approve=True)
    allocate_orders([order.pk])
    again = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    assert again.pick_tasks.get().quantity == 4
    assert find_inventory_drift() == []


def test_a_site_that_keeps_waved_orders_refuses_their_cancel_with_409(boss, site, item, floor, stock, ordered):
    stock(item, floor, 10)
    order = ordered(4)
    set_rule_value(user=boss, key="orders.cancel_waved_orders", site=site, value=False, reason="cross-dock site")
    wave = plan_wave(user=boss, site=site)
    with pytest.raises(StateConflict, match="does not take waved orders back"):
        cancel_order(user=boss, order=order)
    order.refresh_from_db()
    assert order.status == "ALLOCATED" and Wave.objects.get(pk=wave.pk).status == "PLANNED"
    assert level(item, site).allocated == 4


def test_a_shipment_consumes_only_open_allocations(boss, site, item, floor, stock, ordered):
    """The order's allocation was given back after packing (e.g. reconciled away): the shipment is refused and
    changes nothing, instead of lowering ``allocated`` for units nothing claimed."""
    from orders.services.allocation import release_allocations

    stock(item, floor, 10)
    order = ordered(4)
    other = ordered(3)  # still allocated: its 3 units must stay promised
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site, max_orders=1))
    confirm_pick(user=boss, task=wave.pick_tasks.get(), quantity=4, location_code="B-01")
    (shipment,) = pack_wave(user=boss, wave=wave)
    from django.db import transaction

    with transaction.atomic():
        release_allocations(Allocation.objects.filter(line__order=order))
    allocated = level(item, site).allocated
    with pytest.raises(StateConflict, match="only 0 are allocated"):
        confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1Z")
    assert Shipment.objects.get(pk=shipment.pk).status != "SHIPPED"
    assert level(item, site).allocated == allocated == 3
    assert SalesOrder.objects.get(pk=other.pk).status == "ALLOCATED"
    order.refresh_from_db()
    assert order.status == "PICKING" and order.lines.get().shipped_quantity == 0


def test_a_short_picks_reason_is_kept_on_the_task_and_its_exception_and_a_bad_one_changes_nothing(
    api, boss, site, item, floor, stock, ordered
):
    from governance.models import ExceptionCase

    stock(item, floor, 10)
    ordered(4)
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    client = api(boss)
    url = f"/api/v1/pick-tasks/{task.pk}/confirm/"
    bad = client.post(url, {"quantity": 3, "location": "B-01", "short_reason": "LAZY"}, format="json")
    assert bad.status_code == 400 and "short_reason" in str(bad.json())
    full = client.post(url, {"quantity": 4, "location": "B-01", "short_reason": "DAMAGED"}, format="json")
    assert full.status_code == 400 and "Nothing is short" in str(full.json())
    task.refresh_from_db()
    assert task.status == "OPEN" and not ExceptionCase.objects.filter(code__code="SHORT_PICK").exists()
    done = client.post(url, {"quantity": 3, "location": "B-01", "short_reason": "wrong_item"}, format="json")
    assert done.status_code == 200 and done.json()["short_reason"] == "WRONG_ITEM"
    case = ExceptionCase.objects.get(code__code="SHORT_PICK")
    assert case.details["reason"] == "WRONG_ITEM" and "another item in the location" in case.summary
