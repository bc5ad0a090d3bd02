"""Allocation under contention, on real PostgreSQL with one connection per thread."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from inventory.models import StockLevel
from inventory.selectors import find_inventory_drift
from inventory.services import receive_stock
from orders.models import SalesOrder, SalesOrderLine
from orders.services import allocate_orders, cancel_order, create_order, release_order
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_threads(target, args_list):
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []
    results: list = [None] * len(args_list)

    def wrapper(index, args):
        try:
            barrier.wait()
            results[index] = target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapper, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results, errors


@pytest.fixture
def world():
    site = SiteFactory(code="HOT", region="EAST")
    coordinator = UserFactory(username="hot-coord")
    from governance.models import SiteMembership

    SiteMembership.objects.create(user=coordinator, site=site, role="coordinator")
    location = LocationFactory(site=site, code="HOT-01")
    customer = CustomerFactory(home_site=site, credit_limit="100000000.00")
    return site, coordinator, location, customer


def _order(coordinator, customer, lines):
    return create_order(
        user=coordinator,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": sku, "quantity": qty} for sku, qty in lines],
    )


def test_32_orders_released_at_once_for_the_last_100_units_allocate_exactly_100(world):
    site, coordinator, location, customer = world
    item = ItemFactory(sku="HOT-ITEM")
    receive_stock(user=None, item=item, location=location, quantity=100, status="AVAILABLE", check_permission=False)
    orders = [_order(coordinator, customer, [("HOT-ITEM", 5)]) for _ in range(32)]

    _, errors = run_threads(lambda o: release_order(user=coordinator, order=o), [(o,) for o in orders])

    assert errors == []
    level = StockLevel.objects.get(item=item, site=site)
    assert level.allocated == 100
    lines = SalesOrderLine.objects.filter(order__in=orders)
    assert sum(line.allocated_quantity for line in lines) == 100
    assert sum(line.backordered_quantity for line in lines) == 60
    statuses = SalesOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    assert sorted(set(statuses)) == ["ALLOCATED", "BACKORDERED"]
    assert find_inventory_drift() == []


def test_orders_touching_the_same_items_in_opposite_orders_never_deadlock(world):
    site, coordinator, location, customer = world
    skus = [f"OPP-{i}" for i in range(4)]
    for sku in skus:
        item = ItemFactory(sku=sku)
        receive_stock(
            user=None, item=item, location=location, quantity=1000, status="AVAILABLE", check_permission=False
        )
    orders = []
    for i in range(16):
        ordered = skus if i % 2 == 0 else list(reversed(skus))
        order = _order(coordinator, customer, [(sku, 3) for sku in ordered])
        SalesOrder.objects.filter(pk=order.pk).update(status="RELEASED", released_at=timezone.now())
        orders.append(order)
    # each worker allocates a batch holding orders of both line orders, in opposite sequences
    batches = [[o.pk for o in (orders if i % 2 == 0 else list(reversed(orders)))[i : i + 6]] for i in range(0, 16, 2)]

    _, errors = run_threads(lambda ids: allocate_orders(ids), [(b,) for b in batches])

    assert not [e for e in errors if isinstance(e, OperationalError)], errors
    assert errors == []
    assert sum(StockLevel.objects.filter(site=site).values_list("allocated", flat=True)) == 16 * 4 * 3
    assert find_inventory_drift() == []


def test_cancellation_racing_allocation_leaves_counters_exact(world):
    site, coordinator, location, customer = world
    item = ItemFactory(sku="RACE")
    receive_stock(user=None, item=item, location=location, quantity=60, status="AVAILABLE", check_permission=False)
    orders = [_order(coordinator, customer, [("RACE", 10)]) for _ in range(12)]
    SalesOrder.objects.filter(pk__in=[o.pk for o in orders]).update(status="RELEASED", released_at=timezone.now())

    def work(kind, order):
        if kind == "cancel":
            return cancel_order(user=coordinator, order=order)
        return allocate_orders([order.pk])

    jobs = [("allocate", o) for o in orders] + [("cancel", o) for o in orders[::2]]
    _, errors = run_threads(work, jobs)

    assert not [e for e in errors if isinstance(e, OperationalError)], errors
    level = StockLevel.objects.get(item=item, site=site)
    open_lines = SalesOrderLine.objects.filter(order__in=orders).exclude(order__status="CANCELLED")
    assert level.allocated == sum(line.allocated_quantity for line in open_lines)
    assert level.allocated <= 60
    assert find_inventory_drift() == []
