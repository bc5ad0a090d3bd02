"""Stock adjustments: applied at once up to the site's approval value, above it only after another person's approval."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import (
    InsufficientStock,
    NotFound,
    PermissionDenied,
    SegregationOfDuties,
    StateConflict,
    ValidationFailed,
)
from governance.models import ApprovalRequest, DocumentSequence
from governance.services import set_rule_value
from inventory.models import Adjustment, StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import adjust_stock, decide_adjustment, move_stock, reserve_stock, virtual_location
from tests.factories import ItemFactory, LocationFactory, LotFactory, set_rule_now

from .helpers import inventory_state, level_of, quant_of

pytestmark = pytest.mark.django_db

# The conftest item costs 10.00; the default approval value is 500.00, so 50 units are exactly at the threshold.


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver1")


def _adjust(user, location, item, delta, **kw):
    if "reason_code" not in kw:
        kw["reason_code"] = "LOST" if delta < 0 else "FOUND"
    kw.setdefault("note", "cycle count follow-up")
    return adjust_stock(user=user, location=location, item=item, quantity_delta=delta, **kw)


def _state_and_number():
    sequence = DocumentSequence.objects.filter(prefix="ADJ").first()
    return inventory_state(), sequence.last_value if sequence else 0


# --- below, at and above the approval value ---------------------------------------------------------------------


def test_an_adjustment_below_the_approval_value_applies_at_once(supervisor, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -20, reason_code="DAMAGE", note="forklift")
    assert adjustment.status == Adjustment.Status.APPLIED
    assert adjustment.number == "ADJ-000001"
    assert (adjustment.value, adjustment.requested_by, adjustment.site) == (Decimal("200.00"), supervisor, site)
    assert adjustment.applied_at is not None
    move = StockMove.objects.get(kind="ADJUST")
    assert (move.from_location, move.to_location) == (storage, virtual_location(site.pk, "ADJUSTMENT"))
    assert (move.quantity, move.reference, move.reason_code, move.note) == (20, "ADJ-000001", "DAMAGE", "forklift")
    assert (move.document_type, move.document_id, move.user) == ("inventory.adjustment", adjustment.pk, supervisor)
    assert move.unit_cost == Decimal("10.00")
    assert quant_of(item, storage) == (80, 0)
    assert not ApprovalRequest.objects.exists()
    assert find_inventory_drift() == []


def test_an_adjustment_exactly_at_the_approval_value_applies_at_once(supervisor, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -50)
    assert (adjustment.value, adjustment.status) == (Decimal("500.00"), Adjustment.Status.APPLIED)
    assert level_of(item, site)["available"] == 50


def test_a_found_adjustment_adds_stock_from_the_adjustment_location(supervisor, site, item, storage):
    adjustment = _adjust(supervisor, storage, item, 30, stock_status="HOLD")
    assert adjustment.status == Adjustment.Status.APPLIED
    assert quant_of(item, storage, "HOLD") == (30, 0)
    move = StockMove.objects.get()
    assert (move.from_location, move.from_status, move.to_status) == (
        virtual_location(site.pk, "ADJUSTMENT"),
        "",
        "HOLD",
    )


def test_an_adjustment_above_the_approval_value_waits_and_changes_no_stock(supervisor, site, item, storage, stock):
    stock(item, storage, 100)
    before = inventory_state()
    adjustment = _adjust(supervisor, storage, item, -51)
    assert (adjustment.status, adjustment.value, adjustment.applied_at) == (
        Adjustment.Status.PENDING_APPROVAL,
        Decimal("510.00"),
        None,
    )
    after = inventory_state()
    assert (after["moves"], after["quants"], after["levels"]) == (before["moves"], before["quants"], before["levels"])
    approval = ApprovalRequest.objects.get()
    assert (approval.kind, approval.site, approval.subject, approval.requested_by) == (
        "ADJUSTMENT",
        site,
        adjustment,
        supervisor,
    )
    assert (approval.rule_key, approval.threshold, approval.value) == (
        "inventory.adjustment_approval_value",
        "500.00",
        "510.00",
    )
    assert approval.status == ApprovalRequest.Status.PENDING


def test_a_site_override_of_the_approval_value_changes_the_outcome_at_that_site_only(
    supervisor, make_user, admin_user, site, other_site, item, storage, stock
):
    set_rule_now(user=admin_user, key="inventory.adjustment_approval_value", value="1000", reason="big site", site=site)
    stock(item, storage, 200)
    assert _adjust(supervisor, storage, item, -60).status == Adjustment.Status.APPLIED  # 600 <= 1000 here

    elsewhere = LocationFactory(site=other_site, code="B-01")
    stock(item, elsewhere, 200)
    remote = make_user("supervisor", other_site)
    assert _adjust(remote, elsewhere, item, -60).status == Adjustment.Status.PENDING_APPROVAL  # 600 > 500 there


def test_a_site_value_of_zero_sends_every_adjustment_for_approval(supervisor, admin_user, site, item, storage, stock):
    set_rule_now(user=admin_user, key="inventory.adjustment_approval_value", value=0, reason="audit", site=site)
    stock(item, storage, 10)
    assert _adjust(supervisor, storage, item, -1).status == Adjustment.Status.PENDING_APPROVAL


def test_a_free_item_never_needs_approval(supervisor, storage):
    free = ItemFactory(sku="SAMPLE", standard_cost="0.00")
    assert _adjust(supervisor, storage, free, 100000).status == Adjustment.Status.APPLIED


# --- deciding -----------------------------------------------------------------------------------------------


def test_approval_by_another_person_applies_the_adjustment(supervisor, approver, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    decided = decide_adjustment(user=approver, adjustment=adjustment, approve=True, note="seen the damage")
    assert (decided.status, decided.decided_by) == (Adjustment.Status.APPLIED, approver)
    assert decided.applied_at is not None
    assert quant_of(item, storage) == (40, 0)
    move = StockMove.objects.get(kind="ADJUST")
    assert (move.user, move.reference) == (approver, adjustment.number)
    approval = ApprovalRequest.objects.get()
    assert (approval.status, approval.decided_by, approval.decision_note) == (
        ApprovalRequest.Status.APPROVED,
        approver,
        "seen the damage",
    )
    assert find_inventory_drift() == []


def test_rejection_changes_no_stock(supervisor, approver, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    before = inventory_state()
    decided = decide_adjustment(user=approver, adjustment=adjustment, approve=False, note="count again")
    assert (decided.status, decided.decided_by, decided.applied_at) == (Adjustment.Status.REJECTED, approver, None)
    after = inventory_state()
    assert (after["moves"], after["quants"], after["levels"]) == (before["moves"], before["quants"], before["levels"])
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.REJECTED


def test_the_requester_cannot_approve_their_own_adjustment(supervisor, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    before = inventory_state()
    with pytest.raises(SegregationOfDuties):
        decide_adjustment(user=supervisor, adjustment=adjustment, approve=True)
    assert inventory_state() == before


def test_an_adjustment_is_decided_only_once(supervisor, approver, admin_user, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    decide_adjustment(user=approver, adjustment=adjustment, approve=False)
    before = inventory_state()
    with pytest.raises(StateConflict):
        decide_adjustment(user=admin_user, adjustment=adjustment, approve=True)
    applied = _adjust(supervisor, storage, item, -1)
    with pytest.raises(StateConflict):
        decide_adjustment(user=approver, adjustment=applied, approve=True)
    assert quant_of(item, storage) == (99, 0)  # only the small adjustment applied
    assert inventory_state()["approvals"] == before["approvals"]


def test_approval_fails_clearly_when_the_stock_changed_since_the_request(
    supervisor, approver, site, item, storage, storage2, stock
):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=50)
    before = inventory_state()
    with pytest.raises(InsufficientStock, match="Only 50 of WIDGET free"):
        decide_adjustment(user=approver, adjustment=adjustment, approve=True)
    assert inventory_state() == before
    adjustment.refresh_from_db()
    assert adjustment.status == Adjustment.Status.PENDING_APPROVAL
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING
    # it can still be rejected
    assert decide_adjustment(user=approver, adjustment=adjustment, approve=False).status == "REJECTED"


def test_approval_fails_when_the_units_were_reserved_since_the_request(supervisor, approver, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=50)
    before = inventory_state()
    with pytest.raises(InsufficientStock):
        decide_adjustment(user=approver, adjustment=adjustment, approve=True)
    assert inventory_state() == before


def test_an_outsider_cannot_decide_and_an_operator_may_not(supervisor, outsider, operator, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    before = inventory_state()
    with pytest.raises(NotFound):
        decide_adjustment(user=outsider, adjustment=adjustment, approve=True)
    with pytest.raises(PermissionDenied):
        decide_adjustment(user=operator, adjustment=adjustment, approve=True)
    assert inventory_state() == before


# --- refusals ---------------------------------------------------------------------------------------------------


@pytest.fixture
def refused(stock, item, storage):
    """with refused(Error) as exc_info: the call raises; no stock, adjustment, approval or number changed."""
    from contextlib import contextmanager

    stock(item, storage, 100)

    @contextmanager
    def _refused(error, match=None):
        before = _state_and_number()
        with pytest.raises(error, match=match) as exc_info:
            yield exc_info
        assert _state_and_number() == before

    return _refused


def _fields(exc_info) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in exc_info.value.errors]


@pytest.mark.parametrize("delta", [0, 1.5, "3", True, None, 1_000_000_001, -1_000_000_001])
def test_an_adjustment_of_a_bad_quantity_is_refused(supervisor, item, storage, refused, delta):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, item, delta, reason_code="FOUND")
    assert exc_info.value.errors[0]["field"] == "quantity_delta"


def test_an_adjustment_removing_more_than_is_free_is_refused(supervisor, item, storage, refused):
    with refused(InsufficientStock, match="Only 100"):
        _adjust(supervisor, storage, item, -101)
    reserve_stock(user=supervisor, quant=StockQuant.objects.get(item=item, location=storage), quantity=30)
    with refused(InsufficientStock, match="Only 70"):
        _adjust(supervisor, storage, item, -71)
    with refused(InsufficientStock):  # above the approval value too: never a request for stock that is not there
        _adjust(supervisor, storage, item, -500)


def test_an_adjustment_needs_a_known_reason(supervisor, item, storage, refused):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, item, -1, reason_code="BORED")
    assert _fields(exc_info) == [("reason_code", "invalid_choice")]


@pytest.mark.parametrize("note", ["", "   "])
def test_an_adjustment_needs_a_note_where_the_site_says_so(supervisor, admin_user, site, item, storage, refused, note):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, item, -1, note=note)
    assert _fields(exc_info) == [("note", "required")]
    set_rule_value(user=admin_user, key="inventory.adjustment_note_required", value=False, reason="pilot", site=site)
    assert _adjust(supervisor, storage, item, -1, note=note).status == Adjustment.Status.APPLIED


@pytest.mark.parametrize("kind", ["SUPPLIER", "CUSTOMER", "ADJUSTMENT", "SCRAP", "IN_TRANSIT"])
def test_an_adjustment_of_a_virtual_location_is_refused(supervisor, site, item, refused, kind):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, virtual_location(site.pk, kind), item, 5)
    assert _fields(exc_info) == [("location", "virtual_location")]


@pytest.mark.parametrize("status", ["IN_TRANSIT", "LOST"])
def test_an_adjustment_of_a_status_that_cannot_be_adjusted_is_refused(supervisor, item, storage, refused, status):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, item, 5, stock_status=status)
    assert _fields(exc_info) == [("stock_status", "invalid_status")]


def test_a_lot_tracked_item_is_adjusted_by_lot(supervisor, lot_item, lot, storage, refused):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, lot_item, 5)
    assert _fields(exc_info) == [("lot", "required")]
    _adjust(supervisor, storage, lot_item, 5, lot=lot)
    assert quant_of(lot_item, storage, lot=lot) == (5, 0)


def test_an_item_without_lots_is_adjusted_without_one(supervisor, item, lot, storage, refused):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, item, 5, lot=lot)
    assert _fields(exc_info) == [("lot", "lot_not_tracked")]


def test_a_lot_of_another_item_is_refused(supervisor, lot_item, storage, refused):
    other_lot = LotFactory(item=ItemFactory(sku="CREAM", lot_tracked=True), number="C-1")
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, storage, lot_item, 5, lot=other_lot)
    assert _fields(exc_info) == [("lot", "other_item")]


def test_every_problem_of_an_adjustment_is_reported_at_once(supervisor, site, item, refused):
    with refused(ValidationFailed) as exc_info:
        _adjust(supervisor, virtual_location(site.pk, "SCRAP"), item, 0, reason_code="?", note="")
    assert {field for field, _ in _fields(exc_info)} == {"quantity_delta", "reason_code", "location", "note"}


def test_adjusting_at_a_site_the_user_cannot_see_is_not_found(outsider, auditor, item, storage, refused):
    with refused(NotFound):
        _adjust(outsider, storage, item, -1)
    with refused(PermissionDenied):
        _adjust(auditor, storage, item, -1)
