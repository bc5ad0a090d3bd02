import pytest

from distribution_erp.errors import InsufficientStock, SegregationOfDuties
from inventory.models import Adjustment, StockLevel, StockMove
from inventory.selectors import find_inventory_drift
from inventory.services import adjust_stock, change_status, decide_adjustment, move_stock

pytestmark = pytest.mark.django_db


def test_receive_move_hold_keep_ledger_and_balances_in_step(supervisor, item, storage, storage2, stock):
    stock(item, storage, 100)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=30)
    change_status(user=supervisor, item=item, location=storage2, quantity=5, from_status="AVAILABLE", to_status="HOLD")
    level = StockLevel.objects.get(item=item, site=storage.site)
    assert (level.available, level.hold) == (95, 5)
    assert StockMove.objects.count() == 3
    assert find_inventory_drift() == []


def test_move_of_more_than_on_hand_is_refused_and_changes_nothing(supervisor, item, storage, storage2, stock):
    stock(item, storage, 10)
    with pytest.raises(InsufficientStock, match="Only 10"):
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=11)
    assert StockMove.objects.count() == 1
    assert StockLevel.objects.get(item=item, site=storage.site).available == 10


def test_adjustment_above_site_value_waits_for_another_approver(supervisor, make_user, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = adjust_stock(
        user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="missing pallet"
    )
    assert adjustment.status == Adjustment.Status.PENDING_APPROVAL
    assert StockLevel.objects.get(item=item, site=site).available == 100
    with pytest.raises(SegregationOfDuties):
        decide_adjustment(user=supervisor, adjustment=adjustment, approve=True)
    approver = make_user("supervisor", site)
    adjustment = decide_adjustment(user=approver, adjustment=adjustment, approve=True)
    assert adjustment.status == Adjustment.Status.APPLIED
    assert StockLevel.objects.get(item=item, site=site).available == 40
    assert find_inventory_drift() == []
