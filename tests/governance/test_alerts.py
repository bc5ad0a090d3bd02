"""Exception alerts: announcing new cases, the SLA escalation ladder with a controllable clock, notifications
(in app, email digest, immediate critical email, never twice), failed jobs and the sweep runner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from governance.catalog import ensure_exception_codes
from governance.models import EscalationStep, ExceptionCase, ExceptionCode, JobRun, Notification
from governance.services import open_exception, resolve_exception
from governance.services.alerts import (
    SWEEPS,
    announce_new_exceptions,
    escalate_overdue_exceptions,
    escalation_chain,
    process_exception_alerts,
    run_exception_sweeps,
    sweep_failed_jobs,
)
from governance.services.notifications import notify, send_critical_emails, send_notification_digests
from tests.factories import ItemFactory, SiteFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _catalog(db):
    ensure_exception_codes()


@pytest.fixture
def east_site(db):
    return SiteFactory(code="DC3", name="East branch", region="EAST")


@pytest.fixture
def people(make_user, site, other_site, east_site):
    """Who works where: DC1 and DC3 are in region EAST, DC2 in WEST."""
    return {
        "sup": make_user("supervisor", site, username="sup"),
        "coord": make_user("coordinator", site, username="coord"),
        "site_admin": make_user("admin", site, username="site-admin"),
        "east_admin": make_user("admin", east_site, username="east-admin"),
        "west_admin": make_user("admin", other_site, username="west-admin"),
        "west_sup": make_user("supervisor", other_site, username="west-sup"),
        "boss": make_user(username="boss", superuser=True),
    }


def told(event_key: str, channel: str = Notification.Channel.IN_APP) -> set[str]:
    return set(
        Notification.objects.filter(event_key=event_key, channel=channel).values_list("user__username", flat=True)
    )


def open_case(site, code="SHORT_PICK", at=T0, subject=None):
    case, created = open_exception(site=site, code=code, subject=subject or ItemFactory(), summary="3 of 10", now=at)
    assert created
    return case


# --- the ladder --------------------------------------------------------------------------------------------


def test_the_ladder_climbs_from_the_owning_role_through_supervisor_and_site_admin_to_the_region():
    assert escalation_chain("coordinator") == ["coordinator", "supervisor", "admin", "region"]
    assert escalation_chain("supervisor") == ["supervisor", "admin", "region"]
    assert escalation_chain("admin") == ["admin", "region"]


def test_a_new_exception_is_announced_once_to_its_owning_role_at_its_site(site, people):
    case = open_case(site)  # SHORT_PICK is owned by supervisors

    counts = announce_new_exceptions(now=T0)

    assert counts["announced"] == 1
    assert told(f"exception:{case.pk}:level:0") == {"sup"}  # not DC2's supervisor, not the coordinator
    assert told(f"exception:{case.pk}:level:0", Notification.Channel.EMAIL) == {"sup"}
    step = EscalationStep.objects.get(case=case)
    assert (step.level, step.target, step.recipients, step.happened_at) == (0, "supervisor", ["sup"], T0)
    assert announce_new_exceptions(now=T0 + MIN) == {"announced": 0, "notifications": 0}
    assert Notification.objects.count() == 2


def test_an_overdue_exception_escalates_level_by_level_and_each_due_time_extends_by_the_sla(site, people):
    sla = timedelta(minutes=ExceptionCode.objects.get(code="SHORT_PICK").sla_minutes)
    case = open_case(site)
    assert case.due_at == T0 + sla

    assert escalate_overdue_exceptions(now=T0 + sla)["escalated"] == 0  # due, not past due
    first = T0 + sla + MIN
    assert escalate_overdue_exceptions(now=first)["escalated"] == 1

    case.refresh_from_db()
    assert (case.escalation_level, case.due_at) == (1, first + sla)
    assert told(f"exception:{case.pk}:level:1") == {"site-admin"}
    assert escalate_overdue_exceptions(now=first + MIN)["escalated"] == 0  # not due again yet
    assert escalate_overdue_exceptions(now=first + sla)["escalated"] == 0

    second = first + sla + MIN
    assert escalate_overdue_exceptions(now=second)["escalated"] == 1
    case.refresh_from_db()
    assert (case.escalation_level, case.due_at) == (2, second + sla)
    assert told(f"exception:{case.pk}:level:2") == {"east-admin", "site-admin", "boss"}  # region EAST + enterprise

    steps = list(EscalationStep.objects.filter(case=case).values_list("level", "target", "due_before", "due_after"))
    assert steps == [(1, "admin", T0 + sla, first + sla), (2, "region", first + sla, second + sla)]
    reasons = list(case.history.filter(history_type="~").values_list("history_change_reason", flat=True))
    assert "Escalated to level 1 (admin)" in reasons and "Escalated to level 2 (region)" in reasons


def test_an_exception_at_the_top_of_its_ladder_stays_there(site, people):
    case = open_case(site, code="LEDGER_DRIFT")  # owned by admins: admin -> region
    sla = case.due_at - T0
    escalate_overdue_exceptions(now=T0 + sla + MIN)
    case.refresh_from_db()
    assert case.escalation_level == 1

    counts = escalate_overdue_exceptions(now=T0 + 10 * sla)

    assert counts == {"escalated": 0, "at_top": 1, "notifications": 0}
    case.refresh_from_db()
    assert case.escalation_level == 1 and EscalationStep.objects.filter(case=case).count() == 1


def test_a_level_nobody_holds_at_the_site_is_skipped(east_site, people):
    case = open_case(east_site, code="BACKORDER_AGING")  # coordinator -> supervisor -> admin; DC3 has only an admin

    escalate_overdue_exceptions(now=case.due_at + MIN)

    case.refresh_from_db()
    assert case.escalation_level == 2
    assert told(f"exception:{case.pk}:level:2") == {"east-admin"}
    assert list(EscalationStep.objects.filter(case=case).values_list("level", "target")) == [(2, "admin")]


def test_resolved_exceptions_never_escalate_and_acknowledged_ones_still_do(site, people):
    resolved = open_case(site)
    acknowledged = open_case(site)
    resolve_exception(case=resolved, user=people["sup"], note="recounted")
    ExceptionCase.objects.filter(pk=acknowledged.pk).update(status=ExceptionCase.Status.ACKNOWLEDGED)

    counts = escalate_overdue_exceptions(now=T0 + timedelta(days=1))

    assert counts["escalated"] == 1
    resolved.refresh_from_db()
    acknowledged.refresh_from_db()
    assert (resolved.escalation_level, acknowledged.escalation_level) == (0, 1)


def test_the_next_due_time_uses_the_sla_an_admin_set_on_the_code(site, people):
    case = open_case(site)
    ExceptionCode.objects.filter(code="SHORT_PICK").update(sla_minutes=15)
    when = case.due_at + MIN

    escalate_overdue_exceptions(now=when)

    case.refresh_from_db()
    assert case.due_at == when + timedelta(minutes=15)


# --- notifications -------------------------------------------------------------------------------------------


def test_the_same_event_is_never_notified_twice(site, people):
    users = [people["sup"], people["coord"]]
    first = notify(users=users, event_key="test:1", title="Hello", site=site, now=T0)
    again = notify(users=users + [people["boss"]], event_key="test:1", title="Hello again", site=site, now=T0)

    assert (first, again) == (4, 2)  # the boss is new; the others already have both rows
    assert Notification.objects.filter(event_key="test:1").count() == 6
    assert Notification.objects.get(event_key="test:1", user=people["sup"], channel="IN_APP").title == "Hello"


def test_users_without_an_email_address_or_inactive_get_no_email(site, people):
    people["sup"].email = ""
    people["sup"].save()
    people["coord"].is_active = False
    people["coord"].save()

    notify(users=[people["sup"], people["coord"]], event_key="test:2", title="Hello", now=T0)

    assert list(Notification.objects.values_list("user__username", "channel")) == [("sup", "IN_APP")]


def test_the_digest_sends_each_user_one_email_with_what_is_new_since_the_last_digest(site, people):
    sup = people["sup"]
    notify(users=[sup], event_key="test:a", title="First thing", now=T0)
    notify(users=[sup], event_key="test:b", title="Second thing", now=T0 + MIN)
    notify(users=[people["coord"]], event_key="test:c", title="Coordinator thing", now=T0)

    counts = send_notification_digests(now=T0 + 60 * MIN)

    assert counts == {"emails": 2, "notifications": 3, "failed": 0}
    by_recipient = {m.to[0]: m for m in mail.outbox}
    digest = by_recipient[sup.email]
    assert digest.subject.endswith("2 new alerts")
    assert "First thing" in digest.body and "Second thing" in digest.body and "Coordinator" not in digest.body
    assert not Notification.objects.filter(channel="EMAIL", sent_at__isnull=True).exists()

    assert send_notification_digests(now=T0 + 120 * MIN)["emails"] == 0  # nothing new: no email
    notify(users=[sup], event_key="test:d", title="Third thing", now=T0 + 121 * MIN)
    send_notification_digests(now=T0 + 180 * MIN)
    assert len(mail.outbox) == 3
    assert "Third thing" in mail.outbox[-1].body and "First thing" not in mail.outbox[-1].body
    assert Notification.objects.get(event_key="test:d", channel="IN_APP").sent_at is None  # in-app is not mailed


def test_a_critical_exception_is_emailed_at_once_and_not_again_in_the_digest(site, people):
    critical = open_case(site, code="LEDGER_DRIFT")  # CRITICAL, owned by admins
    open_case(site, code="SHORT_PICK")  # HIGH: waits for the digest

    process_exception_alerts(now=T0 + MIN)

    assert [m.to for m in mail.outbox] == [[people["site_admin"].email]]
    assert mail.outbox[0].subject.startswith("[ERP] CRITICAL:") and "LEDGER_DRIFT" in mail.outbox[0].subject
    assert Notification.objects.get(exception=critical, channel="EMAIL").sent_at == T0 + MIN
    assert send_critical_emails(now=T0 + 2 * MIN)["sent"] == 0

    send_notification_digests(now=T0 + 60 * MIN)
    digests = mail.outbox[1:]
    assert [m.to for m in digests] == [[people["sup"].email]]
    assert "SHORT_PICK" in digests[0].body and "LEDGER_DRIFT" not in digests[0].body


def test_an_email_that_cannot_be_sent_stays_unsent_for_the_next_run(site, people, monkeypatch):
    open_case(site, code="LEDGER_DRIFT")
    announce_new_exceptions(now=T0)

    def smtp_down(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("governance.services.notifications.send_mail", smtp_down)
    assert send_critical_emails(now=T0) == {"sent": 0, "failed": 1}
    assert send_notification_digests(now=T0)["failed"] == 1
    assert Notification.objects.filter(channel="EMAIL", sent_at__isnull=True).count() == 1

    monkeypatch.undo()
    assert send_critical_emails(now=T0 + MIN)["sent"] == 1
    assert len(mail.outbox) == 1


# --- failed jobs and the sweep runner ----------------------------------------------------------------------


def failed_run(kind, at, site=None, error="boom"):
    return JobRun.objects.create(
        kind=kind, site=site, status=JobRun.Status.FAILED, started_at=at, finished_at=at, error=error
    )


def test_a_failing_job_keeps_one_job_failed_exception_open_until_it_succeeds_again(site, other_site, people):
    first = failed_run("reconcile_inventory", T0 - 3 * MIN)
    failed_run("reconcile_inventory", T0 - 2 * MIN, error="boom again")
    local = failed_run("replenishment_run", T0 - 2 * MIN, site=other_site)

    counts = sweep_failed_jobs(now=T0)

    assert counts["opened"] == 2
    network = ExceptionCase.objects.get(code__code="JOB_FAILED", object_id=first.pk)
    assert network.site == site  # a network-wide job's case sits at the first active site
    assert network.details["failures"] == 2 and "boom again" in network.summary
    assert ExceptionCase.objects.get(code__code="JOB_FAILED", object_id=local.pk).site == other_site
    assert sweep_failed_jobs(now=T0 + MIN) == {"opened": 0, "already_open": 2, "resolved": 0, "stuck_runs": 0}

    JobRun.objects.create(kind="reconcile_inventory", status=JobRun.Status.SUCCEEDED, started_at=T0)
    assert sweep_failed_jobs(now=T0 + 2 * MIN)["resolved"] == 1
    network.refresh_from_db()
    assert network.status == "RESOLVED" and network.resolved_at == T0 + 2 * MIN

    assert sweep_failed_jobs(now=T0 + timedelta(days=90))["resolved"] == 0  # an old failure is not a recovery
    assert ExceptionCase.objects.get(code__code="JOB_FAILED", object_id=local.pk).status == "OPEN"

    again = failed_run("reconcile_inventory", T0 + 3 * MIN)
    assert sweep_failed_jobs(now=T0 + 4 * MIN)["opened"] == 1  # a new failure streak is a new case
    assert ExceptionCase.objects.filter(code__code="JOB_FAILED", object_id=again.pk, status="OPEN").exists()


def test_a_run_that_never_ended_is_marked_failed_after_the_stuck_hours_and_raises_job_failed(site):
    lost = JobRun.objects.create(kind="replenishment_run", status=JobRun.Status.RUNNING, started_at=T0)

    assert sweep_failed_jobs(now=T0 + timedelta(hours=6))["stuck_runs"] == 0  # slow is not lost yet
    counts = sweep_failed_jobs(now=T0 + timedelta(hours=6, minutes=1))

    assert (counts["stuck_runs"], counts["opened"]) == (1, 1)
    lost.refresh_from_db()
    assert lost.status == "FAILED" and lost.finished_at == T0 + timedelta(hours=6, minutes=1)
    assert "worker was probably lost" in lost.error
    assert ExceptionCase.objects.get(code__code="JOB_FAILED").object_id == lost.pk


def test_a_running_job_is_judged_by_its_last_finished_run(site):
    failed_run("nightly", T0 - 2 * MIN)
    JobRun.objects.create(kind="nightly", status=JobRun.Status.RUNNING, started_at=T0 - MIN)

    assert sweep_failed_jobs(now=T0)["opened"] == 1


def test_a_failing_sweep_is_recorded_and_raised_as_job_failed_while_the_others_run(site, monkeypatch):
    calls = []

    def broken(*, now):
        raise RuntimeError("sweep exploded")

    def fine(*, now):
        calls.append(now)
        return {"opened": 0}

    monkeypatch.setattr("governance.services.alerts.SWEEPS", {"broken": broken, "fine": fine})
    now = timezone.now()  # job runs are stamped with the real clock
    results = run_exception_sweeps(now=now)

    assert results["broken"] == {"error": "sweep exploded"} and results["fine"] == {"opened": 0}
    assert calls == [now]
    run = JobRun.objects.get(kind="exception_sweep:broken")
    assert run.status == "FAILED" and "sweep exploded" in run.error
    assert JobRun.objects.get(kind="exception_sweep:fine").status == "SUCCEEDED"
    case = ExceptionCase.objects.get(code__code="JOB_FAILED")
    assert case.object_id == run.pk and results["failed_jobs"]["opened"] == 1


def test_the_apps_register_their_sweeps():
    assert {
        "overdue_receipts",
        "late_shipment_risk",
        "backorder_aging",
        "stale_tasks",
        "count_variances_awaiting_approval",
    } <= set(SWEEPS)


# --- the alerts worker: tasks, routes, schedules ----------------------------------------------------------


def test_the_alerts_tasks_run_on_the_alerts_queue_and_record_job_runs(site, people):
    from distribution_erp.celery import app
    from governance import tasks

    for name in ("run_exception_sweeps", "process_exception_alerts", "send_notification_digests"):
        assert app.amqp.router.route({}, f"governance.tasks.{name}")["queue"].name == "alerts"
    open_case(site, at=timezone.now())

    counts = tasks.process_exception_alerts.apply().get()
    tasks.send_notification_digests.apply().get()

    assert counts["announce"]["announced"] == 1
    assert {"exception_alerts", "notification_digest"} <= set(JobRun.objects.values_list("kind", flat=True))
    assert [m.to for m in mail.outbox] == [[people["sup"].email]]


def test_the_sweeps_alerts_and_digest_are_scheduled_once_and_replace_the_stand_alone_sweeps(db):
    import importlib

    from django.apps import apps
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    migration = importlib.import_module("governance.migrations.0004_alert_schedules")
    PeriodicTask.objects.all().delete()
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    for name in migration.REPLACED:
        PeriodicTask.objects.create(name=name, task="x", interval=hourly)

    migration.schedule(apps, None)
    migration.schedule(apps, None)

    tasks = {t.task: t for t in PeriodicTask.objects.filter(enabled=True)}
    assert set(tasks) == {
        "governance.tasks.run_exception_sweeps",
        "governance.tasks.process_exception_alerts",
        "governance.tasks.send_notification_digests",
    }
    assert {t.queue for t in tasks.values()} == {"alerts"}
    assert (tasks["governance.tasks.process_exception_alerts"].interval.every, "minutes") == (
        5,
        tasks["governance.tasks.process_exception_alerts"].interval.period,
    )
    assert not PeriodicTask.objects.filter(name__in=migration.REPLACED, enabled=True).exists()
