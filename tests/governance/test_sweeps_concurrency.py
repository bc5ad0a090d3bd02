"""Every condition sweep of the alerts worker (overdue receipts, late shipment risk, backorder aging, stale
tasks, count variances awaiting approval, failed jobs) run by three workers at once on real PostgreSQL: each
condition gets exactly one case, every sweep's run succeeds, and a later run changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, JobRun
from governance.services.alerts import SWEEPS, run_exception_sweeps
from inventory.models import Location
from inventory.services.counts import create_cycle_count, enter_count
from orders.services import allocate_orders, create_order, create_purchase_order, release_order
from orders.services.purchasing import create_supplier
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import CustomerFactory, ItemFactory, LocationFactory
from tests.inventory.test_counts import set_rule
from warehouse.models import PutawayTask

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)
CODES = ("OVERDUE_RECEIPT", "LATE_SHIPMENT_RISK", "BACKORDER_AGING", "STALE_TASK", "COUNT_VARIANCE")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def conditions(site, item, storage, stock, make_user, supervisor):
    ensure_exception_codes()  # a flushing test empties the catalog the migration seeded
    boss = make_user(["coordinator", "supervisor", "operator"], site, username="boss")
    counter = make_user("operator", site, username="counter1")
    now = timezone.now()
    # an overdue purchase order
    supplier = create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)
    create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() - 5 * DAY,
        lines=[{"item": "WIDGET", "quantity": 10, "unit_cost": "5.00"}],
    )
    # an order promised today with nothing to ship, backordered for 30 days (late shipment risk, aging)
    customer = CustomerFactory(code="SHOP", home_site=site)
    ItemFactory(sku="GADGET")  # none in stock anywhere
    order = create_order(
        user=boss, customer=customer, promised_date=timezone.localdate(), lines=[{"item": "GADGET", "quantity": 5}]
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk], now=now - 30 * DAY)  # (the release's own allocation may have run first)
    order.lines.update(backordered_since=now - 30 * DAY)
    # a putaway task open for three days
    dock = LocationFactory(site=site, code="DOCK", kind=Location.Kind.RECEIVING)
    PutawayTask.objects.create(
        site=site, item=item, quantity=4, from_location=dock, created_at=now - 3 * DAY, received_at=now - 3 * DAY
    )
    # a count variance waiting for approval (its case lost)
    stock(item, storage, 100)
    set_rule(site, "counting.approval_value", "5")
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    assert enter_count(user=counter, line=count.lines.get(), quantity=99).status == "PENDING_APPROVAL"
    ExceptionCase.objects.all().delete()
    JobRun.objects.all().delete()
    return now


def test_three_workers_sweeping_at_once_open_each_case_once(conditions):
    assert {"count_variances_awaiting_approval", "backorder_aging", "stale_tasks", "overdue_receipts"} <= set(SWEEPS)

    results, errors = run_threads(lambda: run_exception_sweeps(now=conditions), [()] * 3)

    assert errors == []
    for code in CODES:
        assert ExceptionCase.objects.filter(code__code=code).count() == 1, code
    assert not ExceptionCase.objects.filter(code__code="JOB_FAILED").exists()
    assert set(JobRun.objects.values_list("status", flat=True)) == {"SUCCEEDED"}
    assert JobRun.objects.filter(kind="exception_sweep:count_variances_awaiting_approval").count() == 3
    for name in ("overdue_receipts", "backorder_aging", "count_variances_awaiting_approval"):
        assert sum(r[name]["opened"] for r in results) == 1, (name, [r[name] for r in results])

    before = sorted(ExceptionCase.objects.values_list("pk", "status", "due_at"))
    again = run_exception_sweeps(now=conditions + timedelta(minutes=5))
    assert all(r.get("opened", 0) == 0 for r in again.values()), again
    assert sorted(ExceptionCase.objects.values_list("pk", "status", "due_at")) == before
