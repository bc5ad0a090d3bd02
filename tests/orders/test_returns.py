"""Returns as service tests on PostgreSQL: RMA against shipped lines, authorization and credit approval,
receiving with inspection and disposition through the ledger, turnaround."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import (
    NotFound,
    PermissionDenied,
    RuleViolation,
    SegregationOfDuties,
    StateConflict,
    ValidationFailed,
)
from governance.models import ApprovalRequest
from inventory.models import Location, Lot, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import ReturnAuthorization, ReturnLine
from orders.services import allocate_orders, create_order, release_order
from orders.services.returns import create_return, decide_return
from tests.factories import CustomerFactory, ItemFactory, LocationFactory
from tests.inventory.test_counts import set_rule
from warehouse.models import PutawayTask
from warehouse.services import confirm_pick, confirm_putaway, confirm_shipment, pack_wave, plan_wave, release_wave
from warehouse.services.returns import receive_return

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor(site):
    return {
        "bulk": LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
        "dock": LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING),
        "quality": LocationFactory(site=site, code="QA-1", kind=Location.Kind.QUALITY),
    }


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator"], site, username="boss")


@pytest.fixture
def receiver(make_user, site):
    return make_user("operator", site, username="dock-operator")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver")


@pytest.fixture
def shipped(boss, site, floor, stock):
    """shipped([("WIDGET", 10, "12.50")]) -> an order of those lines, picked, packed and shipped from DC1."""
    customer = CustomerFactory(code="SHOP", home_site=site)

    def _ship(lines):
        for sku, qty, *_ in lines:
            stock(ItemFactory._meta.model.objects.get(sku=sku), floor["bulk"], qty)
        order = create_order(
            user=boss,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": sku, "quantity": qty, "unit_price": price} for sku, qty, price in lines],
        )
        release_order(user=boss, order=order)
        allocate_orders([order.pk])
        wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
        for task in wave.pick_tasks.all():
            confirm_pick(
                user=boss,
                task=task,
                quantity=task.quantity,
                location_code=task.location.code,
                lot_number=task.lot.number if task.lot else "",
            )
        for shipment in pack_wave(user=boss, wave=wave):
            confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1Z")
        order.refresh_from_db()
        assert order.status == "SHIPPED"
        return order

    return _ship


def rma_for(order, user, *quantities, reason="DEFECTIVE", site=None):
    pairs = zip(order.lines.all(), quantities, strict=True)
    lines = [{"line": line, "quantity": q, "reason": reason} for line, q in pairs]
    return create_return(user=user, order=order, lines=lines, site=site)


def received(rma, user, *entries, arrived_at=None):
    lines = [{"line": line, **entry} for line, entry in zip(rma.lines.all(), entries, strict=False)]
    return receive_return(user=user, rma=rma, lines=lines, arrived_at=arrived_at)


def snapshot():
    return (
        list(ReturnAuthorization.objects.order_by("pk").values_list("pk", "status", "credit_status")),
        list(ReturnLine.objects.order_by("pk").values_list("pk", "received_quantity", "disposition")),
        list(StockQuant.objects.order_by("pk").values_list("pk", "quantity")),
        StockMove.objects.count(),
        PutawayTask.objects.count(),
        ApprovalRequest.objects.count(),
    )


def test_returns_never_exceed_shipped_minus_already_returned(boss, item, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    first = rma_for(order, boss, 6)
    assert (first.status, first.value, first.site.code) == ("AUTHORIZED", Decimal("75.00"), "DC1")
    assert first.number.startswith("RMA-")
    before = snapshot()
    with pytest.raises(RuleViolation, match="at most 4"):
        rma_for(order, boss, 5)
    assert snapshot() == before
    rma_for(order, boss, 4)
    with pytest.raises(RuleViolation, match="at most 0"):
        rma_for(order, boss, 1)


def test_a_received_return_counts_what_came_back_not_what_was_authorized(boss, receiver, item, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 6)
    received(rma, receiver, {"quantity": 2, "inspection": "GOOD", "disposition": "RESTOCK"})
    assert rma_for(order, boss, 8).status == "AUTHORIZED"  # 10 shipped - 2 returned


def test_unshipped_lines_cannot_be_returned(boss, site, item, floor, stock):
    customer = CustomerFactory(code="SHOP2", home_site=site)
    order = create_order(
        user=boss,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 5}],
    )
    with pytest.raises(RuleViolation, match="shipped 0"):
        rma_for(order, boss, 1)
    with pytest.raises(ValidationFailed):
        rma_for(order, boss, 0)
    with pytest.raises(ValidationFailed):
        rma_for(order, boss, 1, reason="BORED")
    assert not ReturnAuthorization.objects.exists()


def test_authorization_above_the_site_value_waits_for_another_approver(
    admin_user, boss, receiver, approver, site, item, shipped
):
    set_rule(site, "returns.authorization_value", "50")
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 6)  # 75.00 > 50
    assert rma.status == "PENDING_APPROVAL" and rma.authorized_at is None
    before = snapshot()
    with pytest.raises(StateConflict, match="waits for approval"):
        received(rma, receiver, {"quantity": 6, "inspection": "GOOD", "disposition": "RESTOCK"})
    with pytest.raises(SegregationOfDuties):
        decide_return(user=boss, rma=rma, approve=True)
    with pytest.raises(PermissionDenied):
        decide_return(user=receiver, rma=rma, approve=True)
    assert snapshot() == before
    with pytest.raises(RuleViolation):  # the pending authorization holds the units
        rma_for(order, boss, 5)

    rma = decide_return(user=approver, rma=rma, approve=True)
    assert rma.status == "AUTHORIZED" and rma.authorized_at is not None


def test_rejected_authorization_frees_the_units(boss, approver, site, item, shipped):
    set_rule(site, "returns.authorization_value", "50")
    order = shipped([("WIDGET", 10, "12.50")])
    rma = decide_return(user=approver, rma=rma_for(order, boss, 6), approve=False)
    assert rma.status == "REJECTED"
    with pytest.raises(StateConflict):
        decide_return(user=approver, rma=rma, approve=True)
    assert rma_for(order, boss, 10, reason="NOT_NEEDED").status == "PENDING_APPROVAL"


def test_restock_lands_received_at_the_dock_and_gets_a_putaway_task(boss, receiver, site, item, floor, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 4)
    ReturnAuthorization.objects.filter(pk=rma.pk).update(created_at=timezone.now() - timedelta(days=3))
    arrived = timezone.now() - timedelta(hours=2)
    rma = received(rma, receiver, {"quantity": 4, "inspection": "GOOD", "disposition": "RESTOCK"}, arrived_at=arrived)
    assert (rma.status, rma.received_by, rma.received_at) == ("RECEIVED", receiver, arrived)
    assert 7200 <= rma.turnaround_seconds < 7300
    (move,) = StockMove.objects.filter(kind="RETURN")
    assert (move.from_location.kind, move.to_location, move.to_status, move.quantity) == (
        "CUSTOMER",
        floor["dock"],
        "RECEIVED",
        4,
    )
    assert move.reference == rma.number and move.unit_cost == Decimal("10.00")
    task = PutawayTask.objects.get(status="OPEN")
    assert (task.quantity, task.from_location, task.received_at) == (4, floor["dock"], arrived)
    confirm_putaway(user=receiver, task=task, location=task.suggested_location, quantity=4)
    assert StockQuant.objects.get(item=item, location=task.suggested_location, status="AVAILABLE").quantity >= 4
    line = rma.lines.get()
    assert (line.received_quantity, line.inspection, line.disposition, line.credit_amount) == (
        4,
        "GOOD",
        "RESTOCK",
        Decimal("50.00"),
    )
    assert (rma.credit_amount, rma.credit_status) == (Decimal("50.00"), "APPROVED")
    assert find_inventory_drift() == []


def test_quarantine_goes_on_hold_in_the_quality_area(boss, receiver, item, floor, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    received(rma_for(order, boss, 3), receiver, {"quantity": 3, "inspection": "DAMAGED", "disposition": "QUARANTINE"})
    assert StockQuant.objects.get(item=item, location=floor["quality"], status="HOLD").quantity == 3
    assert not PutawayTask.objects.filter(status="OPEN").exists()
    assert find_inventory_drift() == []


def test_scrap_goes_to_the_scrap_location_with_its_value(boss, receiver, item, floor, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    rma = received(
        rma_for(order, boss, 3), receiver, {"quantity": 3, "inspection": "DEFECTIVE", "disposition": "SCRAP"}
    )
    (scrap,) = StockMove.objects.filter(kind="SCRAP")
    assert (scrap.from_location, scrap.from_status, scrap.to_location.kind, scrap.quantity) == (
        floor["dock"],
        "RECEIVED",
        "SCRAP",
        3,
    )
    assert scrap.unit_cost == Decimal("10.00") and rma.lines.get().scrap_value == Decimal("30.00")
    assert StockQuant.objects.get(item=item, location=floor["dock"], status="RECEIVED").quantity == 0
    assert find_inventory_drift() == []


def test_return_to_vendor_goes_back_to_the_supplier(boss, receiver, item, floor, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    received(
        rma_for(order, boss, 2), receiver, {"quantity": 2, "inspection": "DEFECTIVE", "disposition": "RETURN_TO_VENDOR"}
    )
    kinds = sorted((m.from_location.kind, m.to_location.kind) for m in StockMove.objects.filter(kind="RETURN"))
    assert kinds == [("CUSTOMER", "RECEIVING"), ("RECEIVING", "SUPPLIER")]
    assert StockQuant.objects.get(item=item, location=floor["dock"], status="HOLD").quantity == 0
    assert find_inventory_drift() == []


def test_credit_above_the_threshold_waits_for_an_approver_who_did_not_receive(
    boss, receiver, approver, site, item, shipped, make_user
):
    set_rule(site, "returns.credit_approval_value", "20")
    order = shipped([("WIDGET", 10, "12.50")])
    receiving_supervisor = make_user(["supervisor", "operator"], site, username="receiving-supervisor")
    rma = received(
        rma_for(order, boss, 2), receiving_supervisor, {"quantity": 2, "inspection": "GOOD", "disposition": "RESTOCK"}
    )
    assert (rma.credit_amount, rma.credit_status) == (Decimal("25.00"), "PENDING_APPROVAL")
    approval = ApprovalRequest.objects.get(kind="RETURN_CREDIT", status="PENDING")
    assert approval.value == "25.00" and approval.requested_by == receiving_supervisor
    with pytest.raises(SegregationOfDuties):
        decide_return(user=receiving_supervisor, rma=rma, approve=True)
    assert ReturnAuthorization.objects.get(pk=rma.pk).credit_status == "PENDING_APPROVAL"
    rma = decide_return(user=approver, rma=rma, approve=True)
    assert (rma.credit_status, rma.credit_decided_by) == ("APPROVED", approver)


def test_refused_receipts_change_nothing(boss, receiver, item, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 3)
    before = snapshot()
    for entry, field in (
        ({"quantity": 4, "inspection": "GOOD", "disposition": "RESTOCK"}, "lines[0].quantity"),
        ({"quantity": 3, "inspection": "DAMAGED", "disposition": "RESTOCK"}, "lines[0].disposition"),
        ({"quantity": 3, "inspection": "GOOD"}, "lines[0].disposition"),
        ({"quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK", "lot": "L1"}, "lines[0].lot"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            received(rma, receiver, entry)
        assert field in [e["field"] for e in refused.value.errors]
        assert snapshot() == before
    with pytest.raises(ValidationFailed):
        received(
            rma,
            receiver,
            {"quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"},
            arrived_at=timezone.now() + timedelta(hours=1),
        )
    assert snapshot() == before
    received(rma, receiver, {"quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"})
    with pytest.raises(StateConflict):
        received(rma, receiver, {"quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"})


def test_lot_tracked_returns_name_a_lot_that_was_shipped(boss, receiver, site, floor, stock, shipped):
    milk = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=90, standard_cost="2.00")
    shipped_lot = Lot.objects.create(item=milk, number="L-SHIPPED", expiry_date=timezone.localdate() + timedelta(80))
    Lot.objects.create(item=milk, number="L-OTHER", expiry_date=timezone.localdate() + timedelta(80))
    stock(milk, floor["bulk"], 5, lot=shipped_lot)
    customer = CustomerFactory(code="DAIRY", home_site=site)
    order = create_order(
        user=boss,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "MILK", "quantity": 5, "unit_price": "3.00"}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = wave.pick_tasks.get()
    confirm_pick(user=boss, task=task, quantity=5, location_code="B-01", lot_number="L-SHIPPED")
    (shipment,) = pack_wave(user=boss, wave=wave)
    confirm_shipment(user=boss, shipment=shipment, carrier="UPS", tracking_number="1Z")

    rma = rma_for(order, boss, 2)
    for lot in ("", "L-OTHER"):
        with pytest.raises(ValidationFailed, match="lot of MILK"):
            received(rma, receiver, {"quantity": 2, "inspection": "GOOD", "disposition": "QUARANTINE", "lot": lot})
    received(rma, receiver, {"quantity": 2, "inspection": "GOOD", "disposition": "QUARANTINE", "lot": "L-SHIPPED"})
    assert StockQuant.objects.get(item=milk, lot=shipped_lot, location=floor["quality"]).quantity == 2
    assert find_inventory_drift() == []


def test_other_sites_returns_are_not_found(boss, receiver, outsider, other_site, item, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    with pytest.raises(NotFound):
        rma_for(order, outsider, 1)
    rma = rma_for(order, boss, 1)
    before = snapshot()
    with pytest.raises(NotFound):
        received(rma, outsider, {"quantity": 1, "inspection": "GOOD", "disposition": "RESTOCK"})
    with pytest.raises(NotFound):
        decide_return(user=outsider, rma=rma, approve=True)
    assert snapshot() == before


def test_returns_are_in_history(boss, receiver, item, shipped):
    order = shipped([("WIDGET", 10, "12.50")])
    rma = received(rma_for(order, boss, 1), receiver, {"quantity": 1, "inspection": "GOOD", "disposition": "RESTOCK"})
    users = set(rma.history.values_list("history_user__username", flat=True))
    assert {"boss", "dock-operator"} <= users
    assert rma.lines.get().history.filter(history_user__username="dock-operator").exists()


def test_admin_decides_returns_through_the_service_and_shows_refusals(client, boss, approver, site, item, shipped):
    from django.contrib.auth.models import Permission
    from django.urls import reverse

    set_rule(site, "returns.authorization_value", "50")
    rma = rma_for(shipped([("WIDGET", 10, "12.50")]), boss, 6)
    url = reverse("admin:orders_returnauthorization_changelist")
    for user in (boss, approver):
        user.is_staff = True
        user.save()
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="orders"))

    client.force_login(boss)  # asked for it: may not decide it
    page = client.post(url, {"action": "approve_selected", "_selected_action": [rma.pk]}, follow=True)
    assert f"{rma.number}: " in page.content.decode()
    rma.refresh_from_db()
    assert rma.status == "PENDING_APPROVAL"

    client.force_login(approver)
    page = client.post(url, {"action": "approve_selected", "_selected_action": [rma.pk]}, follow=True)
    assert "Approved 1 of 1 selected." in page.content.decode()
    rma.refresh_from_db()
    assert rma.status == "AUTHORIZED"
