"""Receipts of one purchase order line at once, on real PostgreSQL with one connection per thread."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import RuleViolation, StateConflict
from governance.services import set_rule_value
from inventory.models import Location, StockLevel
from inventory.selectors import find_inventory_drift
from orders.models import PurchaseOrderLine
from orders.services import create_purchase_order, create_supplier
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import ItemFactory, LocationFactory, SiteFactory, UserFactory
from warehouse.services import receive

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_receipts_of_one_po_line_never_exceed_the_tolerance():
    site = SiteFactory(code="RCV", region="EAST")
    admin = UserFactory(username="rcv-admin", is_superuser=True)
    set_rule_value(user=admin, key="receiving.over_receipt_action", value="REFUSE", site=site, reason="test")
    LocationFactory(site=site, code="DOCK", kind=Location.Kind.RECEIVING)
    item = ItemFactory(sku="RCV-ITEM")
    supplier = create_supplier(user=None, code="RSUP", name="r")
    po = create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() + timedelta(days=1),
        lines=[{"item": "RCV-ITEM", "quantity": 100}],
    )

    def deliver(_):
        return receive(user=admin, purchase_order=po, lines=[{"item": "RCV-ITEM", "quantity": 20}], final=False)

    results, errors = run_threads(deliver, [(i,) for i in range(8)])

    assert all(isinstance(e, RuleViolation | StateConflict) for e in errors), errors
    line = PurchaseOrderLine.objects.get()
    assert line.received_quantity <= 105  # 5% tolerance
    assert line.received_quantity == 100 and len(errors) == 3
    assert StockLevel.objects.get(item=item, site=site).received == 100
    assert find_inventory_drift() == []


def test_two_operators_putting_one_task_away_at_once_put_it_away_once():
    """Each confirmation runs in its own transaction (a request is autocommit): the task row lock serialises
    them; the second is a harmless repeat or a 409, and the stock moves once. (A confirm_putaway that lost its
    transaction raised TransactionManagementError on select_for_update: the chaos run's 500s.)"""
    from warehouse.models import PutawayTask
    from warehouse.services import confirm_putaway

    site = SiteFactory(code="PUT", region="EAST")
    admin = UserFactory(username="put-admin", is_superuser=True)
    LocationFactory(site=site, code="DOCK", kind=Location.Kind.RECEIVING)
    LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    item = ItemFactory(sku="PUT-ITEM")
    po = create_purchase_order(
        user=None,
        supplier=create_supplier(user=None, code="PSUP", name="p"),
        site=site,
        expected_date=timezone.localdate() + timedelta(days=1),
        lines=[{"item": "PUT-ITEM", "quantity": 10}],
    )
    receive(user=admin, purchase_order=po, lines=[{"item": "PUT-ITEM", "quantity": 10}])
    task = PutawayTask.objects.get()
    target = Location.objects.get(site=site, code="B-01")

    results, errors = run_threads(
        lambda q: confirm_putaway(user=admin, task=task, location=target, quantity=q, reason_code="OTHER"),
        [(10,), (10,)],
    )

    assert errors == [], errors  # the same data twice: the second is a harmless repeat
    task.refresh_from_db()
    assert task.status == PutawayTask.Status.CONFIRMED
    level = StockLevel.objects.get(item=item, site=site)
    assert (level.received, level.available) == (0, 10)
    assert find_inventory_drift() == []
