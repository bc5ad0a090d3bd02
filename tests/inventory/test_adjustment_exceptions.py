"""An adjustment waiting for approval keeps one ADJUSTMENT_PENDING exception open; deciding it resolves the case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import InsufficientStock, SegregationOfDuties
from governance.models import ApprovalRequest, ExceptionCase
from governance.services import decide_approval, open_exception
from inventory.models import Adjustment
from inventory.services import adjust_stock, decide_adjustment, move_stock

pytestmark = pytest.mark.django_db

CODE = "ADJUSTMENT_PENDING"


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver1")


def _adjust(user, location, item, delta):
    return adjust_stock(
        user=user, location=location, item=item, quantity_delta=delta, reason_code="LOST", note="count follow-up"
    )


def _cases(adjustment=None):
    cases = ExceptionCase.objects.filter(code__code=CODE)
    return cases.filter(object_id=adjustment.pk) if adjustment is not None else cases


def test_an_adjustment_below_the_approval_value_opens_no_exception(supervisor, item, storage, stock):
    stock(item, storage, 100)
    assert _adjust(supervisor, storage, item, -50).status == Adjustment.Status.APPLIED  # exactly at 500.00
    assert not ExceptionCase.objects.exists()


def test_an_adjustment_waiting_for_approval_opens_one_exception(supervisor, site, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -51)
    case = _cases().get()
    assert (case.site, case.subject, case.status) == (site, adjustment, ExceptionCase.Status.OPEN)
    assert (case.severity, case.owner_role) == ("LOW", "supervisor")
    assert case.due_at - case.opened_at == timedelta(minutes=1440)
    assert adjustment.number in case.summary and "WIDGET" in case.summary and "510.00" in case.summary
    assert case.details == {"value": "510.00", "threshold": "500.00", "quantity_delta": -51}
    # governance keeps it at one open case per subject and code
    again, created = open_exception(site=site, code=CODE, subject=adjustment)
    assert (again, created) == (case, False)
    assert ExceptionCase.objects.count() == 1


def test_each_pending_adjustment_has_its_own_case(supervisor, item, storage, stock):
    stock(item, storage, 200)
    first, second = _adjust(supervisor, storage, item, -60), _adjust(supervisor, storage, item, -70)
    assert {c.object_id for c in _cases()} == {first.pk, second.pk}
    assert _cases().filter(status=ExceptionCase.Status.OPEN).count() == 2


@pytest.mark.parametrize("approve", [True, False], ids=["approved", "rejected"])
def test_deciding_the_adjustment_resolves_its_case(supervisor, approver, item, storage, stock, approve):
    stock(item, storage, 200)
    adjustment, other = _adjust(supervisor, storage, item, -60), _adjust(supervisor, storage, item, -70)
    decided = decide_adjustment(user=approver, adjustment=adjustment, approve=approve, note="checked")
    assert decided.status == (Adjustment.Status.APPLIED if approve else Adjustment.Status.REJECTED)
    case = _cases(adjustment).get()
    assert case.status == ExceptionCase.Status.RESOLVED and case.resolved_at is not None
    assert case.resolution_note == f"Adjustment {'approved' if approve else 'rejected'} by {approver}."
    assert case.history.order_by("-history_date", "-history_id").first().history_user == approver
    assert _cases(other).get().status == ExceptionCase.Status.OPEN  # the other one still waits


def test_a_decision_through_the_generic_approval_resolves_the_case(supervisor, approver, item, storage, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    decide_approval(approval=ApprovalRequest.objects.get(), user=approver, approve=False)
    assert _cases(adjustment).get().status == ExceptionCase.Status.RESOLVED


def test_a_failed_approval_leaves_the_case_open(supervisor, approver, item, storage, storage2, stock):
    stock(item, storage, 100)
    adjustment = _adjust(supervisor, storage, item, -60)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=50)
    with pytest.raises(InsufficientStock):
        decide_adjustment(user=approver, adjustment=adjustment, approve=True)
    with pytest.raises(SegregationOfDuties):
        decide_adjustment(user=supervisor, adjustment=adjustment, approve=False)
    case = _cases(adjustment).get()
    assert (case.status, case.resolved_at) == (ExceptionCase.Status.OPEN, None)
