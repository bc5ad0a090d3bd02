"""The alerts worker on two (or three) workers at once, on real PostgreSQL: every overdue exception escalates
exactly once per due time, nobody is notified twice, and every email goes out once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from governance.catalog import ensure_exception_codes
from governance.models import EscalationStep, ExceptionCase, Notification, SiteMembership
from governance.services import open_exception
from governance.services.alerts import escalate_overdue_exceptions, process_exception_alerts, sweep_failed_jobs
from governance.services.notifications import send_notification_digests
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import ItemFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
CASES = 12


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world():
    ensure_exception_codes()  # a flushing test empties the catalog the migration seeded
    site = SiteFactory(code="ALRT", region="NORTH")
    for username, role in (("a-sup", "supervisor"), ("a-sup2", "supervisor"), ("a-admin", "admin")):
        SiteMembership.objects.create(user=UserFactory(username=username), site=site, role=role)
    UserFactory(username="a-boss", is_superuser=True)
    cases = []
    for n in range(CASES):
        code = "LEDGER_DRIFT" if n % 3 == 0 else "SHORT_PICK"  # every third one is critical
        case, _ = open_exception(site=site, code=code, subject=ItemFactory(sku=f"HOT-{n}"), now=T0)
        cases.append(case)
    return cases


def _workers(target, n=3):
    results, errors = run_threads(target, [()] * n)
    assert errors == []
    return results


def test_two_workers_escalating_at_once_escalate_each_case_once_per_due_time(world):
    late = T0 + timedelta(days=1)

    results = _workers(lambda: escalate_overdue_exceptions(now=late))

    assert sum(r["escalated"] for r in results) == CASES
    assert set(ExceptionCase.objects.values_list("escalation_level", flat=True)) == {1}
    assert EscalationStep.objects.count() == CASES
    for case in ExceptionCase.objects.select_related("code"):
        assert case.due_at == late + timedelta(minutes=case.code.sla_minutes)
    # SHORT_PICK (supervisor) -> site admin; LEDGER_DRIFT (admin) -> region: the site admin and the boss
    per_event = Notification.objects.values_list("event_key", "user__username", "channel")
    assert len(per_event) == len(set(per_event)) == 2 * (CASES * 2 // 3 + CASES // 3 * 2)

    later = late + timedelta(days=1)
    results = _workers(lambda: escalate_overdue_exceptions(now=later))
    assert sum(r["escalated"] for r in results) == CASES * 2 // 3  # SHORT_PICK climbs once more; drift is at top
    assert EscalationStep.objects.filter(level=2).count() == CASES * 2 // 3


def test_two_workers_processing_alerts_announce_once_and_email_each_critical_once(world):
    results = _workers(lambda: process_exception_alerts(now=T0 + timedelta(minutes=1)))

    assert sum(r["announce"]["announced"] for r in results) == CASES
    assert EscalationStep.objects.filter(level=0).count() == CASES
    critical = Notification.objects.filter(channel="EMAIL", severity="CRITICAL")
    assert critical.count() == CASES // 3  # the site admin, once per drift case
    assert len(mail.outbox) == CASES // 3 and not critical.filter(sent_at__isnull=True).exists()
    assert sum(r["critical_emails"]["sent"] for r in results) == CASES // 3

    digests = _workers(lambda: send_notification_digests(now=T0 + timedelta(hours=1)))
    assert sum(r["emails"] for r in digests) == 2  # the two supervisors, one email each
    assert sorted(m.to[0] for m in mail.outbox[CASES // 3 :]) == ["a-sup2@example.com", "a-sup@example.com"]


def test_two_workers_sweeping_failed_jobs_open_one_case(world):
    from governance.models import JobRun

    JobRun.objects.create(kind="nightly", status=JobRun.Status.FAILED, started_at=T0, error="boom")

    results = _workers(lambda: sweep_failed_jobs(now=T0 + timedelta(minutes=1)))

    assert sorted(r["opened"] for r in results) == [0, 0, 1]
    assert ExceptionCase.objects.filter(code__code="JOB_FAILED").count() == 1
