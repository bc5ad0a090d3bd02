"""Outbound contention on real PostgreSQL: double pick confirmation, two waves planned at once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import StateConflict
from governance.models import SiteMembership
from inventory.models import Location, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import receive_stock
from orders.services import allocate_orders, create_order, release_order
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory
from warehouse.models import PickTask, WaveLine
from warehouse.services import confirm_pick, plan_wave, release_wave

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def floor():
    site = SiteFactory(code="OUT", region="EAST")
    user = UserFactory(username="out-boss")
    for role in ("coordinator", "supervisor", "operator"):
        SiteMembership.objects.create(user=user, site=site, role=role)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    bin_ = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    item = ItemFactory(sku="OUT-ITEM")
    receive_stock(user=None, item=item, location=bin_, quantity=500, status="AVAILABLE", check_permission=False)
    customer = CustomerFactory(home_site=site, credit_limit="100000000")
    orders = []
    for _ in range(12):
        order = create_order(
            user=user,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=1),
            lines=[{"item": "OUT-ITEM", "quantity": 5}],
        )
        release_order(user=user, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])
    return site, user


def test_two_operators_confirming_one_task_at_once_one_wins_the_other_gets_409(floor):
    site, user = floor
    wave = release_wave(user=user, wave=plan_wave(user=user, site=site, max_orders=1))
    task = wave.pick_tasks.get()

    results, errors = run_threads(
        lambda qty: confirm_pick(user=user, task=task, quantity=qty, location_code="B-01"), [(5,), (4,)]
    )

    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors
    task.refresh_from_db()
    assert task.status in ("PICKED", "SHORT")
    staged = StockQuant.objects.get(location__code="STAGE").quantity
    assert staged == task.picked_quantity
    assert find_inventory_drift() == []


def test_two_waves_planned_at_once_never_take_the_same_allocation(floor):
    site, user = floor

    results, errors = run_threads(lambda n: plan_wave(user=user, site=site, max_orders=n), [(6,), (6,), (6,)])

    assert all(isinstance(e, StateConflict) for e in errors), errors
    allocation_ids = list(WaveLine.objects.values_list("allocation_id", flat=True))
    assert len(allocation_ids) == len(set(allocation_ids)) == 12
    waves = [w for w in results if w is not None]
    run_threads(lambda w: release_wave(user=user, wave=w), [(w,) for w in waves])
    assert sum(PickTask.objects.values_list("quantity", flat=True)) == 60
    assert StockQuant.objects.get(location__code="B-01").reserved == 60
    assert find_inventory_drift() == []


def test_waves_packed_at_once_never_share_an_sscc(floor):
    """Each package gets its SSCC at packing from one sequence: packers of different waves at the same time (and
    two packers of the same wave) never give one SSCC twice, and a wave is packed once."""
    from warehouse.models import Package
    from warehouse.services import pack_wave

    site, user = floor
    waves = []
    for _ in range(3):
        wave = release_wave(user=user, wave=plan_wave(user=user, site=site, max_orders=4))
        for task in wave.pick_tasks.all():
            confirm_pick(user=user, task=task, quantity=task.quantity, location_code="B-01")
        waves.append(wave)
    boxes = [{"weight_grams": 100}, {"weight_grams": 200}]

    results, errors = run_threads(
        lambda w: pack_wave(user=user, wave=w, packages=boxes), [(waves[0],), (waves[0],), (waves[1],), (waves[2],)]
    )

    assert len(errors) == 1 and isinstance(errors[0], StateConflict), errors  # the second packer of wave 1
    shipments = [s for batch in results if batch for s in batch]
    codes = list(Package.objects.values_list("sscc", flat=True))
    assert len(codes) == 2 * len(shipments) >= 6 and None not in codes  # two boxes per shipment
    assert len(set(codes)) == len(codes)
    assert set(Package.objects.values_list("shipment__wave_id", flat=True)) == {w.pk for w in waves}
