"""Site reorder planning as service tests on PostgreSQL: runs, suggestions with their numbers, idempotency,
accepting (purchase and transfer orders), auto-approval, and the set-based cost of a run."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, StateConflict
from governance.models import JobRun, OutboxMessage
from governance.services import set_rule_value
from inventory.models import Location, StockMove
from inventory.services import MoveLine, post_moves, virtual_location
from orders.models import (
    PurchaseOrder,
    ReplenishmentPolicy,
    ReplenishmentRun,
    ReplenishmentSuggestion,
    TransferOrder,
)
from orders.services import allocate_orders, create_order, create_purchase_order, create_supplier, release_order
from orders.services.replenishment import (
    accept_suggestion,
    create_policy,
    dismiss_suggestion,
    execute_run,
    request_run,
    schedule_runs,
)
from tests.factories import CustomerFactory, ItemFactory, LocationFactory, SiteFactory, set_rule_now

pytestmark = pytest.mark.django_db

Sug = ReplenishmentSuggestion


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def planner(make_user, site):
    return make_user("planner", site, username="planner1")


@pytest.fixture
def supplier(db):
    return create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=4)


@pytest.fixture
def east(db):
    """A third site in the same region as ``site`` (DC1, EAST)."""
    return SiteFactory(code="DC3", name="East branch", region="EAST")


@pytest.fixture
def shelf():
    """shelf(site) -> that site's reserve storage location (created once)."""

    def _shelf(s):
        return Location.objects.filter(site=s, code="R-01").first() or LocationFactory(
            site=s, code="R-01", kind=Location.Kind.STORAGE
        )

    return _shelf


def ship_history(item, location, daily, now=None):
    """SHIP moves of ``daily[i]`` units, the last one yesterday (the ledger rows are backdated)."""
    now = now or timezone.now()
    customer = virtual_location(location.site_id, Location.Kind.CUSTOMER)
    for days_ago, quantity in zip(range(len(daily), 0, -1), daily, strict=True):
        if not quantity:
            continue
        (move,) = post_moves(
            lines=[MoveLine(item.pk, None, quantity, location, "AVAILABLE", customer, "")],
            kind=StockMove.Kind.SHIP,
            user=None,
            reference="HISTORY",
        )
        StockMove.objects.filter(pk=move.pk).update(created_at=now - timedelta(days=days_ago))


def plan(site, user=None, **kw):
    run = ReplenishmentRun.objects.create(site=site, requested_by=user)
    return execute_run(run_id=run.pk, **kw)


def open_suggestions(site):
    return list(Sug.objects.filter(site=site, status=Sug.Status.OPEN).order_by("kind", "source_site__code", "id"))


def test_reorder_point_suggestion_carries_every_number(admin_user, planner, site, item, supplier, stock, shelf):
    set_rule_value(user=admin_user, key="replenishment.demand_window_days", value=7, reason="test", site=site)
    stock(item, shelf(site), 100)
    ship_history(item, shelf(site), [10, 12, 8, 10, 10, 14, 6])  # 70 shipped: 30 left
    create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() + timedelta(days=3),
        lines=[{"item": item.sku, "quantity": 10}],
    )
    boss = planner.__class__.objects.create(username="coord")
    from governance.models import SiteMembership

    SiteMembership.objects.create(user=boss, site=site, role="coordinator")
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="SHOP", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 33}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])  # 30 allocated, 3 backordered
    create_policy(
        user=planner,
        site=site,
        item=item,
        method="REORDER_POINT",
        service_level=Decimal("0.95"),
        review_days=7,
        supplier=supplier,
        min_order_quantity=100,
        pack_multiple=12,
    )

    run = plan(site, planner)

    (suggestion,) = open_suggestions(site)
    # mean 10, sigma 2.5820, z 1.6449, lead 4: ROP ceil(40 + 8.49) = 49, up-to 49 + 70 = 119
    # position 30 + 10 (PO) - 30 (allocated) - 3 (backordered) = 7; need 112; MOQ 100; packs of 12 -> 120
    assert (suggestion.kind, suggestion.quantity, suggestion.supplier, suggestion.source_site) == (
        "PURCHASE",
        120,
        supplier,
        None,
    )
    why = suggestion.reason
    assert why["position"] == {
        "available": 30,
        "open_purchase_orders": 10,
        "inbound_transfers": 0,
        "allocated": 30,
        "backordered": 3,
        "projected": 7,
        "formula": "available + open_purchase_orders + inbound_transfers - allocated - backordered",
    }
    assert (why["mean_daily_demand"], why["stdev_daily_demand"], why["z"], why["safety_stock"]) == (
        "10.0000",
        "2.5820",
        "1.6449",
        "8.49",
    )
    assert (why["lead_time_days"], why["lead_time_source"], why["demand_window_days"]) == (4, "supplier", 7)
    assert (why["reorder_point"], why["order_up_to"], why["need"], why["to_buy"], why["quantity"]) == (
        49,
        119,
        112,
        112,
        120,
    )
    assert (why["supplier"], why["unit_cost"], why["value"]) == ("SUP1", "10.00", "1200.00")
    assert suggestion.value == Decimal("1200.00")
    assert run.status == "SUCCEEDED"
    assert run.counts["policies"] == 1 and run.counts["purchase_suggestions"] == 1 and run.counts["created"] == 1


