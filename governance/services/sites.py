from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import full_clean_or_raise
from governance import permissions
from governance.models import Role, Site, SiteMembership
from governance.signals import site_created

from .history import set_history_user

SITE_FIELDS = ("code", "name", "region", "kind", "timezone", "address", "active")


def site_local_date(site: Site | None, now: datetime | None = None) -> date:
    """The calendar date at ``site`` right now (or at ``now``), by the site's time zone (UTC if it is unknown;
    ``None``, the network as a whole: UTC). Every "today" of a site's work (due dates, shelf life, overdue and
    late checks, count plans, KPI days) is this date, never the server's."""
    return (now or timezone.now()).astimezone(site_zone(site)).date()


def site_zone(site: Site | None) -> ZoneInfo:
    """The site's time zone (UTC when it is unknown or for the network as a whole)."""
    try:
        return ZoneInfo((site.timezone if site is not None else None) or "UTC")
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


@transaction.atomic
def create_site(
    *,
    user,
    code: str,
    name: str,
    region: str,
    kind: str = Site.Kind.DISTRIBUTION_CENTER,
    timezone: str = "UTC",
    address: str = "",
    active: bool = True,
    stage: str = Site.Stage.PLANNED,
) -> Site:
    """Create a site with its virtual locations (enterprise admins only). A new site starts PLANNED (its roll-out:
    ``governance.services.lifecycle``); a site already run elsewhere may be created LIVE."""
    if user is not None:
        permissions.require_enterprise_admin(user)
    site = Site(
        code=code, name=name, region=region, kind=kind, timezone=timezone, address=address, active=active, stage=stage
    )
    full_clean_or_raise(site)
    set_history_user(site, user)
    site.save()
    site_created.send(sender=Site, site=site, user=user)
    return site


@transaction.atomic
def update_site(*, user, site: Site, **changes) -> Site:
    permissions.require_enterprise_admin(user)
    site = Site.objects.select_for_update(no_key=True).get(pk=site.pk)
    for field, value in changes.items():
        if field not in SITE_FIELDS or field == "code":
            raise ValidationFailed(
                f"{field} cannot be changed.",
                errors=[{"field": field, "code": "read_only", "message": "This field cannot be changed."}],
            )
        setattr(site, field, value)
    full_clean_or_raise(site)
    set_history_user(site, user)
    site.save()
    return site


def colleagues(user):
    """Active users who work at a site ``user`` can see (every active user for an enterprise admin): the users
    ``user`` may name, e.g. as an assignee. Anyone else reads like an unknown user (issue 12, finding 5)."""
    users = get_user_model().objects.filter(is_active=True)
    ids = permissions.site_ids_for(user)
    if ids is None:
        return users
    return users.filter(site_memberships__site_id__in=ids).distinct()


def case_assignees(user, site: Site | int):
    """The users ``user`` may make owner of an exception case at ``site``: ``user``'s colleagues with a membership
    at that site (``assign_exception`` refuses anyone who does not work there), by username."""
    site_id = site if isinstance(site, int) else site.pk
    members = SiteMembership.objects.filter(site_id=site_id).values("user_id")
    return colleagues(user).filter(pk__in=members).order_by("username")


def _active_user(username):
    """The active user of that username, or None (also for text that cannot be a username)."""
    if not isinstance(username, str):
        return None
    username = username.strip()
    if not username or "\x00" in username or len(username) > 150:
        return None
    return get_user_model().objects.filter(username=username, is_active=True).first()


@transaction.atomic
def add_membership(*, user, member_username: str, site: Site, role: str) -> SiteMembership:
    """Give the user named ``member_username`` ``role`` at ``site``. The permission check comes first: to anyone
    who may not manage the site's memberships an existing and an unknown username get the same refusal."""
    permissions.require(user, "site.manage", site, what="site")
    if role not in Role.values:
        raise ValidationFailed(
            f"Unknown role {role!r}.",
            errors=[
                {"field": "role", "code": "invalid_choice", "message": f"Role must be one of {', '.join(Role.values)}."}
            ],
        )
    member = _active_user(member_username)  # only now: whether a user exists is told to site managers only
    if member is None:
        raise ValidationFailed(
            f"No active user {member_username!r}.",
            errors=[{"field": "user", "code": "does_not_exist", "message": f"No active user {member_username!r}."}],
        )
    membership = SiteMembership(user=member, site=site, role=role)
    set_history_user(membership, user)
    try:
        with transaction.atomic():
            membership.save()
    except IntegrityError:
        raise StateConflict(f"{member_username} already has role {role} at {site.code}.")
    permissions.forget_cached_roles(member)
    return membership


@transaction.atomic
def remove_membership(*, user, membership: SiteMembership) -> None:
    permissions.require(user, "site.manage", membership.site, what="membership")
    locked = SiteMembership.objects.select_for_update(no_key=True).filter(pk=membership.pk).first()
    if locked is None:
        raise NotFound("No such membership.")
    set_history_user(locked, user)
    locked.delete()
