from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.models import ExceptionCase, ExceptionCode, Site

from .history import set_history_user


def open_exception(
    *,
    site: Site,
    code: str,
    subject,
    summary: str = "",
    details: dict | None = None,
    user=None,
    now: datetime | None = None,
) -> tuple[ExceptionCase, bool]:
    """Open an exception case for ``subject`` unless one with this code is already open; returns (case, created).

    Safe under concurrency: the partial unique constraint admits one unresolved
    case per subject and code, and the loser of a race gets the winner's case.
    """
    code_row = ExceptionCode.objects.filter(code=code).first()
    if code_row is None:
        from governance.catalog import ensure_exception_codes

        ensure_exception_codes()  # a catalog code not seeded yet (e.g. after a test flush)
        code_row = ExceptionCode.objects.filter(code=code).first()
    if code_row is None:
        raise ValidationFailed(f"Unknown exception code {code!r}.")
    content_type = ContentType.objects.get_for_model(subject)
    existing = (
        ExceptionCase.objects.filter(content_type=content_type, object_id=subject.pk, code=code_row)
        .exclude(status=ExceptionCase.Status.RESOLVED)
        .first()
    )
    if existing:
        return existing, False
    now = now or timezone.now()
    case = ExceptionCase(
        site=site,
        code=code_row,
        content_type=content_type,
        object_id=subject.pk,
        subject_label=str(subject)[:200],
        summary=summary[:300],
        details=details or {},
        severity=code_row.severity,
        owner_role=code_row.owner_role,
        opened_at=now,
        due_at=now + timedelta(minutes=code_row.sla_minutes),
    )
    set_history_user(case, user)
    from governance.events import emit_exception

    try:
        with transaction.atomic():
            case.save()
            emit_exception("exception.opened", case)  # in the opening transaction
    except IntegrityError:
        existing = (
            ExceptionCase.objects.filter(content_type=content_type, object_id=subject.pk, code=code_row)
            .exclude(status=ExceptionCase.Status.RESOLVED)
            .first()
        )
        if existing is None:
            raise
        return existing, False
    return case, True


ACKNOWLEDGE, RESOLVE, ASSIGN = "acknowledge", "resolve", "assign"
#: what a case's status allows (the services' guards below and ``allowed_actions``)
_BY_STATUS = {
    ExceptionCase.Status.OPEN: frozenset({ACKNOWLEDGE, RESOLVE, ASSIGN}),
    ExceptionCase.Status.ACKNOWLEDGED: frozenset({RESOLVE, ASSIGN}),
    ExceptionCase.Status.RESOLVED: frozenset(),
}


def exception_actions(case: ExceptionCase, user) -> frozenset[str]:
    """``allowed_actions`` of an exception case: by its status, for a user who may handle exceptions at its site."""
    if not permissions.can(user, "exception.handle", case.site_id):
        return frozenset()
    return _BY_STATUS.get(case.status, frozenset())


def _lock_case(case: ExceptionCase, user) -> ExceptionCase:
    locked = ExceptionCase.objects.select_for_update(no_key=True).filter(pk=case.pk).first()
    if locked is None or not permissions.can_see_site(user, locked.site_id):
        raise NotFound("No such exception.")
    permissions.require(user, "exception.handle", locked.site_id, what="exception")
    return locked


@transaction.atomic
def acknowledge_exception(*, case: ExceptionCase, user, note: str = "") -> ExceptionCase:
    locked = _lock_case(case, user)
    if ACKNOWLEDGE not in _BY_STATUS[locked.status]:
        raise StateConflict(f"This exception is already {locked.get_status_display().lower()}.")
    locked.status = ExceptionCase.Status.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = user
    if locked.assignee_id is None:
        locked.assignee = user
    if note:
        locked.details = {**locked.details, "acknowledge_note": note}
    set_history_user(locked, user)
    locked.save()
    return locked


@transaction.atomic
def resolve_exception(*, case: ExceptionCase, user, note: str) -> ExceptionCase:
    if not (note or "").strip():
        raise field_error("resolution_note", "Say how the exception was resolved.", "required")
    locked = _lock_case(case, user)
    if RESOLVE not in _BY_STATUS[locked.status]:
        raise StateConflict("This exception is already resolved.")
    now = timezone.now()
    locked.status = ExceptionCase.Status.RESOLVED
    locked.resolved_at = now
    locked.resolved_by = user
    locked.acknowledged_at = locked.acknowledged_at or now
    locked.resolution_note = note.strip()
    set_history_user(locked, user)
    locked.save()
    return locked


@transaction.atomic
def assign_exception(*, case: ExceptionCase, user, assignee) -> ExceptionCase:
    locked = _lock_case(case, user)
    if ASSIGN not in _BY_STATUS[locked.status]:
        raise StateConflict("A resolved exception cannot be reassigned.")
    if assignee is not None and not permissions.can_see_site(assignee, locked.site_id):
        raise field_error("assignee", f"{assignee} does not work at this site.", "not_member")
    locked.assignee = assignee
    set_history_user(locked, user)
    locked.save()
    return locked


def resolve_exceptions_for_subject(*, subject, code: str, note: str, user=None) -> int:
    """System close: resolve the open case of ``code`` for ``subject`` (e.g. the condition cleared)."""
    content_type = ContentType.objects.get_for_model(subject)
    count = 0
    with transaction.atomic():
        for case in (
            ExceptionCase.objects.select_for_update(of=("self",), no_key=True)
            .filter(content_type=content_type, object_id=subject.pk, code__code=code)
            .exclude(status=ExceptionCase.Status.RESOLVED)
        ):
            now = timezone.now()
            case.status = ExceptionCase.Status.RESOLVED
            case.resolved_at = now
            case.acknowledged_at = case.acknowledged_at or now
            case.resolution_note = note
            set_history_user(case, user)
            case.save()
            count += 1
    return count