def test_projected_position_is_the_issues_formula_with_every_term(
    planner, site, other_site, item, supplier, stock, shelf
):
    """By hand: available 10 + open PO 20 + inbound transfer 15 - allocated 10 - backordered 5 = 30. Units on
    the dock (7, not yet put away) and units promised to an outbound transfer (8) are not terms. MIN_MAX min 30
    max 200: at the reorder point, need 200 - 30 = 170; MOQ 120 is below it; packs of 25 -> 175."""
    from governance.models import SiteMembership
    from inventory.services import receive_stock
    from orders.models import TransferOrderLine

    stock(item, shelf(site), 10)
    dock = LocationFactory(site=site, code="DOCK-9", kind=Location.Kind.RECEIVING)
    receive_stock(user=None, item=item, location=dock, quantity=7, status="RECEIVED", check_permission=False)
    create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() + timedelta(days=3),
        lines=[{"item": item.sku, "quantity": 20}],
    )
    inbound = TransferOrder.objects.create(number="TO-IN", from_site=other_site, to_site=site, status="APPROVED")
    TransferOrderLine.objects.create(transfer=inbound, line_number=1, item=item, quantity=15)
    outbound = TransferOrder.objects.create(number="TO-OUT", from_site=site, to_site=other_site, status="APPROVED")
    TransferOrderLine.objects.create(transfer=outbound, line_number=1, item=item, quantity=8)
    boss = planner.__class__.objects.create(username="coord")
    SiteMembership.objects.create(user=boss, site=site, role="coordinator")
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="SHOP", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 15}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])  # 10 allocated, 5 backordered
    create_policy(
        user=planner,
        site=site,
        item=item,
        min_quantity=30,
        max_quantity=200,
        supplier=supplier,
        min_order_quantity=120,
        pack_multiple=25,
    )

    plan(site, planner)

    (suggestion,) = open_suggestions(site)
    why = suggestion.reason
    assert why["position"] == {
        "available": 10,
        "open_purchase_orders": 20,
        "inbound_transfers": 15,
        "allocated": 10,
        "backordered": 5,
        "projected": 30,
        "formula": "available + open_purchase_orders + inbound_transfers - allocated - backordered",
    }
    assert (why["reorder_point"], why["order_up_to"], why["need"], why["to_buy"]) == (30, 200, 170, 170)
    assert (why["min_order_quantity"], why["pack_multiple"], suggestion.kind, suggestion.quantity) == (
        120,
        25,
        "PURCHASE",
        175,
    )


def test_rebalances_from_overstocked_sites_before_buying(planner, site, other_site, east, item, supplier, stock, shelf):
    stock(item, shelf(site), 10)
    stock(item, shelf(east), 130)  # same region, max 60: 70 too many
    stock(item, shelf(other_site), 150)  # other region, max 100: 50 too many
    create_policy(user=None, site=site, item=item, min_quantity=20, max_quantity=100, supplier=supplier)
    create_policy(user=None, site=east, item=item, min_quantity=10, max_quantity=60, supplier=supplier)
    create_policy(user=None, site=other_site, item=item, min_quantity=10, max_quantity=100, supplier=supplier)

    run = plan(site)

    got = [(s.kind, s.source_site.code, s.quantity) for s in open_suggestions(site)]
    assert sorted(got) == [("TRANSFER", "DC2", 20), ("TRANSFER", "DC3", 70)]
    dc3 = Sug.objects.get(source_site=east)
    assert dc3.reason["source"] == {"site": "DC3", "free": 130, "order_up_to": 60, "excess": 70, "same_region": True}
    assert dc3.reason["need"] == 90 and dc3.reason["still_needed_after"] == 20
    assert run.counts["transfer_suggestions"] == 2 and run.counts["purchase_suggestions"] == 0


