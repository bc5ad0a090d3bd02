"""Template context for every page: the current site, the sites to switch to, the menu for the user's roles and
the unread notifications badge."""

from __future__ import annotations

from functools import cache

from governance import permissions
from governance.services.notifications import unread_notification_count

from .workspace import current_site, menu_for


def workspace(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not request.resolver_match:
        return {}
    if request.resolver_match.namespace != "web":
        return {}
    site = current_site(request)
    sections: dict[str, list] = {}
    for entry in menu_for(user, site):
        sections.setdefault(entry.section, []).append(entry)
    return {
        # a callable, so the COUNT runs once and only when a page draws the menu badge (not for htmx fragments)
        "unread_notifications": cache(lambda: unread_notification_count(user)),
        "current_site": site,
        "switchable_sites": list(permissions.visible_sites(user).filter(active=True).order_by("code")),
        "menu_sections": sections,
        "site_roles": sorted(permissions.roles_at(user, site)) if site else [],
    }
