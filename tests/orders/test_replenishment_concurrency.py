"""Replenishment contention on real PostgreSQL: two planning runs of one site at once, one run delivered to two
workers, two pick-face sweeps at once."""

import pytest

from inventory.models import Location, StockQuant
from inventory.services import receive_stock
from orders.models import ReplenishmentRun, ReplenishmentSuggestion
from orders.services import create_supplier
from orders.services.replenishment import create_pick_face_policy, create_policy, execute_run
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import ItemFactory, LocationFactory, SiteFactory
from warehouse.models import ReplenishmentTask
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def network():
    site = SiteFactory(code="RPL", region="EAST")
    donor = SiteFactory(code="RPL2", region="EAST")
    shelf = LocationFactory(site=donor, code="D-01", kind=Location.Kind.STORAGE)
    supplier = create_supplier(user=None, code="RSUP", name="Supplier", lead_time_days=3)
    for i in range(20):
        item = ItemFactory(sku=f"RPL-{i:02d}")
        create_policy(user=None, site=site, item=item, min_quantity=10, max_quantity=100, supplier=supplier)
        create_policy(user=None, site=donor, item=item, min_quantity=10, max_quantity=50, supplier=supplier)
        receive_stock(user=None, item=item, location=shelf, quantity=80, status="AVAILABLE", check_permission=False)
    return site


def test_two_runs_of_one_site_at_once_leave_one_open_suggestion_per_item_and_source(network):
    runs = [ReplenishmentRun.objects.create(site=network) for _ in range(2)]

    results, errors = run_threads(lambda run_id: execute_run(run_id=run_id), [(r.pk,) for r in runs])

    assert errors == []
    assert {r.status for r in results} == {"SUCCEEDED"}
    open_rows = ReplenishmentSuggestion.objects.filter(site=network, status="OPEN")
    # 30 spare units at the donor (80 over its max of 50), 70 more bought, per item
    assert sorted(set(open_rows.values_list("kind", "quantity"))) == [("PURCHASE", 70), ("TRANSFER", 30)]
    assert open_rows.count() == 40
    assert ReplenishmentSuggestion.objects.count() == 40  # the second run updated the first run's rows


def test_one_run_delivered_to_two_workers_is_planned_once(network):
    run = ReplenishmentRun.objects.create(site=network)

    results, errors = run_threads(lambda: execute_run(run_id=run.pk), [(), ()])

    assert errors == []
    run.refresh_from_db()
    assert run.status == "SUCCEEDED" and run.counts["created"] == 40
    assert ReplenishmentSuggestion.objects.filter(status="OPEN").count() == 40


def test_two_pick_face_sweeps_at_once_reserve_each_unit_once():
    site = SiteFactory(code="PF", region="EAST")
    bulk = LocationFactory(site=site, code="PF-B", kind=Location.Kind.STORAGE)
    for i in range(10):
        item = ItemFactory(sku=f"PF-{i}")
        face = LocationFactory(site=site, code=f"PF-P{i}", kind=Location.Kind.PICK)
        create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=30)
        receive_stock(user=None, item=item, location=bulk, quantity=100, status="AVAILABLE", check_permission=False)

    results, errors = run_threads(lambda: sweep_pick_faces(site_id=site.pk), [(), ()])

    assert errors == []
    assert ReplenishmentTask.objects.count() == 10
    assert sorted({q.reserved for q in StockQuant.objects.filter(location=bulk)}) == [30]
