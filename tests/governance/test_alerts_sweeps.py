"""The condition sweeps the alerts worker runs: backorder aging, stale pick and putaway tasks, and the existing
overdue receipts and late shipment risk sweeps wired into ``run_exception_sweeps``. Each opens its exception
once, resolves it when the condition clears, and changes nothing on a second run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, JobRun
from governance.services import set_rule_value
from governance.services.alerts import run_exception_sweeps
from inventory.models import Location
from orders.services import allocate_orders, cancel_order, create_order, create_purchase_order, release_order
from orders.services.alerts import sweep_backorder_aging
from orders.services.purchasing import create_supplier
from tests.factories import CustomerFactory, LocationFactory
from warehouse.models import PutawayTask
from warehouse.services import confirm_pick, plan_wave, release_wave
from warehouse.services.alerts import sweep_stale_tasks

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)
MIN = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _catalog(db):
    ensure_exception_codes()


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def order_for(boss, site):
    """order_for("WIDGET", 5, at=...) -> a released order allocated at ``at`` (backordered without stock)."""
    customer = CustomerFactory(code="SHOP", home_site=site)

    def _make(sku, quantity, at=None, promised=None):
        order = create_order(
            user=boss,
            customer=customer,
            promised_date=promised or timezone.localdate() + timedelta(days=2),
            lines=[{"item": sku, "quantity": quantity}],
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk], now=at)
        order.refresh_from_db()
        return order

    return _make


def cases(code: str, status: str | None = None):
    qs = ExceptionCase.objects.filter(code__code=code)
    return qs.filter(status=status) if status else qs


# --- backorder aging ---------------------------------------------------------------------------------------


def test_a_backorder_older_than_the_sites_days_opens_backorder_aging_once(site, item, order_for):
    since = timezone.now() - 30 * DAY
    order = order_for("WIDGET", 5, at=since)
    line = order.lines.get()
    assert line.backordered_quantity == 5 and line.backordered_since == since

    assert sweep_backorder_aging(now=since + 7 * DAY)["opened"] == 0  # exactly the allowed 7 days
    counts = sweep_backorder_aging(now=since + 7 * DAY + MIN)

    assert counts == {"opened": 1, "already_open": 0, "resolved": 0}
    case = cases("BACKORDER_AGING").get()
    assert (case.site, case.subject, case.owner_role) == (site, line, "coordinator")
    assert "5 WIDGET backordered for 7 days" in case.summary
    assert sweep_backorder_aging(now=since + 8 * DAY) == {"opened": 0, "already_open": 1, "resolved": 0}


def test_backorder_aging_follows_the_sites_own_days(site, item, order_for, admin_user):
    set_rule_value(user=admin_user, key="exceptions.backorder_aging_days", value=2, reason="fast movers", site=site)
    since = timezone.now() - 30 * DAY
    order_for("WIDGET", 5, at=since)

    assert sweep_backorder_aging(now=since + 2 * DAY + MIN)["opened"] == 1


def test_a_cancelled_backorder_resolves_its_aging_exception(site, item, order_for, boss):
    since = timezone.now() - 30 * DAY
    order = order_for("WIDGET", 5, at=since)
    sweep_backorder_aging(now=since + 10 * DAY)

    cancel_order(user=boss, order=order, reason="customer gave up")
    counts = sweep_backorder_aging(now=since + 11 * DAY)

    assert counts["resolved"] == 1
    case = cases("BACKORDER_AGING").get()
    assert case.status == "RESOLVED" and case.resolved_at == since + 11 * DAY and case.resolved_by is None


# --- stale tasks -------------------------------------------------------------------------------------------------


@pytest.fixture
def released_task(site, boss, item, stock, order_for):
    bin_ = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING)
    stock(item, bin_, 20)
    order_for("WIDGET", 5)
    return release_wave(user=boss, wave=plan_wave(user=boss, site=site)).pick_tasks.get()


def test_a_pick_task_open_past_the_sites_hours_is_stale_until_it_is_picked(released_task, boss):
    task = released_task
    assert sweep_stale_tasks(now=task.created_at + timedelta(hours=4))["pick_opened"] == 0
    counts = sweep_stale_tasks(now=task.created_at + timedelta(hours=4) + MIN)

    assert counts["pick_opened"] == 1
    case = cases("STALE_TASK").get()
    assert case.subject == task and "open for 4 hours" in case.summary and case.owner_role == "supervisor"
    assert sweep_stale_tasks(now=task.created_at + timedelta(hours=5))["pick_already_open"] == 1

    confirm_pick(user=boss, task=task, quantity=5, location_code="B-01")
    assert sweep_stale_tasks(now=task.created_at + timedelta(hours=6))["pick_resolved"] == 1
    assert cases("STALE_TASK", "RESOLVED").count() == 1


def test_a_putaway_task_open_past_the_sites_hours_is_stale(site, item, admin_user):
    set_rule_value(user=admin_user, key="exceptions.stale_putaway_task_hours", value=2, reason="small dock", site=site)
    dock = LocationFactory(site=site, code="DOCK", kind=Location.Kind.RECEIVING)
    created = timezone.now() - 3 * DAY
    task = PutawayTask.objects.create(
        site=site, item=item, quantity=4, from_location=dock, created_at=created, received_at=created
    )

    assert sweep_stale_tasks(now=created + timedelta(hours=2))["putaway_opened"] == 0
    assert sweep_stale_tasks(now=created + timedelta(hours=2) + MIN)["putaway_opened"] == 1
    assert cases("STALE_TASK").get().subject == task

    PutawayTask.objects.filter(pk=task.pk).update(status=PutawayTask.Status.CANCELLED)
    assert sweep_stale_tasks(now=created + timedelta(hours=3))["putaway_resolved"] == 1


# --- the existing sweeps, run by run_exception_sweeps --------------------------------------------------------


def test_run_exception_sweeps_runs_overdue_receipts_and_late_shipment_risk_with_a_job_run_each(site, item, order_for):
    supplier = create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)
    create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() - 5 * DAY,
        lines=[{"item": "WIDGET", "quantity": 10, "unit_cost": "5.00"}],
    )
    order_for("WIDGET", 5, promised=timezone.localdate())

    results = run_exception_sweeps()

    assert results["overdue_receipts"]["opened"] == 1 and results["late_shipment_risk"]["opened"] == 1
    assert cases("OVERDUE_RECEIPT").count() == 1 and cases("LATE_SHIPMENT_RISK").count() == 1
    kinds = set(JobRun.objects.values_list("kind", flat=True))
    assert {
        "exception_sweep:overdue_receipts",
        "exception_sweep:late_shipment_risk",
        "exception_sweep:backorder_aging",
        "exception_sweep:stale_tasks",
        "exception_sweep:failed_jobs",
    } <= kinds
    assert set(JobRun.objects.values_list("status", flat=True)) == {"SUCCEEDED"}

    again = run_exception_sweeps()
    assert again["overdue_receipts"]["already_open"] == 1 and again["late_shipment_risk"]["already_open"] == 1
    assert ExceptionCase.objects.count() == 2
