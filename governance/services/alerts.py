"""Exception alerts: the sweeps that open and close exceptions, the SLA escalation ladder, and who is told.

- **Sweeps.** Each app registers its condition sweeps (``register_sweep``) in ``AppConfig.ready()``;
  governance never imports a higher app. :func:`run_exception_sweeps` runs them all, each recorded as a job run
  (a failing sweep is recorded and the others still run), and then :func:`sweep_failed_jobs`, which turns
  failed job runs into JOB_FAILED exceptions. :func:`sync_condition_exceptions` is the shared shape of a
  sweep: open a case for every finding, resolve the open cases whose condition has cleared.
- **Alert ladder.** A new case is announced to its owning role at its site (level 0). Past its due time an
  unresolved case escalates one level: owner role -> supervisor -> site admin -> region admins (admins of any
  site of the site's region, and enterprise admins); levels nobody holds are skipped. Each step is an
  :class:`~governance.models.EscalationStep` row, a history row of the case, a raised ``escalation_level``, a new
  due time one SLA later, and notifications to the people of the new level.
- **Concurrency.** Every step takes the case row with ``FOR UPDATE SKIP LOCKED`` and re-checks the condition
  under the lock; ``EscalationStep`` (case, level) and ``Notification`` (user, event, channel) are unique. Two
  workers running any of this at once escalate each case once per due time and tell nobody twice.

Every function takes ``now`` so tests drive the clock; none sleeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from governance.events import emit_exception
from governance.models import EscalationStep, ExceptionCase, JobRun, Role, Site, SiteMembership

from .exceptions import open_exception
from .history import set_history_user
from .jobs import record_job
from .notifications import notify, send_critical_emails
from .rules import get_rule

logger = logging.getLogger(__name__)

RESOLVED = ExceptionCase.Status.RESOLVED
REGION = "region"
#: the site roles a case climbs through above its owning role, lowest first; then the region's admins
LADDER = (Role.SUPERVISOR.value, Role.ADMIN.value)

# --- the sweep registry ----------------------------------------------------------------------------------

Sweep = Callable[..., dict]
SWEEPS: dict[str, Sweep] = {}


def register_sweep(name: str, sweep: Sweep) -> None:
    """Register a condition sweep: ``sweep(now=...)`` opens and resolves exceptions and returns its counts.

    Called from an app's ``AppConfig.ready()``; registering a name again replaces it (reloads, tests).
    """
    SWEEPS[name] = sweep


def run_exception_sweeps(*, now: datetime | None = None, names: Iterable[str] | None = None) -> dict:
    """Run every registered sweep (or those ``names``) and then the failed-jobs sweep, each recorded as a job
    run ``exception_sweep:<name>``. A sweep that fails is recorded as FAILED and does not stop the others; the
    failed-jobs sweep at the end turns that run into a JOB_FAILED exception at once."""
    now = now or timezone.now()
    wanted = set(names) if names is not None else None
    results: dict[str, dict] = {}
    for name, sweep in [*sorted(SWEEPS.items()), ("failed_jobs", sweep_failed_jobs)]:
        if wanted is not None and name not in wanted:
            continue
        try:
            with record_job(f"exception_sweep:{name}") as counts:
                counts.update(sweep(now=now))
            results[name] = counts
        except Exception as exc:  # recorded on the run row; sweep_failed_jobs raises JOB_FAILED for it
            logger.exception("exception sweep %s failed", name)
            results[name] = {"error": str(exc)[:500]}
    return results


# --- the shape of a condition sweep ----------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """A subject whose condition holds now: the case to open (or keep open)."""

    site: Site
    subject: object
    summary: str
    details: dict = field(default_factory=dict)


def sync_condition_exceptions(
    *, code: str, model: type, findings: Iterable[Finding], now: datetime, cleared_note: str
) -> dict:
    """Open a ``code`` case for every finding (one per subject, see ``open_exception``) and resolve the open
    ``code`` cases of ``model`` subjects that are not among the findings. Idempotent and safe on two workers:
    opening is deduplicated by the database, resolving skips cases another worker holds (the next run gets
    them)."""
    counts = {"opened": 0, "already_open": 0, "resolved": 0}
    found_ids = set()
    for finding in findings:
        found_ids.add(finding.subject.pk)
        _, created = open_exception(
            site=finding.site,
            code=code,
            subject=finding.subject,
            summary=finding.summary,
            details=finding.details,
            now=now,
        )
        counts["opened" if created else "already_open"] += 1
    stale = (
        ExceptionCase.objects.filter(code__code=code, content_type=ContentType.objects.get_for_model(model))
        .exclude(status=RESOLVED)
        .exclude(object_id__in=found_ids)
        .values_list("pk", flat=True)
    )
    counts["resolved"] = resolve_cases(case_ids=list(stale), note=cleared_note, now=now)
    return counts


def resolve_cases(*, case_ids: Iterable[int], note: str, now: datetime) -> int:
    """System close of cases whose condition cleared; cases locked by someone else are left for the next run."""
    resolved = 0
    for pk in sorted(case_ids):
        with transaction.atomic():
            case = (
                ExceptionCase.objects.select_for_update(skip_locked=True, no_key=True)
                .filter(pk=pk)
                .exclude(status=RESOLVED)
                .first()
            )
            if case is None:
                continue
            case.status = RESOLVED
            case.resolved_at = now
            case.acknowledged_at = case.acknowledged_at or now
            case.resolution_note = note
            set_history_user(case, None)
            case._change_reason = "Resolved by sweep: condition cleared"
            case.save()
            resolved += 1
    return resolved


# --- failed jobs ------------------------------------------------------------------------------------------

#: how far back the failed-jobs sweep looks for job runs
FAILED_JOBS_WINDOW = timedelta(days=30)


def network_site() -> Site | None:
    """The site that carries exceptions about network-wide work (a job run without a site): the first active
    site by code. An exception case always belongs to a site; region and enterprise admins see it there."""
    return Site.objects.filter(active=True).order_by("code").first()


def mark_stuck_job_runs(*, now: datetime) -> int:
    """Mark FAILED the runs still RUNNING ``exceptions.job_stuck_hours`` after they started: a killed worker
    never records an end. Should such a run finish after all, ``record_job`` overwrites its status."""
    hours = get_rule("exceptions.job_stuck_hours")
    return JobRun.objects.filter(status=JobRun.Status.RUNNING, started_at__lt=now - timedelta(hours=hours)).update(
        status=JobRun.Status.FAILED,
        finished_at=now,
        error=f"No end recorded {hours} hours after it started: its worker was probably lost.",
    )


def sweep_failed_jobs(*, now: datetime) -> dict:
    """JOB_FAILED while a job's latest finished run (per kind and site) failed; resolved once it succeeds again.

    The case's subject is the first failed run since the last success, so a job that keeps failing keeps one
    case open instead of opening one per run. A run that never ended is failed first (``mark_stuck_job_runs``).
    Only runs of the last 30 days open cases; a case is resolved only by a later successful run of its job, never
    because its failure grew old.
    """
    stuck = mark_stuck_job_runs(now=now)
    finished = JobRun.objects.exclude(status=JobRun.Status.RUNNING)
    latest = list(
        finished.filter(started_at__gte=now - FAILED_JOBS_WINDOW)
        .order_by("kind", "site_id", "-started_at", "-id")
        .distinct("kind", "site_id")
        .select_related("site")
    )
    home = network_site()
    counts = {"opened": 0, "already_open": 0, "resolved": 0, "stuck_runs": stuck}
    for run in latest:
        if run.status != JobRun.Status.FAILED or (run.site or home) is None:
            continue  # succeeded; or no site at all yet to attach the case to
        same = finished.filter(kind=run.kind, site_id=run.site_id)
        last_success = same.filter(status=JobRun.Status.SUCCEEDED).order_by("-started_at", "-id").first()
        failures = same.filter(status=JobRun.Status.FAILED)
        if last_success is not None:
            failures = failures.filter(started_at__gt=last_success.started_at)
        first = failures.order_by("started_at", "id").first() or run
        _, created = open_exception(
            site=run.site or home,
            code="JOB_FAILED",
            subject=first,
            summary=f"Job {run.kind} failed{'' if run.site_id else ' (network-wide)'}: {run.error[:200]}",
            details={
                "kind": run.kind,
                "first_failed_run": first.pk,
                "latest_failed_run": run.pk,
                "failures": failures.count(),
            },
            now=now,
        )
        counts["opened" if created else "already_open"] += 1
    recovered = []
    open_cases = ExceptionCase.objects.filter(
        code__code="JOB_FAILED", content_type=ContentType.objects.get_for_model(JobRun)
    ).exclude(status=RESOLVED)
    for case_pk, run_pk in open_cases.values_list("pk", "object_id"):
        failed = JobRun.objects.filter(pk=run_pk).first()
        last = (
            finished.filter(kind=failed.kind, site_id=failed.site_id).order_by("-started_at", "-id").first()
            if failed is not None
            else None
        )
        if failed is None or (last is not None and last.status == JobRun.Status.SUCCEEDED):
            recovered.append(case_pk)
    counts["resolved"] = resolve_cases(case_ids=recovered, note="The job succeeded again.", now=now)
    return counts


# --- the alert ladder ---------------------------------------------------------------------------------------


def escalation_chain(owner_role: str) -> list[str]:
    """Who a case of ``owner_role`` reaches at each level: its role, the ladder's higher roles, the region."""
    chain = [owner_role]
    if owner_role in LADDER:
        chain += list(LADDER[LADDER.index(owner_role) + 1 :])
    else:
        chain += list(LADDER)
    return [*chain, REGION]


