"""Generic approval requests: one pending per subject and kind, segregation of duties, handlers in one transaction."""

from __future__ import annotations

import pytest

from core.errors import NotFound, PermissionDenied, SegregationOfDuties, StateConflict
from governance.models import ApprovalRequest
from governance.services import ApprovalHandler, decide_approval, register_approval_handler, request_approval
from governance.services.approvals import _HANDLERS
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

KIND = "TEST_WRITE_OFF"


@pytest.fixture
def calls():
    """Register a handler for KIND that records its calls (and raises when told to); removed afterwards."""
    record: dict = {"approved": [], "rejected": [], "raise": None}

    def on_approved(approval, user):
        record["approved"].append((approval.pk, approval.status, user))
        subject = approval.subject
        subject.description = "written off"
        subject.save()  # a write of the handler: must roll back with the decision if the handler fails
        if record["raise"]:
            raise record["raise"]

    def on_rejected(approval, user):
        record["rejected"].append((approval.pk, approval.status, user))

    register_approval_handler(KIND, ApprovalHandler(on_approved=on_approved, on_rejected=on_rejected))
    yield record
    _HANDLERS.pop(KIND, None)


@pytest.fixture
def subject(db):
    return ItemFactory(sku="APPROVE-ME", description="original")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver1")


def _request(site, subject, requester, kind=KIND):
    return request_approval(
        kind=kind,
        site=site,
        subject=subject,
        reason="Write-off worth 900.00 exceeds 500.00",
        requested_by=requester,
        rule_key="inventory.adjustment_approval_value",
        threshold="500.00",
        value="900.00",
    )


def test_a_request_records_what_why_the_threshold_and_the_requester(site, subject, supervisor):
    approval = _request(site, subject, supervisor)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert approval.subject == subject
    assert (approval.subject_label, approval.rule_key, approval.threshold, approval.value) == (
        "APPROVE-ME",
        "inventory.adjustment_approval_value",
        "500.00",
        "900.00",
    )
    assert approval.requested_by == supervisor
    assert approval.decided_by is None and approval.decided_at is None
    assert approval.history.get().history_user == supervisor


def test_only_one_request_of_a_kind_may_be_pending_for_a_subject(site, subject, supervisor, approver, calls):
    first = _request(site, subject, supervisor)
    with pytest.raises(StateConflict, match="already pending"):
        _request(site, subject, approver)
    assert ApprovalRequest.objects.count() == 1

    _request(site, subject, supervisor, kind="OTHER_KIND")  # another kind is another question
    decide_approval(approval=first, user=approver, approve=False)
    _request(site, subject, supervisor)  # once decided, the subject may be asked about again
    assert ApprovalRequest.objects.filter(kind=KIND).count() == 2


def test_approving_runs_the_handler_and_records_the_decider(site, subject, supervisor, approver, calls):
    approval = _request(site, subject, supervisor)
    decided = decide_approval(approval=approval, user=approver, approve=True, note="checked the pallet")

    decided.refresh_from_db()
    assert decided.status == ApprovalRequest.Status.APPROVED
    assert (decided.decided_by, decided.decision_note) == (approver, "checked the pallet")
    assert decided.decided_at is not None
    assert calls["approved"] == [(approval.pk, ApprovalRequest.Status.APPROVED, approver)]
    assert calls["rejected"] == []
    subject.refresh_from_db()
    assert subject.description == "written off"
    assert decided.history.order_by("-history_id").first().history_user == approver


def test_rejecting_runs_the_reject_handler_only(site, subject, supervisor, approver, calls):
    approval = _request(site, subject, supervisor)
    decide_approval(approval=approval, user=approver, approve=False)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.REJECTED
    assert calls["approved"] == []
    assert calls["rejected"] == [(approval.pk, ApprovalRequest.Status.REJECTED, approver)]
    subject.refresh_from_db()
    assert subject.description == "original"


def test_the_requester_can_never_decide_their_own_request_and_nothing_changes(site, subject, supervisor, calls):
    approval = _request(site, subject, supervisor)
    for approve in (True, False):
        with pytest.raises(SegregationOfDuties):
            decide_approval(approval=approval, user=supervisor, approve=approve)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert approval.decided_by is None
    assert calls["approved"] == calls["rejected"] == []


def test_a_superuser_requester_cannot_approve_their_own_request_either(site, subject, admin_user, calls):
    approval = _request(site, subject, admin_user)
    with pytest.raises(SegregationOfDuties):
        decide_approval(approval=approval, user=admin_user, approve=True)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


def test_a_request_cannot_be_decided_twice(site, subject, supervisor, approver, admin_user, calls):
    approval = _request(site, subject, supervisor)
    decide_approval(approval=approval, user=approver, approve=True)
    with pytest.raises(StateConflict, match="already approved"):
        decide_approval(approval=approval, user=admin_user, approve=False)
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == (ApprovalRequest.Status.APPROVED, approver)
    assert len(calls["approved"]) == 1 and calls["rejected"] == []


def test_a_failing_handler_rolls_back_the_decision_with_its_own_writes(site, subject, supervisor, approver, calls):
    approval = _request(site, subject, supervisor)
    calls["raise"] = StateConflict("the subject changed meanwhile")

    with pytest.raises(StateConflict, match="changed meanwhile"):
        decide_approval(approval=approval, user=approver, approve=True)

    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert approval.decided_by is None and approval.decided_at is None
    subject.refresh_from_db()
    assert subject.description == "original"
    assert approval.history.count() == 1  # no history row of the rolled-back decision


def test_a_user_of_another_site_gets_not_found(site, subject, supervisor, outsider, calls):
    approval = _request(site, subject, supervisor)
    with pytest.raises(NotFound):
        decide_approval(approval=approval, user=outsider, approve=True)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING


def test_a_role_that_may_not_decide_is_refused(site, subject, supervisor, operator, calls):
    approval = _request(site, subject, supervisor)
    with pytest.raises(PermissionDenied):
        decide_approval(approval=approval, user=operator, approve=True)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert calls["approved"] == []


def test_a_request_of_a_kind_without_handler_cannot_be_decided(site, subject, supervisor, approver):
    approval = _request(site, subject, supervisor, kind="NOBODY_HANDLES_THIS")
    with pytest.raises(PermissionDenied, match="No handler"):
        decide_approval(approval=approval, user=approver, approve=True)
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
