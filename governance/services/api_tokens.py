"""API tokens: the one writer of ``ApiToken`` rows besides the authentication's last-used stamp (issue 12,
finding 7). A token's key is shown once, by whoever asked for it; only its SHA-256 digest is stored.

Who may manage whose tokens:

- everybody their own (list, create, revoke);
- an admin of a site: list and revoke the tokens of every user with a role at that site; create a token for such
  a user only when the admin is admin at *every* site where that user has a role (the key acts at all of them)
  and the user is no enterprise admin;
- an enterprise admin: anyone's.

A user whose tokens the actor may not manage reads like an unknown one (404); one the actor may list but not
make a key for is a 403.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core.api import scopes as token_scopes
from core.errors import NotFound, PermissionDenied, StateConflict
from core.validation import field_error
from governance import permissions
from governance.models import ApiToken, SiteMembership

NAME_MAX = ApiToken._meta.get_field("name").max_length


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    key = secrets.token_urlsafe(32)
    while key.startswith("-"):  # a leading dash would read as an option on the command line (revoke_api_token)
        key = secrets.token_urlsafe(32)
    return key


def checked_scopes(value) -> list[str]:
    try:
        return token_scopes.parse_scopes(value if value is not None else [])
    except ValueError as exc:
        raise field_error("scopes", str(exc), "invalid_scope") from None


def expiry_for(days, *, now=None):
    """The expiry of a token made now that lives ``days`` days (None: API_TOKEN_DEFAULT_DAYS, 0 there: never);
    a number of days below 1 or above API_TOKEN_MAX_DAYS is refused."""
    now = now or timezone.now()
    if days is None:
        default = int(getattr(settings, "API_TOKEN_DEFAULT_DAYS", 90))
        return now + timedelta(days=default) if default > 0 else None
    if isinstance(days, bool) or not isinstance(days, int):
        raise field_error("days", "Give the token's lifetime as a whole number of days.", "not_integer")
    longest = int(getattr(settings, "API_TOKEN_MAX_DAYS", 365))
    if days < 1 or (longest > 0 and days > longest):
        limit = f"1 to {longest}" if longest > 0 else "at least 1"
        raise field_error("days", f"A token lives {limit} days.", "out_of_range")
    return now + timedelta(days=days)


def create_token(*, user, name: str = "", scopes=None, expires_at=None, created_by=None) -> tuple[ApiToken, str]:
    """Make a token for ``user`` without a permission check (management commands, tests, ``generate_token``):
    returns (row, key). ``scopes`` None: every scope (as tokens made before scopes had)."""
    key = new_key()
    fields = {}
    if scopes is not None:
        fields["scopes"] = checked_scopes(scopes)
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        raise field_error("name", f"At most {NAME_MAX} characters.", "max_length")
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:8],
        digest=digest_of(key),
        expires_at=expires_at,
        created_by=created_by,
        **fields,
    )
    return token, key


# --- who may manage whose tokens ---------------------------------------------------------------------------


def _active(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def managed_users(actor) -> QuerySet:
    """Users whose tokens ``actor`` may list and revoke (themselves included)."""
    users = get_user_model().objects.all()
    if not _active(actor):
        return users.none()
    if permissions.is_enterprise_admin(actor):
        return users
    admin_sites = permissions.site_ids_for(actor, "site.manage") or set()
    member_ids = SiteMembership.objects.filter(site_id__in=admin_sites).values("user_id")
    return users.filter(pk__in=member_ids) | users.filter(pk=actor.pk)


def may_manage(actor, owner) -> bool:
    return _active(actor) and managed_users(actor).filter(pk=owner.pk).exists()


def may_issue_for(actor, owner) -> bool:
    """May ``actor`` make a key that acts as ``owner``? Never one that reaches further than the actor's say."""
    if not (_active(actor) and owner is not None and owner.is_active):
        return False
    if owner.pk == actor.pk or permissions.is_enterprise_admin(actor):
        return True
    if owner.is_superuser:
        return False
    admin_sites = permissions.site_ids_for(actor, "site.manage") or set()
    owner_sites = set(SiteMembership.objects.filter(user=owner).values_list("site_id", flat=True))
    return bool(owner_sites) and owner_sites <= admin_sites


def issuable_owners(actor) -> list:
    """The users ``actor`` may make a key for, the actor first."""
    owners = [u for u in managed_users(actor).filter(is_active=True).order_by("username") if may_issue_for(actor, u)]
    owners.sort(key=lambda u: (u.pk != actor.pk, u.username))
    return owners


def visible_tokens(actor) -> QuerySet:
    return ApiToken.objects.filter(user__in=managed_users(actor)).select_related("user", "created_by", "revoked_by")


# --- writes ----------------------------------------------------------------------------------------------------


def issue_token(*, actor, owner, name: str = "", scopes, days=None) -> tuple[ApiToken, str]:
    """``actor`` makes a token for ``owner`` with ``scopes`` that expires after ``days`` (default
    API_TOKEN_DEFAULT_DAYS); returns (row, key): show the key once."""
    if owner is None or not may_manage(actor, owner):
        raise NotFound("No such user.")
    if not may_issue_for(actor, owner):
        raise PermissionDenied(
            "You may make a key for this user only when you are admin at every site where they have a role "
            "(and they are no enterprise admin); you may still revoke their tokens."
        )
    chosen = checked_scopes(scopes)
    expires_at = expiry_for(days)
    return create_token(user=owner, name=name, scopes=chosen, expires_at=expires_at, created_by=actor)


def revoke_token(*, actor, token: ApiToken, revoked_by=None) -> ApiToken:
    """Revoke ``token`` now (it is refused from the next request on); 404 for a token the actor may not manage.
    ``actor`` None: the operator at the server's shell (``manage.py revoke_api_token``), who may revoke any token;
    ``revoked_by`` then stays empty unless the command names the person (``revoked_by``)."""
    if token is None or (actor is not None and not may_manage(actor, token.user)):
        raise NotFound("No such token.")
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update(no_key=True).get(pk=token.pk)
        if locked.revoked_at is not None:
            raise StateConflict("This token is already revoked.")
        locked.revoked_at = timezone.now()
        if actor is not None and getattr(actor, "is_authenticated", False):
            revoked_by = actor
        locked.revoked_by = revoked_by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked
