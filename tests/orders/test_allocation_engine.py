"""Service tests of the allocation engine against PostgreSQL."""

from decimal import Decimal

import pytest

from governance.models import ExceptionCase, JobRun
from governance.services import set_rule_value
from inventory.models import ItemSubstitute, StockLevel
from inventory.selectors import find_inventory_drift
from orders.models import Allocation, SalesOrder
from orders.services import allocate_orders, reconcile_allocations, release_order
from orders.tasks import allocate_order_task, allocation_sweep, reconcile_allocations_task
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(new_order, coordinator):
    """released(lines, **kw) -> order released without running allocation (the task is not executed)."""

    def _make(lines, **kw):
        return release_order(user=coordinator, order=new_order(lines, **kw))

    return _make


def test_order_is_split_across_sites_when_no_single_site_can_fill(site, item, storage, stock, released, admin_user):
    far = SiteFactory(code="DC9", region="WEST")
    stock(item, storage, 6)
    stock(item, LocationFactory(site=far, code="F-1"), 10)
    order = released([("WIDGET", 12)])
    allocate_orders([order.pk])
    allocations = Allocation.objects.filter(line__order=order).order_by("site__code")
    assert [(a.site.code, a.quantity, a.rule) for a in allocations] == [("DC1", 6, "SPLIT"), ("DC9", 6, "SPLIT")]
    assert order.decisions.filter(rule="SPLIT", line__isnull=True).exists()


def test_site_rule_forbidding_splits_keeps_the_order_at_one_site(site, item, storage, stock, released, admin_user):
    far = SiteFactory(code="DC9", region="WEST")
    set_rule_value(user=admin_user, key="orders.allow_split_shipments", value=False, site=far, reason="no splits")
    stock(item, storage, 6)
    stock(item, LocationFactory(site=far, code="F-1"), 10)
    order = released([("WIDGET", 12)])
    allocate_orders([order.pk])
    assert list(Allocation.objects.filter(line__order=order).values_list("site__code", "quantity")) == [("DC9", 10)]
    assert order.lines.get().backordered_quantity == 2


def test_substitute_fills_a_short_line_and_the_line_shows_it(site, item, storage, stock, released, customer):
    substitute = ItemFactory(sku="WIDGET-ALT")
    ItemSubstitute.objects.create(item=item, substitute=substitute, preference=1)
    customer.allow_substitution = True
    customer.save()
    stock(item, storage, 4)
    stock(substitute, storage, 10)
    order = released([("WIDGET", 10)])
    allocate_orders([order.pk])
    rows = list(Allocation.objects.filter(line__order=order).values_list("item__sku", "quantity", "is_substitute"))
    assert sorted(rows) == [("WIDGET", 4, False), ("WIDGET-ALT", 6, True)]
    assert "substitute" in order.decisions.get(item=substitute).message
    assert find_inventory_drift() == []


def test_running_the_allocation_task_twice_allocates_nothing_twice(item, storage, stock, released):
    stock(item, storage, 100)
    order = released([("WIDGET", 10)])
    allocate_order_task(order.pk)
    allocate_order_task(order.pk)
    assert Allocation.objects.filter(line__order=order).count() == 1
    assert StockLevel.objects.get(item=item, site=storage.site).allocated == 10


def test_sweep_allocates_a_released_order_whose_task_was_lost(item, storage, stock, released):
    stock(item, storage, 100)
    order = released([("WIDGET", 10)])  # on_commit never ran: the message is "lost"
    allocation_sweep()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.ALLOCATED
    assert JobRun.objects.get(kind="allocation_sweep").counts["allocated_units"] == 10


def test_backorders_are_filled_oldest_promise_first(item, storage, stock, new_order, coordinator, tomorrow):
    from datetime import timedelta

    late = release_order(
        user=coordinator, order=new_order([("WIDGET", 10)], promised_date=tomorrow + timedelta(days=5))
    )
    early = release_order(user=coordinator, order=new_order([("WIDGET", 10)]))
    allocate_orders([late.pk, early.pk])
    stock(item, storage, 10)
    from orders.services import fill_backorders

    fill_backorders(item_ids=[item.pk])
    late.refresh_from_db()
    early.refresh_from_db()
    assert (early.status, late.status) == ("ALLOCATED", "BACKORDERED")


def test_allocation_writes_history_rows_for_status_changes(item, storage, stock, released):
    stock(item, storage, 100)
    order = released([("WIDGET", 10)])
    allocate_orders([order.pk])
    assert list(order.history.order_by("-history_id").values_list("status", flat=True)[:1]) == ["ALLOCATED"]


def test_reconciliation_repairs_allocated_drift_and_opens_one_exception(item, storage, stock, released):
    stock(item, storage, 100)
    order = released([("WIDGET", 10)])
    allocate_orders([order.pk])
    StockLevel.objects.filter(item=item).update(allocated=3)
    assert any(d.kind == "ALLOCATED_VS_ALLOCATIONS" for d in find_inventory_drift())
    counts = reconcile_allocations()
    assert counts["drift"] == 1 and counts["repaired"] == 1
    assert StockLevel.objects.get(item=item, site=storage.site).allocated == 10
    assert ExceptionCase.objects.filter(code__code="ALLOCATION_DRIFT").count() == 1
    reconcile_allocations_task()
    assert ExceptionCase.objects.filter(code__code="ALLOCATION_DRIFT").count() == 1
    assert find_inventory_drift() == []


def test_reconciliation_resolves_the_drift_case_once_the_counter_agrees_again(item, storage, stock, released):
    stock(item, storage, 100)
    allocate_orders([released([("WIDGET", 10)]).pk])
    StockLevel.objects.filter(item=item).update(allocated=3)
    first = reconcile_allocations()  # repairs, opens the case: still open after the run that found the drift
    case = ExceptionCase.objects.get(code__code="ALLOCATION_DRIFT")
    assert (first["repaired"], first["resolved"], case.status) == (1, 0, "OPEN")

    second = reconcile_allocations()  # nothing drifts now: the sweep closes its case
    case.refresh_from_db()
    assert (second["drift"], second["resolved"], case.status) == (0, 1, "RESOLVED")
    assert "equal to the open allocations" in case.resolution_note
    assert reconcile_allocations()["resolved"] == 0  # idempotent

    StockLevel.objects.filter(item=item).update(allocated=4)  # drifts again: a new case
    reconcile_allocations()
    assert ExceptionCase.objects.filter(code__code="ALLOCATION_DRIFT", status="OPEN").count() == 1


def test_credit_check_counts_open_orders_of_the_customer(site, item, new_order, coordinator):
    from orders.services import open_order_value

    customer = CustomerFactory(home_site=site, credit_limit=Decimal("150.00"))
    first = release_order(user=coordinator, order=new_order([("WIDGET", 10, {"unit_price": "10"})], cust=customer))
    assert first.status == "RELEASED"
    assert open_order_value(customer) == Decimal("100.00")
    second = release_order(user=coordinator, order=new_order([("WIDGET", 6, {"unit_price": "10"})], cust=customer))
    assert second.status == "ON_HOLD"
    assert "exceed the credit limit" in second.hold_reason
