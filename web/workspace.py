"""The frame every page works in: the current site (kept in the session, always one the user may see), the
menu for the user's roles there, the page decorator, and turning a DomainError into messages the form shows.

No business rule lives here: visibility and permissions come from ``governance.permissions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from core.errors import DomainError
from governance import permissions
from governance.models import Site

SESSION_KEY = "web.site_id"


def current_site(request) -> Site | None:
    """The site the user works at: the one chosen in the session when still visible, else their first site."""
    if hasattr(request, "_web_site"):
        return request._web_site
    user = request.user
    site = None
    if user.is_authenticated:
        sites = permissions.visible_sites(user).filter(active=True).order_by("code")
        wanted = request.session.get(SESSION_KEY)
        if wanted is not None:
            site = sites.filter(pk=wanted).first()
        if site is None:
            site = sites.first()
            if site is not None:
                request.session[SESSION_KEY] = site.pk
    request._web_site = site
    return site


def choose_site(request, site_id) -> Site:
    """Switch the current site; a site the user cannot see is a 404 (never confirms it exists)."""
    try:
        site = permissions.visible_sites(request.user).filter(active=True).get(pk=int(site_id))
    except (Site.DoesNotExist, TypeError, ValueError):
        raise Http404("No such site.")
    request.session[SESSION_KEY] = site.pk
    request._web_site = site
    return site


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url_name: str
    action: str  # permissions action needed at the current site
    section: str


MENU: tuple[MenuEntry, ...] = (
    MenuEntry("Orders", "web:order-list", "view", "orders"),
    MenuEntry("New order", "web:order-new", "orders.manage", "orders"),
    MenuEntry("Site dashboard", "web:dashboard", "warehouse.plan", "warehouse"),
    MenuEntry("KPIs", "web:kpi-site", "view", "warehouse"),
    MenuEntry("Hypercare", "web:hypercare", "view", "warehouse"),
    MenuEntry("Waves", "web:wave-list", "warehouse.plan", "warehouse"),
    MenuEntry("Shipments", "web:shipment-list", "warehouse.plan", "warehouse"),
    MenuEntry("Transfers", "web:transfer-list", "replenishment.plan", "warehouse"),
    MenuEntry("Exceptions", "web:exception-list", "exception.handle", "warehouse"),
    MenuEntry("Move stock", "web:move", "inventory.move", "warehouse"),
    MenuEntry("Hold / release", "web:holds", "inventory.hold", "warehouse"),
    MenuEntry("Lot recall", "web:recall", "inventory.hold", "warehouse"),
    MenuEntry("Scan: pick", "web:scan-pick", "warehouse.execute", "scan"),
    MenuEntry("Scan: putaway", "web:scan-putaway", "warehouse.execute", "scan"),
    MenuEntry("Scan: count", "web:scan-count", "inventory.count", "scan"),
    MenuEntry("Scan: receive", "web:scan-receive", "inventory.receive", "scan"),
    MenuEntry("Scan: move", "web:scan-move", "inventory.move", "scan"),
    MenuEntry("Scan: refill", "web:scan-refill", "warehouse.execute", "scan"),
    MenuEntry("Purchase orders", "web:po-list", "view", "inbound"),
    MenuEntry("Receipts", "web:receipt-list", "warehouse.plan", "inbound"),
    MenuEntry("Putaway tasks", "web:putaway-list", "warehouse.plan", "inbound"),
    MenuEntry("Returns", "web:return-list", "view", "inbound"),
    MenuEntry("Approvals", "web:approval-list", "approval.decide", "control"),
    MenuEntry("Counts", "web:count-list", "inventory.plan_counts", "control"),
    MenuEntry("Adjustments", "web:adjustments", "view", "control"),
    MenuEntry("Replenishment tasks", "web:replenishment-tasks", "warehouse.plan", "control"),
    MenuEntry("Suggestions", "web:suggestion-list", "replenishment.plan", "control"),
    MenuEntry("Job runs", "web:job-list", "replenishment.plan", "control"),
    MenuEntry("Going live", "web:site-readiness", "site.manage", "control"),
    MenuEntry("Cutover imports", "web:import-list", "site.manage", "control"),
    MenuEntry("Notifications", "web:notification-list", "view", "me"),
    MenuEntry("API tokens", "web:token-list", "view", "me"),
)


def menu_for(user, site: Site | None) -> list[MenuEntry]:
    if site is None:
        return []
    return [entry for entry in MENU if permissions.can(user, entry.action, site)]


def site_page(action: str = "view") -> Callable:
    """Decorator for pages that work at the current site: anonymous users go to the login page, a user with no
    site sees a page saying so (403), a user whose role at the site lacks ``action`` gets a 403 page. The view
    receives ``site`` as a keyword argument."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            site = current_site(request)
            if site is None:
                from django.shortcuts import render

                return render(request, "web/no_site.html", status=403)
            if not permissions.can(request.user, action, site):
                from django.shortcuts import render

                needed = ", ".join(sorted(permissions.allowed_roles(action)))
                return render(
                    request,
                    "web/forbidden.html",
                    {"message": f"Your role at {site.code} does not allow this page; needs one of: {needed}."},
                    status=403,
                )
            return view(request, *args, site=site, **kwargs)

        return wrapper

    return decorator


def field_errors(exc: DomainError) -> dict[str, list[str]]:
    """field -> messages, from a DomainError's ``errors`` (or its ``field``); '' holds errors without a field."""
    out: dict[str, list[str]] = {}
    rows = list(exc.errors or [])
    if not rows:
        rows = [{"field": exc.field or "", "message": exc.message}]
    for row in rows:
        out.setdefault(row.get("field") or "", []).append(row.get("message") or exc.message)
    return out


def flash_refusal(request, exc: DomainError) -> None:
    """A service's refusal as one flash message: its message, field by field when it names several fields."""
    from django.contrib import messages

    from .display import field_path_label

    details = [
        f"{field_path_label(field)}: {' '.join(msgs)}" if field else " ".join(msgs)
        for field, msgs in field_errors(exc).items()
    ]
    text = exc.message if len(details) <= 1 else f"{exc.message} — " + "; ".join(details)
    messages.error(request, text)


def back_url(request, default: str) -> str:
    """Where to go after a POST: the form's ``back`` when it is a local URL, else ``default``."""
    from django.shortcuts import resolve_url
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("back") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return resolve_url(default)
