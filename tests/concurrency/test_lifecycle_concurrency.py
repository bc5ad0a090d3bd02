"""Documents of different apps interleaving on real PostgreSQL, with real threads (issue 11): an order
cancelled or held while its wave is released, and several waves of one site released at once while their pick
faces are refilled and stock arrives. Whatever order the transactions commit in: no open pick task or
reservation for a cancelled order, reservations = open tasks, the ledger and balances agree, no deadlock."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.errors import StateConflict
from governance.models import SiteMembership
from inventory.models import Location, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import receive_stock
from orders.models import Allocation, SalesOrder
from orders.services import allocate_orders, cancel_order, create_order, hold_order, release_order
from orders.services.replenishment import create_pick_face_policy
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory
from warehouse.models import PickTask, ReplenishmentTask, Wave
from warehouse.services import plan_wave, release_wave

pytestmark = pytest.mark.django_db(transaction=True)


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.fixture
def floor():
    site = SiteFactory(code="LIFE", region="EAST")
    user = UserFactory(username="life-boss")
    for role in ("coordinator", "supervisor", "operator"):
        SiteMembership.objects.create(user=user, site=site, role=role)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    faces = [LocationFactory(site=site, code=f"P-{n:02}", kind=Location.Kind.PICK, capacity=100) for n in range(3)]
    bins = [LocationFactory(site=site, code=f"B-{n:02}", kind=Location.Kind.STORAGE) for n in range(3)]
    items = [ItemFactory(sku=f"LIFE-{n}") for n in range(3)]
    for item, face, bin_ in zip(items, faces, bins, strict=True):
        receive_stock(user=None, item=item, location=face, quantity=20, status="AVAILABLE", check_permission=False)
        receive_stock(user=None, item=item, location=bin_, quantity=400, status="AVAILABLE", check_permission=False)
        create_pick_face_policy(user=None, location=face, item=item, min_quantity=15, max_quantity=60)
    customer = CustomerFactory(home_site=site, credit_limit="100000000")
    orders = []
    for n in range(12):
        order = create_order(
            user=user,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=1),
            lines=[{"item": items[n % 3].sku, "quantity": 6}, {"item": items[(n + 1) % 3].sku, "quantity": 4}],
        )
        release_order(user=user, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])
    return {"site": site, "user": user, "orders": orders, "items": items, "bins": bins}


def assert_consistent():
    for quant in StockQuant.objects.all():
        open_picks = sum(
            PickTask.objects.filter(
                status=PickTask.Status.OPEN, item_id=quant.item_id, location_id=quant.location_id, lot_id=quant.lot_id
            ).values_list("quantity", flat=True)
        )
        open_refills = sum(
            ReplenishmentTask.objects.filter(
                status=ReplenishmentTask.Status.OPEN,
                item_id=quant.item_id,
                from_location_id=quant.location_id,
                lot_id=quant.lot_id,
            ).values_list("quantity", flat=True)
        )
        if quant.status == "AVAILABLE":
            assert quant.reserved == open_picks + open_refills, quant
    for order in SalesOrder.objects.filter(status=SalesOrder.Status.CANCELLED):
        assert not PickTask.objects.filter(order_line__order=order, status=PickTask.Status.OPEN).exists(), order
        assert not Allocation.objects.filter(line__order=order, status=Allocation.Status.OPEN).exists(), order
    assert find_inventory_drift() == []


@pytest.mark.parametrize("round_", range(3))
def test_orders_cancelled_and_held_while_their_wave_is_released(floor, round_):
    site, user, orders = floor["site"], floor["user"], floor["orders"]
    wave = plan_wave(user=user, site=site, max_orders=12)
    before = deadlocks()
    victims = orders[round_::4]  # three orders of the wave, a different three each round

    def act(kind, target):
        if kind == "release":
            return release_wave(user=user, wave=target)
        if kind == "hold":
            return hold_order(user=user, order=target, reason="customer called")
        return cancel_order(user=user, order=target, reason="customer called")

    results, errors = run_threads(
        act, [("release", wave), ("cancel", victims[0]), ("hold", victims[1]), ("cancel", victims[2])]
    )

    # a cancel comes before or after the release: either way it wins (until a unit is picked). A hold after the
    # release is refused (an order being picked cannot be held: 409) and the order stays on the wave.
    assert all(isinstance(e, StateConflict) for e in errors), errors
    assert len(errors) <= 1
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RELEASED
    for order in victims:
        order.refresh_from_db()
        open_tasks = PickTask.objects.filter(order_line__order=order, status=PickTask.Status.OPEN)
        if order.status == SalesOrder.Status.PICKING:  # the refused hold
            assert order is victims[1] and errors and open_tasks.exists()
        else:
            assert order.status in (SalesOrder.Status.CANCELLED, SalesOrder.Status.ON_HOLD), order.status
            assert not open_tasks.exists()
    others = {o.pk for o in orders} - {o.pk for o in victims}
    assert {o.pk for o in orders if PickTask.objects.filter(order_line__order=o, status="OPEN").exists()} <= (
        others | {victims[1].pk}
    )
    assert_consistent()
    assert deadlocks() == before


def test_waves_of_one_site_released_at_once_with_refills_and_stock_arriving(floor):
    site, user, items, bins = floor["site"], floor["user"], floor["items"], floor["bins"]
    waves = [plan_wave(user=user, site=site, max_orders=3) for _ in range(4)]
    before = deadlocks()

    def act(kind, target):
        if kind == "release":
            return release_wave(user=user, wave=target)
        item, bin_ = target
        return receive_stock(
            user=None, item=item, location=bin_, quantity=30, status="AVAILABLE", check_permission=False
        )

    jobs = [("release", w) for w in waves] + [("receive", (items[n], bins[n])) for n in range(2)]
    results, errors = run_threads(act, jobs)

    assert errors == []
    assert set(Wave.objects.values_list("status", flat=True)) == {Wave.Status.RELEASED}
    assert ReplenishmentTask.objects.filter(trigger=ReplenishmentTask.Trigger.WAVE).exists()
    assert_consistent()
    assert deadlocks() == before