def test_buys_what_overstocked_sites_cannot_give(planner, site, east, item, supplier, stock, shelf):
    stock(item, shelf(east), 80)
    create_policy(user=None, site=site, item=item, min_quantity=20, max_quantity=100, supplier=supplier)
    create_policy(user=None, site=east, item=item, min_quantity=10, max_quantity=60)

    plan(site)

    assert [(s.kind, s.quantity) for s in open_suggestions(site)] == [("PURCHASE", 80), ("TRANSFER", 20)]


def test_a_site_short_itself_does_not_give_stock_promised_elsewhere(site, east, item, supplier, stock, shelf):
    stock(item, shelf(east), 130)
    create_policy(user=None, site=site, item=item, min_quantity=20, max_quantity=100, supplier=supplier)
    create_policy(user=None, site=east, item=item, min_quantity=10, max_quantity=60, supplier=supplier)
    third = SiteFactory(code="DC4", region="EAST")
    create_policy(user=None, site=third, item=item, min_quantity=20, max_quantity=50, supplier=supplier)

    plan(site)  # takes DC3's 70 spare units
    plan(third)

    # DC3's excess is promised to DC1's open suggestion: DC4 buys instead of taking the same units
    assert [(s.kind, s.quantity) for s in open_suggestions(third)] == [("PURCHASE", 50)]


def test_running_twice_does_not_duplicate_open_suggestions(site, item, supplier, stock, shelf):
    other = ItemFactory(sku="GADGET")
    for it in (item, other):
        create_policy(user=None, site=site, item=it, min_quantity=5, max_quantity=50, supplier=supplier)
    first = plan(site)
    second = plan(site)

    rows = open_suggestions(site)
    assert len(rows) == 2 and {s.run_id for s in rows} == {second.pk}
    assert Sug.objects.count() == 2
    assert (first.counts["created"], second.counts["created"], second.counts["updated"]) == (2, 0, 2)


def test_a_repeated_delivery_of_the_same_run_changes_nothing(site, item, supplier):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    run = plan(site)
    again = execute_run(run_id=run.pk)
    assert again.counts == run.counts and Sug.objects.count() == 1
    assert JobRun.objects.filter(kind="replenishment.plan").count() == 1


def test_a_suggestion_no_longer_needed_is_superseded(site, item, supplier, stock, shelf):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    plan(site)
    stock(item, shelf(site), 60)
    run = plan(site)
    assert Sug.objects.get().status == "SUPERSEDED"
    assert run.counts["superseded"] == 1 and open_suggestions(site) == []


def test_without_a_supplier_the_last_purchase_orders_supplier_is_used(site, item, supplier):
    create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate(),
        lines=[{"item": item.sku, "quantity": 1}],
    )
    PurchaseOrder.objects.update(status="CLOSED")
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50)
    gadget = ItemFactory(sku="GADGET")
    create_policy(user=None, site=site, item=gadget, min_quantity=5, max_quantity=50)

    run = plan(site)

    (suggestion,) = open_suggestions(site)
    assert suggestion.supplier == supplier and suggestion.reason["supplier_source"] == "last purchase order"
    assert run.counts["no_supplier"] == 1  # GADGET was never bought: nothing to suggest


def test_accepting_a_purchase_suggestion_creates_the_purchase_order(planner, site, item, supplier):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    plan(site)
    suggestion = accept_suggestion(user=planner, suggestion=open_suggestions(site)[0])

    po = suggestion.purchase_order
    assert suggestion.status == "ACCEPTED" and suggestion.decided_by == planner and not suggestion.auto_accepted
    assert (po.supplier, po.site, po.status, po.expected_date) == (
        supplier,
        site,
        "OPEN",
        timezone.localdate() + timedelta(days=4),
    )
    assert [(line.item, line.quantity, line.unit_cost) for line in po.lines.all()] == [(item, 50, Decimal("10.00"))]
    # the next run counts the open purchase order: nothing more to buy
    run = plan(site)
    assert open_suggestions(site) == [] and run.counts["below_reorder_point"] == 0


