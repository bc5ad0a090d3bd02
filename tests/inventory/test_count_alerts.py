"""The alerts worker's sweep of count variances awaiting approval: a pending line always has its open
COUNT_VARIANCE case (reopened if it was lost), a decided line's case is resolved, cases of lines posted without
approval are left to people; nothing changes on a second run; no quantities in what the site can read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import ExceptionCase, JobRun
from governance.services.alerts import run_exception_sweeps
from inventory.models import CycleCountLine
from inventory.services.count_alerts import sweep_count_variances_awaiting_approval
from inventory.services.counts import create_cycle_count, decide_count, enter_count
from tests.inventory.test_counts import set_rule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _catalog(db):
    ensure_exception_codes()


@pytest.fixture
def counter(make_user, site):
    return make_user("operator", site, username="counter1")


@pytest.fixture
def counter2(make_user, site):
    return make_user("operator", site, username="counter2")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="approver")


@pytest.fixture
def pending_line(site, supervisor, counter, item, storage, stock):
    """100 on the shelf, counted 99 (within the default tolerance), 10.00 above a 5.00 approval value."""
    stock(item, storage, 100)
    set_rule(site, "counting.approval_value", "5")
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    line = enter_count(user=counter, line=count.lines.get(), quantity=99)
    assert line.status == "PENDING_APPROVAL"
    return line


def variance_cases(status=None):
    qs = ExceptionCase.objects.filter(code__code="COUNT_VARIANCE")
    return qs.filter(status=status) if status else qs


def test_a_pending_variance_keeps_one_open_case_and_a_lost_one_is_reopened(pending_line):
    now = timezone.now()
    assert sweep_count_variances_awaiting_approval(now=now) == {"opened": 0, "already_open": 1, "resolved": 0}
    variance_cases().update(status="RESOLVED", resolved_at=now)  # closed by hand while the line still waits

    counts = sweep_count_variances_awaiting_approval(now=now + timedelta(minutes=1))

    assert counts == {"opened": 1, "already_open": 0, "resolved": 0}
    case = variance_cases("OPEN").get()
    assert case.subject == pending_line and case.owner_role == "supervisor"
    assert case.due_at == now + timedelta(minutes=1) + timedelta(minutes=case.code.sla_minutes)
    assert "99" not in case.summary + str(case.details) and "100" not in case.summary  # blind
    assert sweep_count_variances_awaiting_approval(now=now + timedelta(minutes=2))["opened"] == 0


def test_a_decided_variance_is_resolved_by_the_sweep_when_the_decision_left_it_open(pending_line, approver):
    decide_count(user=approver, count=pending_line.count, approve=True)
    assert variance_cases("RESOLVED").count() == 1  # the decision resolves it at once
    case = variance_cases().get()
    ExceptionCase.objects.filter(pk=case.pk).update(status="OPEN", resolved_at=None)  # e.g. reopened by hand

    counts = sweep_count_variances_awaiting_approval(now=timezone.now())

    assert counts["resolved"] == 1
    case.refresh_from_db()
    assert case.status == "RESOLVED" and "decided" in case.resolution_note


def test_a_variance_posted_without_approval_keeps_its_case_for_people(
    site, supervisor, counter, counter2, item, storage, stock
):
    stock(item, storage, 100)
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    line = enter_count(user=counter, line=count.lines.get(), quantity=90)  # beyond tolerance: recount
    line = enter_count(user=counter2, line=line, quantity=95)  # 50.00, under the default approval value: posted
    assert line.status == CycleCountLine.Status.POSTED

    assert sweep_count_variances_awaiting_approval(now=timezone.now()) == {
        "opened": 0,
        "already_open": 0,
        "resolved": 0,
    }
    assert variance_cases("OPEN").count() == 1


def test_run_exception_sweeps_includes_count_variances_with_a_job_run(pending_line):
    results = run_exception_sweeps(names=["count_variances_awaiting_approval"])

    assert results["count_variances_awaiting_approval"]["already_open"] == 1
    run = JobRun.objects.get(kind="exception_sweep:count_variances_awaiting_approval")
    assert run.status == "SUCCEEDED" and run.counts["already_open"] == 1
