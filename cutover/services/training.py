"""Training and certification records (the readiness scorecard's "users trained"): recorded by the site's admins
(its cutover lead) or an enterprise admin, for a user who works at the site."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from core.errors import StateConflict, ValidationFailed
from governance import permissions
from governance.models import Site, SiteMembership
from governance.services.history import set_history_user

from ..models import TrainingRecord

ACTION = "site.manage"


def _invalid(field: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[{"field": field, "code": code, "message": message}])


@transaction.atomic
def record_training(
    *,
    user,
    site: Site,
    trainee,
    process: str,
    certified_on: date | None = None,
    valid_until: date | None = None,
    trainer: str = "",
    note: str = "",
) -> TrainingRecord:
    """Record that ``trainee`` (a user, or a username) is certified for ``process`` at ``site`` from
    ``certified_on`` (today at the site unless given) up to ``valid_until`` (empty: does not expire). A new record
    for the same process adds to the trainee's history; the scorecard counts any valid one."""
    permissions.require(user, ACTION, site, what="site")
    if process not in TrainingRecord.Process.values:
        raise _invalid("process", "invalid_choice", f"One of {', '.join(TrainingRecord.Process.values)}.")
    # a username is looked up only now, after the permission check, and only among the site's people: whether a
    # user exists elsewhere is not told
    members = SiteMembership.objects.filter(site=site).select_related("user")
    member = (
        members.filter(user__username=trainee).first()
        if isinstance(trainee, str)
        else (members.filter(user=trainee).first() if trainee is not None else None)
    )
    if member is None:
        raise _invalid("user", "not_at_site", f"{trainee} has no role at {site.code}; give them one first.")
    trainee = member.user
    from governance.services.sites import site_local_date

    certified_on = certified_on or site_local_date(site)
    if valid_until is not None and valid_until < certified_on:
        raise _invalid("valid_until", "before_certified", "A certification cannot expire before it is given.")
    record = TrainingRecord(
        user=trainee,
        site=site,
        process=process,
        certified_on=certified_on,
        valid_until=valid_until,
        trainer=(trainer or "")[:120],
        note=(note or "")[:300],
        recorded_by=user,
    )
    record.full_clean()
    set_history_user(record, user)
    record.save()
    return record


@transaction.atomic
def revoke_training(*, user, record: TrainingRecord, note: str = "") -> TrainingRecord:
    """Withdraw a certification (it stops counting at once); the record stays, with who and when."""
    permissions.require(user, ACTION, record.site_id, what="training record")
    locked = TrainingRecord.objects.select_for_update(no_key=True).get(pk=record.pk)
    if locked.revoked_at is not None:
        raise StateConflict("This certification is already revoked.")
    locked.revoked_at = timezone.now()
    if note:
        locked.note = note[:300]
    set_history_user(locked, user)
    locked.save(update_fields=["revoked_at", "note"])
    return locked