def test_accepting_a_transfer_suggestion_creates_the_transfer_order(planner, site, east, item, supplier, stock, shelf):
    stock(item, shelf(east), 130)
    create_policy(user=None, site=site, item=item, min_quantity=20, max_quantity=100, supplier=supplier)
    create_policy(user=None, site=east, item=item, min_quantity=10, max_quantity=60)
    plan(site)
    transfer_suggestion = Sug.objects.get(kind="TRANSFER")

    accepted = accept_suggestion(user=planner, suggestion=transfer_suggestion)

    transfer = accepted.transfer_order
    assert (transfer.from_site, transfer.to_site, transfer.status) == (east, site, "APPROVED")
    assert [(line.item, line.quantity) for line in transfer.lines.all()] == [(item, 70)]
    assert Sug.objects.get(kind="PURCHASE").status == "OPEN"
    # the next run counts the 70 inbound (above the min of 20): nothing to do, the open purchase is superseded
    run = plan(site)
    assert open_suggestions(site) == [] and Sug.objects.get(kind="PURCHASE").status == "SUPERSEDED"
    assert Sug.objects.get(kind="TRANSFER").status == "ACCEPTED" and run.counts["below_reorder_point"] == 0


def test_accept_and_dismiss_refusals_leave_the_suggestion_open(planner, operator, outsider, site, item, supplier):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    plan(site)
    suggestion = open_suggestions(site)[0]
    with pytest.raises(PermissionDenied):
        accept_suggestion(user=operator, suggestion=suggestion)
    with pytest.raises(NotFound):
        dismiss_suggestion(user=outsider, suggestion=suggestion)
    suggestion.refresh_from_db()
    assert suggestion.status == "OPEN" and PurchaseOrder.objects.count() == 0

    dismissed = dismiss_suggestion(user=planner, suggestion=suggestion, note="seasonal item")
    assert (dismissed.status, dismissed.decision_note, dismissed.decided_by) == ("DISMISSED", "seasonal item", planner)
    with pytest.raises(StateConflict):
        accept_suggestion(user=planner, suggestion=suggestion)
    assert PurchaseOrder.objects.count() == 0


def test_the_run_accepts_what_is_under_the_auto_approve_value(admin_user, site, item, supplier):
    cheap = ItemFactory(sku="CHEAP", standard_cost="1.00")
    for it in (item, cheap):
        create_policy(user=None, site=site, item=it, min_quantity=5, max_quantity=50, supplier=supplier)
    # CHEAP: 50 x 1.00 = 50.00 (under 100); WIDGET: 50 x 10.00 = 500.00 (not)
    set_rule_now(user=admin_user, key="replenishment.auto_approve_value", value="100", reason="t", site=site)

    run = plan(site)

    auto = Sug.objects.get(item=cheap)
    assert auto.status == "ACCEPTED" and auto.auto_accepted and auto.decided_by is None
    assert [(line.item.sku, line.quantity) for line in auto.purchase_order.lines.all()] == [("CHEAP", 50)]
    assert Sug.objects.get(item=item).status == "OPEN"
    assert run.counts["auto_accepted"] == 1 and run.counts["auto_orders"] == 1


def test_auto_accept_refuses_a_suggestion_re_planned_or_grown_since_it_was_read(admin_user, site, item, supplier):
    """Auto-accept reads the run's cheap suggestions before locking them; by the time it locks one, a later run
    may have re-planned it (another run) or made it dearer: that group is refused and nothing is ordered."""
    from orders.services.replenishment import accept_suggestions

    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    run = plan(site)
    suggestion = Sug.objects.get()
    assert suggestion.status == "OPEN"  # 500.00: no auto-approve value set
    with pytest.raises(StateConflict, match="later run"):
        accept_suggestions(user=None, suggestion_ids=[suggestion.pk], auto=True, run_id=run.pk + 1)
    with pytest.raises(StateConflict, match="not below"):
        accept_suggestions(
            user=None, suggestion_ids=[suggestion.pk], auto=True, run_id=run.pk, below_value=Decimal("100")
        )
    suggestion.refresh_from_db()
    assert suggestion.status == "OPEN" and PurchaseOrder.objects.count() == 0


