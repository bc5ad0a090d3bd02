"""Releases are allocated in batches per site (issue 16): one task drains the site's released orders waiting for
their first allocation, highest priority first, and a redelivered task allocates nothing twice."""

from __future__ import annotations

import pytest

from governance.models import OutboxMessage
from inventory.models import StockLevel
from inventory.selectors import find_inventory_drift
from orders.models import Allocation, SalesOrder
from orders.services import release_order
from orders.services.allocation import allocate_released, released_waiting
from orders.tasks import allocate_released_task
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

TOPIC = "orders.tasks.allocate_released_task"


@pytest.fixture
def released(new_order, coordinator):
    """released(lines, **kw) -> order released; its allocation task is not run (on_commit does not fire here)."""

    def _make(lines, **kw):
        return release_order(user=coordinator, order=new_order(lines, **kw))

    return _make


def statuses(*orders):
    return [SalesOrder.objects.get(pk=o.pk).status for o in orders]


def test_releases_of_one_site_share_one_waiting_outbox_row(site, item, storage, stock, released):
    stock(item, storage, 100)
    orders = [released([("WIDGET", 1)]) for _ in range(3)]
    rows = OutboxMessage.objects.filter(topic=TOPIC, done_at__isnull=True, dispatched_at__isnull=True)
    assert list(rows.values_list("args", "dedup_key", "site_id")) == [
        ([site.pk], f"allocate_released:{site.pk}", site.pk)
    ]
    assert allocate_released_task(site.pk)["orders"] == 3
    assert statuses(*orders) == ["ALLOCATED"] * 3


def test_one_batch_allocates_the_higher_priority_order_first_even_when_released_last(
    site, item, storage, stock, released
):
    stock(item, storage, 10)
    low_first = released([("WIDGET", 10)], priority=5)
    middle = released([("WIDGET", 10)], priority=3)
    high_last = released([("WIDGET", 10)], priority=1)
    assert released_waiting(site.pk) == [high_last.pk, middle.pk, low_first.pk]

    counts = allocate_released_task(site.pk)

    assert counts["batches"] == 1 and counts["orders"] == 3
    assert statuses(high_last, middle, low_first) == ["ALLOCATED", "BACKORDERED", "BACKORDERED"]
    assert find_inventory_drift() == []


def test_batches_are_taken_in_priority_order_across_rounds(site, item, storage, stock, released):
    stock(item, storage, 20)
    lows = [released([("WIDGET", 10)], priority=5) for _ in range(3)]
    high = released([("WIDGET", 10)], priority=1)

    counts = allocate_released(site.pk, batch_size=1)

    assert counts["batches"] == 4
    assert statuses(high, *lows) == ["ALLOCATED", "ALLOCATED", "BACKORDERED", "BACKORDERED"]


def test_a_redelivered_task_allocates_nothing_twice(site, item, storage, stock, released):
    stock(item, storage, 15)
    first = released([("WIDGET", 10)])
    second = released([("WIDGET", 10)])
    allocate_released_task(site.pk)
    allocations = list(Allocation.objects.order_by("pk").values_list("line__order_id", "quantity"))

    again = allocate_released_task(site.pk)  # the same message delivered again (lease ran out, Redis restarted)

    assert again["orders"] == 0 and again["allocated_units"] == 0
    assert list(Allocation.objects.order_by("pk").values_list("line__order_id", "quantity")) == allocations
    assert StockLevel.objects.get(item=item, site=site).allocated == 15
    assert statuses(first, second) == ["ALLOCATED", "PARTIALLY_ALLOCATED"]
    assert find_inventory_drift() == []


def test_only_the_site_of_the_task_is_allocated(site, item, storage, stock, released, coordinator, new_order):
    other = SiteFactory(code="DC2", region=site.region)
    stock(item, storage, 100)
    mine = released([("WIDGET", 2)])
    theirs = released([("WIDGET", 2)])
    SalesOrder.objects.filter(pk=theirs.pk).update(site=other)

    assert allocate_released_task(site.pk)["orders"] == 1
    assert statuses(mine, theirs) == ["ALLOCATED", "RELEASED"]
    assert allocate_released_task(other.pk)["orders"] == 1
    assert statuses(theirs) == ["ALLOCATED"]


def test_an_order_the_engine_already_looked_at_is_left_to_the_backorder_sweep(site, item, storage, released, customer):
    customer.allow_backorders = False  # no stock and no backorders: the engine records a wait, status stays RELEASED
    customer.save()
    waiting = released([("WIDGET", 5)])
    assert allocate_released_task(site.pk)["waiting_units"] == 5
    assert statuses(waiting) == ["RELEASED"]
    assert released_waiting(site.pk) == []
    assert allocate_released_task(site.pk)["orders"] == 0


def test_work_left_after_the_last_round_is_handed_to_a_new_task(site, item, storage, stock, released):
    stock(item, storage, 100)
    orders = [released([("WIDGET", 1)]) for _ in range(3)]
    OutboxMessage.objects.filter(topic=TOPIC).update(dispatched_at=site.created_at)  # the running task's row

    counts = allocate_released(site.pk, batch_size=1, rounds=2)

    assert counts["batches"] == 2
    assert statuses(*orders).count("ALLOCATED") == 2
    follow_up = OutboxMessage.objects.get(topic=TOPIC, dispatched_at__isnull=True)
    assert follow_up.args == [site.pk]
    assert allocate_released_task(site.pk)["orders"] == 1
    assert statuses(*orders) == ["ALLOCATED"] * 3
