"""Releases racing the site's batched allocation (issue 16), on real PostgreSQL with one connection per thread."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from inventory.models import StockLevel
from inventory.selectors import find_inventory_drift
from inventory.services import receive_stock
from orders.models import Allocation, SalesOrder, SalesOrderLine
from orders.services import release_order
from orders.services.allocation import allocate_released, released_waiting
from tests.concurrency.test_allocation_concurrency import _order, run_threads, world  # noqa: F401 - the fixture
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_releases_racing_batches_allocate_each_unit_once_and_leave_nothing_waiting(world):  # noqa: F811
    site, coordinator, location, customer = world
    item = ItemFactory(sku="BATCH-HOT")
    receive_stock(user=None, item=item, location=location, quantity=100, status="AVAILABLE", check_permission=False)
    orders = [_order(coordinator, customer, [("BATCH-HOT", 5)]) for _ in range(24)]

    def work(kind, order):
        if kind == "release":
            return release_order(user=coordinator, order=order)  # its allocation task runs inline after commit
        return allocate_released(site.pk, batch_size=4)  # a redelivered or concurrent batch of the same site

    jobs = [("release", o) for o in orders] + [("batch", None)] * 6
    _, errors = run_threads(work, jobs)

    assert not [e for e in errors if isinstance(e, OperationalError)], errors
    assert errors == []
    allocate_released(site.pk)  # whatever a lost task left: nothing, as each release's task ran
    assert released_waiting(site.pk) == []
    level = StockLevel.objects.get(item=item, site=site)
    lines = SalesOrderLine.objects.filter(order__in=orders)
    assert level.allocated == 100 == sum(line.allocated_quantity for line in lines)
    assert sum(line.backordered_quantity for line in lines) == 24 * 5 - 100
    assert Allocation.objects.filter(line__order__in=orders).count() == 20  # one per allocated order, never two
    statuses = SalesOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    assert sorted(set(statuses)) == ["ALLOCATED", "BACKORDERED"]
    assert find_inventory_drift() == []
