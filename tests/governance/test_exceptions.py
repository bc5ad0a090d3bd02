"""Exception cases: opened once per open subject and code, SLA due times, acknowledge/assign/resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import NotFound, PermissionDenied, StateConflict, ValidationFailed
from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, ExceptionCode
from governance.services import (
    acknowledge_exception,
    assign_exception,
    open_exception,
    resolve_exception,
    resolve_exceptions_for_subject,
)
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

S = ExceptionCase.Status


@pytest.fixture(autouse=True)
def _catalog(db):
    """The catalog is seeded by a migration; a flushing (transaction=True) test of a reused database empties it."""
    ensure_exception_codes()


@pytest.fixture
def subject(db):
    return ItemFactory(sku="SHORT-ONE")


@pytest.fixture
def case(site, subject):
    case, created = open_exception(site=site, code="SHORT_PICK", subject=subject, summary="3 of 10 missing")
    assert created
    return case


def _unchanged(case: ExceptionCase) -> tuple:
    fresh = ExceptionCase.objects.get(pk=case.pk)
    return (fresh.status, fresh.assignee_id, fresh.acknowledged_at, fresh.resolved_at, fresh.resolution_note)


def test_the_catalog_has_the_codes_of_the_architecture(db):
    assert ensure_exception_codes() == 0  # idempotent
    codes = set(ExceptionCode.objects.values_list("code", flat=True))
    assert {
        "SHORT_PICK",
        "OVER_RECEIPT",
        "DAMAGED_RECEIPT",
        "OVERDUE_RECEIPT",
        "STOCKOUT",
        "BACKORDER_AGING",
        "LATE_SHIPMENT_RISK",
        "COUNT_VARIANCE",
        "CREDIT_HOLD",
        "TRANSFER_DISCREPANCY",
        "INTEGRATION_FAILURE",
    } <= codes


def test_an_opened_case_takes_severity_owner_and_due_time_from_its_code(site, subject, make_user):
    code = ExceptionCode.objects.get(code="SHORT_PICK")
    before = timezone.now()
    case, created = open_exception(
        site=site, code="SHORT_PICK", subject=subject, summary="3 missing", details={"task": 7}, user=make_user()
    )
    assert created
    assert (case.status, case.severity, case.owner_role) == (S.OPEN, code.severity, code.owner_role)
    assert case.subject == subject and case.subject_label == "SHORT-ONE"
    assert case.details == {"task": 7}
    assert before <= case.opened_at <= timezone.now()
    assert case.due_at == case.opened_at + timedelta(minutes=code.sla_minutes)
    assert not case.is_overdue


def test_an_admin_changed_sla_applies_to_new_cases(site, subject):
    ExceptionCode.objects.filter(code="STOCKOUT").update(sla_minutes=5)
    case, _ = open_exception(site=site, code="STOCKOUT", subject=subject)
    assert case.due_at - case.opened_at == timedelta(minutes=5)


def test_a_case_is_opened_only_once_per_open_subject_and_code(site, subject, case):
    again, created = open_exception(site=site, code="SHORT_PICK", subject=subject, summary="another short pick")
    assert not created
    assert again.pk == case.pk
    assert ExceptionCase.objects.count() == 1

    other_code, created = open_exception(site=site, code="STOCKOUT", subject=subject)
    assert created and other_code.pk != case.pk
    other_subject, created = open_exception(site=site, code="SHORT_PICK", subject=ItemFactory())
    assert created
    assert ExceptionCase.objects.count() == 3


def test_an_acknowledged_case_is_still_open_for_deduplication(site, subject, case, supervisor):
    acknowledge_exception(case=case, user=supervisor)
    again, created = open_exception(site=site, code="SHORT_PICK", subject=subject)
    assert (again.pk, created) == (case.pk, False)


def test_the_condition_returning_after_resolution_opens_a_new_case(site, subject, case, supervisor):
    resolve_exception(case=case, user=supervisor, note="recounted, stock found")
    again, created = open_exception(site=site, code="SHORT_PICK", subject=subject)
    assert created and again.pk != case.pk
    assert again.status == S.OPEN
    assert list(ExceptionCase.objects.order_by("pk").values_list("status", flat=True)) == [S.RESOLVED, S.OPEN]


def test_an_unknown_code_is_refused(site, subject):
    with pytest.raises(ValidationFailed, match="Unknown exception code"):
        open_exception(site=site, code="NO_SUCH_CODE", subject=subject)
    assert not ExceptionCase.objects.exists()


def test_acknowledging_stamps_who_and_when_and_assigns_the_case(case, supervisor):
    acknowledged = acknowledge_exception(case=case, user=supervisor, note="on it")
    assert acknowledged.status == S.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == supervisor and acknowledged.acknowledged_at is not None
    assert acknowledged.assignee == supervisor
    assert acknowledged.details["acknowledge_note"] == "on it"
    assert acknowledged.history.order_by("-history_id").first().history_user == supervisor


def test_acknowledging_keeps_an_existing_assignee(case, supervisor, make_user, site):
    colleague = make_user("supervisor", site)
    assign_exception(case=case, user=supervisor, assignee=colleague)
    assert acknowledge_exception(case=case, user=supervisor).assignee == colleague


def test_a_case_is_acknowledged_only_once(case, supervisor):
    acknowledge_exception(case=case, user=supervisor)
    before = _unchanged(case)
    with pytest.raises(StateConflict, match="already acknowledged"):
        acknowledge_exception(case=case, user=supervisor)
    assert _unchanged(case) == before


def test_a_resolved_case_cannot_be_acknowledged(case, supervisor):
    resolve_exception(case=case, user=supervisor, note="done")
    before = _unchanged(case)
    with pytest.raises(StateConflict):
        acknowledge_exception(case=case, user=supervisor)
    assert _unchanged(case) == before


@pytest.mark.parametrize("status_before", [S.OPEN, S.ACKNOWLEDGED])
def test_resolving_stamps_the_resolution(case, supervisor, status_before):
    if status_before == S.ACKNOWLEDGED:
        acknowledge_exception(case=case, user=supervisor)
    resolved = resolve_exception(case=case, user=supervisor, note="  counted again, 3 found in A-02  ")
    assert resolved.status == S.RESOLVED
    assert resolved.resolved_by == supervisor and resolved.resolved_at is not None
    assert resolved.acknowledged_at is not None and resolved.acknowledged_at <= resolved.resolved_at
    assert resolved.resolution_note == "counted again, 3 found in A-02"
    assert not resolved.is_overdue


@pytest.mark.parametrize("note", ["", "   ", None])
def test_resolving_needs_a_note(case, supervisor, note):
    before = _unchanged(case)
    with pytest.raises(ValidationFailed) as exc_info:
        resolve_exception(case=case, user=supervisor, note=note)
    assert exc_info.value.errors[0]["field"] == "resolution_note"
    assert _unchanged(case) == before


def test_a_case_is_resolved_only_once(case, supervisor):
    resolve_exception(case=case, user=supervisor, note="done")
    before = _unchanged(case)
    with pytest.raises(StateConflict, match="already resolved"):
        resolve_exception(case=case, user=supervisor, note="again")
    assert _unchanged(case) == before


def test_a_case_is_assigned_to_a_member_of_its_site(case, supervisor, make_user, site):
    planner = make_user("planner", site)
    assert assign_exception(case=case, user=supervisor, assignee=planner).assignee == planner
    assert assign_exception(case=case, user=supervisor, assignee=None).assignee is None


def test_a_case_is_not_assigned_to_someone_outside_its_site(case, supervisor, outsider):
    before = _unchanged(case)
    with pytest.raises(ValidationFailed) as exc_info:
        assign_exception(case=case, user=supervisor, assignee=outsider)
    assert exc_info.value.errors[0]["code"] == "not_member"
    assert _unchanged(case) == before


def test_a_resolved_case_cannot_be_reassigned(case, supervisor, make_user, site):
    resolve_exception(case=case, user=supervisor, note="done")
    before = _unchanged(case)
    with pytest.raises(StateConflict):
        assign_exception(case=case, user=supervisor, assignee=make_user("supervisor", site))
    assert _unchanged(case) == before


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "assign"])
def test_a_user_of_another_site_gets_not_found(case, outsider, action):
    before = _unchanged(case)
    with pytest.raises(NotFound):
        if action == "acknowledge":
            acknowledge_exception(case=case, user=outsider)
        elif action == "resolve":
            resolve_exception(case=case, user=outsider, note="not mine")
        else:
            assign_exception(case=case, user=outsider, assignee=outsider)
    assert _unchanged(case) == before


def test_an_operator_may_not_handle_exceptions(case, operator):
    before = _unchanged(case)
    with pytest.raises(PermissionDenied):
        acknowledge_exception(case=case, user=operator)
    with pytest.raises(PermissionDenied):
        resolve_exception(case=case, user=operator, note="done")
    assert _unchanged(case) == before


def test_an_open_case_past_its_due_time_is_overdue(case):
    ExceptionCase.objects.filter(pk=case.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    case.refresh_from_db()
    assert case.is_overdue


def test_the_system_resolves_the_open_case_when_the_condition_clears(site, subject, case):
    assert resolve_exceptions_for_subject(subject=subject, code="SHORT_PICK", note="stock arrived") == 1
    case.refresh_from_db()
    assert (case.status, case.resolution_note, case.resolved_by) == (S.RESOLVED, "stock arrived", None)
    assert resolve_exceptions_for_subject(subject=subject, code="SHORT_PICK", note="again") == 0
