"""Transfers between sites: approval, shipping in transit, receiving with discrepancies, and back."""

import pytest

from distribution_erp.errors import InsufficientStock, SegregationOfDuties, StateConflict
from governance.models import ApprovalRequest, ExceptionCase
from governance.services import decide_approval
from inventory.models import Location, StockLevel
from inventory.selectors import find_inventory_drift
from tests.factories import LocationFactory
from warehouse.models import PutawayTask
from warehouse.services import confirm_putaway
from warehouse.services.transfers import cancel_transfer, create_transfer, receive_transfer, ship_transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(site, other_site, make_user):
    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="netplanner")
    for s in (site, other_site):
        LocationFactory(site=s, code="DOCK", kind=Location.Kind.RECEIVING)
        LocationFactory(site=s, code="BIN", kind=Location.Kind.STORAGE)
    return user


def lv(item, site):
    return StockLevel.objects.get(item=item, site=site)


def test_transfer_there_and_back_with_a_discrepancy(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 30)
    out = create_transfer(user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 20}])
    assert out.status == "APPROVED" and out.number.startswith("TO-")
    ship_transfer(user=network, transfer=out)
    assert lv(item, site).available == 10 and lv(item, other_site).in_transit == 20
    assert find_inventory_drift() == []

    receipt = receive_transfer(
        user=network, transfer=out, lines=[{"item": "WIDGET", "quantity": 18, "damaged_quantity": 1}]
    )
    assert [d.code for d in receipt.discrepancies.all()] == ["SHORT"]
    assert ExceptionCase.objects.filter(code__code="TRANSFER_DISCREPANCY", status="OPEN").count() == 1
    dest = lv(item, other_site)
    assert (dest.received, dest.damaged, dest.in_transit) == (18, 1, 1)
    out.refresh_from_db()
    assert out.status == "RECEIVED" and out.cycle_seconds is not None
    task = PutawayTask.objects.get(site=other_site)
    confirm_putaway(user=network, task=task, location=Location.objects.get(site=other_site, code="BIN"), quantity=18)
    assert lv(item, other_site).available == 18

    back = create_transfer(user=network, from_site=other_site, to_site=site, lines=[{"item": "WIDGET", "quantity": 18}])
    ship_transfer(user=network, transfer=back)
    receive_transfer(user=network, transfer=back, lines=[{"item": "WIDGET", "quantity": 18}])
    assert lv(item, site).received == 18 and lv(item, other_site).available == 0
    assert find_inventory_drift() == []


def test_transfer_above_the_value_rule_needs_approval_by_someone_else(
    network, site, other_site, item, stock, make_user
):
    stock(item, Location.objects.get(site=site, code="BIN"), 1000)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 600}]
    )  # 600 x 10.00 > 5000
    assert transfer.status == "PENDING_APPROVAL"
    with pytest.raises(StateConflict, match="approval"):
        ship_transfer(user=network, transfer=transfer)
    approval = ApprovalRequest.objects.get(kind="TRANSFER")
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=network, approve=True)
    decide_approval(approval=approval, user=make_user("supervisor", site), approve=True)
    transfer.refresh_from_db()
    assert transfer.status == "APPROVED"


def test_transfer_never_takes_stock_allocated_to_orders(network, site, other_site, item, stock):
    from inventory.services import change_allocated

    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    change_allocated(deltas={(item.pk, site.pk): 8})
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    with pytest.raises(InsufficientStock):
        ship_transfer(user=network, transfer=transfer)
    assert lv(item, site).available == 10
    transfer.refresh_from_db()
    assert transfer.status == "APPROVED"


def test_a_shipped_transfer_cannot_be_cancelled_or_shipped_again(network, site, other_site, item, stock):
    stock(item, Location.objects.get(site=site, code="BIN"), 10)
    transfer = create_transfer(
        user=network, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 5}]
    )
    ship_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict):
        ship_transfer(user=network, transfer=transfer)
    with pytest.raises(StateConflict):
        cancel_transfer(user=network, transfer=transfer)
