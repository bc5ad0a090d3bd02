"""Transfers picked at the source under contention on real PostgreSQL: a transfer released while a wave is
released at the same site, two transfers claiming the last free units, two operators confirming one pick."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import InsufficientStock, StateConflict
from governance.models import SiteMembership
from inventory.models import Location, StockLevel, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import receive_stock
from orders.services import allocate_orders, create_order, release_order
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory
from warehouse.models import PickTask
from warehouse.services import confirm_pick, plan_wave, release_wave
from warehouse.services.transfers import create_transfer, release_transfer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def floor():
    site, dest = SiteFactory(code="SRC", region="EAST"), SiteFactory(code="DST", region="EAST")
    user = UserFactory(username="src-boss")
    for s in (site, dest):
        for role in ("coordinator", "supervisor", "operator", "planner"):
            SiteMembership.objects.create(user=user, site=s, role=role)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    bin_ = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    item = ItemFactory(sku="SRC-ITEM", standard_cost="0.01")
    receive_stock(user=None, item=item, location=bin_, quantity=500, status="AVAILABLE", check_permission=False)
    customer = CustomerFactory(home_site=site, credit_limit="100000000")
    orders = []
    for _ in range(6):
        order = create_order(
            user=user,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=1),
            lines=[{"item": "SRC-ITEM", "quantity": 10}],
        )
        release_order(user=user, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])
    return site, dest, user, item


def transfer(site, dest, user, quantity):
    return create_transfer(user=user, from_site=site, to_site=dest, lines=[{"item": "SRC-ITEM", "quantity": quantity}])


def test_a_transfer_and_a_wave_released_at_once_reserve_different_units(floor):
    site, dest, user, item = floor
    wave = plan_wave(user=user, site=site)
    out = transfer(site, dest, user, 440)  # everything not allocated to the orders

    def release(kind):
        if kind == "wave":
            return release_wave(user=user, wave=wave)
        return release_transfer(user=user, transfer=out)

    results, errors = run_threads(release, [("wave",), ("transfer",)])

    assert errors == []
    assert StockQuant.objects.get(location__code="B-01").reserved == 500
    assert sum(PickTask.objects.values_list("quantity", flat=True)) == 500
    assert StockLevel.objects.get(item=item, site=site).allocated == 500
    assert find_inventory_drift() == []


def test_two_transfers_claiming_the_last_free_units_at_once_one_is_refused(floor):
    site, dest, user, item = floor
    first, second = transfer(site, dest, user, 300), transfer(site, dest, user, 300)

    results, errors = run_threads(lambda t: release_transfer(user=user, transfer=t), [(first,), (second,)])

    assert len(errors) == 1 and isinstance(errors[0], InsufficientStock), errors
    assert StockLevel.objects.get(item=item, site=site).allocated == 60 + 300
    assert StockQuant.objects.get(location__code="B-01").reserved == 300
    assert find_inventory_drift() == []


def test_two_operators_confirming_one_transfer_pick_at_once_one_wins(floor):
    site, dest, user, item = floor
    out = release_transfer(user=user, transfer=transfer(site, dest, user, 20))
    task = PickTask.objects.get(transfer_line__transfer=out)

    results, errors = run_threads(
        lambda qty: confirm_pick(user=user, task=task, quantity=qty, location_code="B-01"), [(20,), (18,)]
    )

    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    task.refresh_from_db()
    assert StockQuant.objects.get(location__code="STAGE").quantity == task.picked_quantity
    assert find_inventory_drift() == []