class _Audience:
    """Who holds a level at a site, looked up once per run."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], list] = {}

    def users(self, site: Site, target: str) -> list:
        key = (site.pk, target)
        if key not in self._cache:
            users = get_user_model().objects.filter(is_active=True)
            if target == REGION:
                region_admin = SiteMembership.objects.filter(
                    user=OuterRef("pk"), role=Role.ADMIN, site__region=site.region, site__active=True
                )
                users = users.filter(Q(Exists(region_admin)) | Q(is_superuser=True))
            else:
                users = users.filter(Exists(SiteMembership.objects.filter(user=OuterRef("pk"), site=site, role=target)))
            self._cache[key] = list(users.order_by("pk"))
        return self._cache[key]


def _lock_case(pk: int, **conditions) -> ExceptionCase | None:
    return (
        ExceptionCase.objects.select_for_update(skip_locked=True, of=("self",), no_key=True)
        .select_related("site", "code")
        .filter(pk=pk, **conditions)
        .exclude(status=RESOLVED)
        .first()
    )


def _tell(case: ExceptionCase, users: list, level: int, target: str, now: datetime) -> int:
    what = "New" if level == 0 else f"Escalated to {target} (level {level})"
    return notify(
        users=users,
        event_key=f"exception:{case.pk}:level:{level}",
        title=f"{what}: {case.code.code} {case.subject_label} at {case.site.code}",
        body=f"{case.summary} Due {case.due_at:%Y-%m-%d %H:%M} UTC.".strip(),
        severity=case.severity,
        case=case,
        now=now,
    )


def announce_new_exceptions(*, now: datetime | None = None, audience: _Audience | None = None) -> dict:
    """Tell the owning role of every unresolved case that was not announced yet (level 0)."""
    now = now or timezone.now()
    audience = audience or _Audience()
    counts = {"announced": 0, "notifications": 0}
    announced = EscalationStep.objects.filter(case=OuterRef("pk"), level=0)
    for pk in ExceptionCase.objects.exclude(status=RESOLVED).filter(~Exists(announced)).values_list("pk", flat=True):
        with transaction.atomic():
            case = _lock_case(pk)
            if case is None or EscalationStep.objects.filter(case=case, level=0).exists():
                continue
            users = audience.users(case.site, case.owner_role)
            EscalationStep.objects.create(
                case=case,
                level=0,
                target=case.owner_role,
                happened_at=now,
                due_before=case.due_at,
                due_after=case.due_at,
                recipients=[u.get_username() for u in users],
            )
            counts["announced"] += 1
            counts["notifications"] += _tell(case, users, 0, case.owner_role, now)
    return counts


def escalate_overdue_exceptions(*, now: datetime | None = None, audience: _Audience | None = None) -> dict:
    """Escalate every unresolved case past its due time by one level (skipping levels nobody holds); the next
    due time is one SLA later. Cases at the top of their ladder stay there, overdue."""
    now = now or timezone.now()
    audience = audience or _Audience()
    counts = {"escalated": 0, "at_top": 0, "notifications": 0}
    overdue = ExceptionCase.objects.exclude(status=RESOLVED).filter(due_at__lt=now)
    for pk, owner_role, level in overdue.order_by("due_at", "pk").values_list("pk", "owner_role", "escalation_level"):
        if level >= len(escalation_chain(owner_role)) - 1:
            counts["at_top"] += 1
            continue
        try:
            with transaction.atomic():
                case = _lock_case(pk, due_at__lt=now)
                if case is None:
                    continue  # another worker holds it or escalated it already
                chain = escalation_chain(case.owner_role)
                if case.escalation_level >= len(chain) - 1:
                    continue
                new_level = case.escalation_level + 1
                users = audience.users(case.site, chain[new_level])
                while not users and new_level < len(chain) - 1:
                    new_level += 1
                    users = audience.users(case.site, chain[new_level])
                missed = case.due_at
                case.escalation_level = new_level
                case.due_at = now + timedelta(minutes=case.code.sla_minutes)
                set_history_user(case, None)
                case._change_reason = f"Escalated to level {new_level} ({chain[new_level]})"
                case.save()
                emit_exception("exception.escalated", case)
                EscalationStep.objects.create(
                    case=case,
                    level=new_level,
                    target=chain[new_level],
                    happened_at=now,
                    due_before=missed,
                    due_after=case.due_at,
                    recipients=[u.get_username() for u in users],
                )
                counts["escalated"] += 1
                counts["notifications"] += _tell(case, users, new_level, chain[new_level], now)
        except IntegrityError:  # the step exists: someone escalated this case to that level already
            logger.warning("exception case %s: escalation step already recorded", pk)
    return counts


def process_exception_alerts(*, now: datetime | None = None) -> dict:
    """One alerts run: announce new cases, escalate overdue ones, email what is critical right away."""
    now = now or timezone.now()
    audience = _Audience()
    return {
        "announce": announce_new_exceptions(now=now, audience=audience),
        "escalate": escalate_overdue_exceptions(now=now, audience=audience),
        "critical_emails": send_critical_emails(now=now),
    }