def test_auto_approval_leaves_a_transfer_needing_approval_at_its_source(admin_user, site, east, item, stock, shelf):
    stock(item, shelf(east), 130)
    create_policy(user=None, site=site, item=item, min_quantity=20, max_quantity=100)
    create_policy(user=None, site=east, item=item, min_quantity=10, max_quantity=60)
    set_rule_now(user=admin_user, key="replenishment.auto_approve_value", value="5000", reason="t", site=site)
    set_rule_now(user=admin_user, key="transfers.approval_value", value="100", reason="t", site=east)

    run = plan(site)

    assert Sug.objects.get(kind="TRANSFER").status == "OPEN" and TransferOrder.objects.count() == 0
    assert run.counts["auto_accept_left_for_approval"] == 1


def test_the_run_is_recorded_as_a_job_with_counts(planner, site, item, supplier):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    run = plan(site, planner)
    job = JobRun.objects.get(kind="replenishment.plan")
    assert job.status == "SUCCEEDED" and job.site == site and job.requested_by == planner
    assert job.counts["purchase_suggestions"] == 1 and job.counts["run"] == run.pk


def test_requesting_a_run_sends_it_to_the_worker_after_commit(
    planner, site, item, supplier, django_capture_on_commit_callbacks
):
    create_policy(user=None, site=site, item=item, min_quantity=5, max_quantity=50, supplier=supplier)
    with django_capture_on_commit_callbacks(execute=True):
        run = request_run(user=planner, site=site)
        assert run.status == "QUEUED"
    run.refresh_from_db()
    assert run.status == "SUCCEEDED" and run.requested_by == planner and len(open_suggestions(site)) == 1


def test_a_queued_run_is_reused_not_queued_twice(planner, site, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = request_run(user=planner, site=site)
        second = request_run(user=planner, site=site)
    assert first.pk == second.pk and ReplenishmentRun.objects.count() == 1 and len(callbacks) == 1
    assert OutboxMessage.objects.filter(topic="orders.tasks.replenish_site", args=[first.pk]).count() == 1


def test_only_planners_supervisors_and_admins_start_runs(operator, outsider, site):
    with pytest.raises(PermissionDenied):
        request_run(user=operator, site=site)
    with pytest.raises(NotFound):
        request_run(user=outsider, site=site)
    assert ReplenishmentRun.objects.count() == 0


def test_the_schedule_queues_a_run_for_each_site_with_policies(
    site, other_site, item, django_capture_on_commit_callbacks
):
    create_policy(user=None, site=site, item=item, min_quantity=0, max_quantity=0)
    with django_capture_on_commit_callbacks(execute=False):
        counts = schedule_runs()
    assert counts == {"sites": 1}
    assert list(ReplenishmentRun.objects.values_list("site__code", "trigger")) == [("DC1", "SCHEDULE")]


def test_batches_give_the_same_suggestions_as_one_pass(site, supplier):
    items = [ItemFactory(sku=f"B-{i}") for i in range(7)]
    for i, it in enumerate(items):
        create_policy(user=None, site=site, item=it, min_quantity=5, max_quantity=10 + i, supplier=supplier)
    run = plan(site, batch_size=3)
    assert run.counts["batches"] == 3 and run.counts["policies"] == 7
    assert sorted(s.quantity for s in open_suggestions(site)) == [10, 11, 12, 13, 14, 15, 16]


def test_planning_queries_do_not_grow_with_the_number_of_items(site, east, supplier, stock, shelf):
    def queries_for(n):
        for i in range(n):
            it = ItemFactory(sku=f"Q{n}-{i}")
            create_policy(user=None, site=site, item=it, min_quantity=5, max_quantity=50, supplier=supplier)
            create_policy(user=None, site=east, item=it, min_quantity=5, max_quantity=10)
            stock(it, shelf(east), 30)
        run = ReplenishmentRun.objects.create(site=site)
        with CaptureQueriesContext(connection) as ctx:
            execute_run(run_id=run.pk)
        ReplenishmentPolicy.objects.filter(site=site).update(active=False)
        return len(ctx.captured_queries)

    assert queries_for(2) == queries_for(12)
