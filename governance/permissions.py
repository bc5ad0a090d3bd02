"""The one place that decides what a user may see and do.

A user acts at sites through ``SiteMembership(user, site, role)``. Superusers
are enterprise admins and see every site. Everyone else sees only the sites
they belong to, and may perform an action at a site only when one of their
roles there allows it (``ACTION_ROLES``). Objects of a site the user cannot
see are reported as not found (404), never as forbidden (403).

Used by the API (querysets and permission checks), admin and pages, and
re-checked by services inside their transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from core.errors import NotFound, PermissionDenied

from .models import Role, Site, SiteMembership

ALL_ROLES = frozenset(Role.values)
R = Role

ACTION_ROLES: dict[str, frozenset[str]] = {
    "view": ALL_ROLES,
    "site.manage": frozenset({R.ADMIN}),
    "location.manage": frozenset({R.ADMIN, R.SUPERVISOR}),
    "inventory.receive": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.INTEGRATOR}),
    "inventory.move": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.INTEGRATOR}),
    "inventory.change_status": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR}),
    # putting stock on hold at will, releasing it, recalling a lot (inventory.services.holds)
    "inventory.hold": frozenset({R.ADMIN, R.SUPERVISOR}),
    "inventory.adjust": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.INTEGRATOR}),
    "inventory.reserve": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.COORDINATOR, R.INTEGRATOR}),
    "inventory.count": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.INTEGRATOR}),
    "inventory.plan_counts": frozenset({R.ADMIN, R.SUPERVISOR}),
    "returns.manage": frozenset({R.ADMIN, R.COORDINATOR, R.SUPERVISOR, R.INTEGRATOR}),
    "approval.decide": frozenset({R.ADMIN, R.SUPERVISOR}),
    "exception.handle": frozenset({R.ADMIN, R.SUPERVISOR, R.COORDINATOR, R.PLANNER}),
    "orders.manage": frozenset({R.ADMIN, R.COORDINATOR, R.INTEGRATOR}),
    "orders.release_hold": frozenset({R.ADMIN, R.SUPERVISOR}),
    "purchasing.manage": frozenset({R.ADMIN, R.PLANNER, R.SUPERVISOR, R.INTEGRATOR}),
    "warehouse.execute": frozenset({R.ADMIN, R.SUPERVISOR, R.OPERATOR, R.INTEGRATOR}),
    "warehouse.plan": frozenset({R.ADMIN, R.SUPERVISOR}),
    "replenishment.plan": frozenset({R.ADMIN, R.PLANNER, R.SUPERVISOR}),
    # a customer's credit fields (limit, overdue flag, terms, home site): at the customer's home site
    "customers.credit": frozenset({R.ADMIN, R.CREDIT}),
}

#: Roles that may maintain enterprise master data (items, customers, suppliers) at any of their sites.
MASTER_DATA_ROLES = frozenset({R.ADMIN, R.PLANNER})


def is_enterprise_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def _memberships(user) -> dict[int, set[str]]:
    """site id -> roles, cached on the user object for the length of a request or service call."""
    if not (user and user.is_authenticated and user.is_active):
        return {}  # an inactive or anonymous user holds no role anywhere
    cache = getattr(user, "_site_roles_cache", None)
    if cache is None:
        cache = {}
        for site_id, role in SiteMembership.objects.filter(user=user, site__active=True).values_list("site_id", "role"):
            cache.setdefault(site_id, set()).add(role)
        try:
            user._site_roles_cache = cache
        except AttributeError:  # pragma: no cover - exotic user objects
            pass
    return cache


def forget_cached_roles(user) -> None:
    if hasattr(user, "_site_roles_cache"):
        del user._site_roles_cache


def allowed_roles(action: str) -> frozenset[str]:
    try:
        return ACTION_ROLES[action]
    except KeyError:  # pragma: no cover - a programming error
        raise ValueError(f"unknown action {action!r}")


def site_ids_for(user, action: str = "view") -> set[int] | None:
    """Site ids where ``user`` may perform ``action``; ``None`` means every site."""
    if not (user and user.is_authenticated and user.is_active):
        return set()
    if is_enterprise_admin(user):
        return None
    roles = allowed_roles(action)
    return {site_id for site_id, have in _memberships(user).items() if have & roles}


def roles_at(user, site: Site | int) -> set[str]:
    site_id = site if isinstance(site, int) else site.pk
    if is_enterprise_admin(user):
        return set(ALL_ROLES)
    return set(_memberships(user).get(site_id, set()))


def can(user, action: str, site: Site | int) -> bool:
    ids = site_ids_for(user, action)
    site_id = site if isinstance(site, int) else site.pk
    return ids is None or site_id in ids


def can_see_site(user, site: Site | int) -> bool:
    return can(user, "view", site)


def require(user, action: str, site: Site | int, *, what: str = "object") -> None:
    """Raise NotFound when the user cannot see the site at all, PermissionDenied when the role is missing."""
    if not can_see_site(user, site):
        raise NotFound(f"No such {what}.")
    if not can(user, action, site):
        needed = ", ".join(sorted(allowed_roles(action)))
        raise PermissionDenied(f"Your role at this site does not allow this ({action}); needs one of: {needed}.")


def restrict(queryset: QuerySet, user, action: str = "view", site_field: str = "site") -> QuerySet:
    """Limit ``queryset`` to rows of sites where the user may perform ``action``."""
    ids = site_ids_for(user, action)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{site_field}__in": ids})


def visible_sites(user, action: str = "view") -> QuerySet:
    ids = site_ids_for(user, action)
    qs = Site.objects.all()
    return qs if ids is None else qs.filter(pk__in=ids)


#: roles that see network-wide figures (KPIs of the whole network): admins of a site act for their region
NETWORK_ROLES = frozenset({R.ADMIN})


def can_see_network(user) -> bool:
    """Network-wide figures (every site together): enterprise admins and users who are admin at a site."""
    if is_enterprise_admin(user):
        return True
    return any(roles & NETWORK_ROLES for roles in _memberships(user).values())


def can_manage_master_data(user) -> bool:
    if is_enterprise_admin(user):
        return True
    return any(roles & MASTER_DATA_ROLES for roles in _memberships(user).values()) if user.is_authenticated else False


def require_master_data(user) -> None:
    if not can_manage_master_data(user):
        raise PermissionDenied("Only admins and planners maintain master data.")


def require_enterprise_admin(user) -> None:
    if not is_enterprise_admin(user):
        raise PermissionDenied("Only enterprise admins may do this.")


def sites_with_any_role(user, roles: Iterable[str]) -> set[int] | None:
    if is_enterprise_admin(user):
        return None
    wanted = set(roles)
    return {site_id for site_id, have in _memberships(user).items() if have & wanted}
