"""Home, site switcher and the global search."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from governance import permissions

from .. import selectors
from ..workspace import choose_site, site_page


@site_page()
def home(request, *, site):
    """Send people to the page they start their day on."""
    if permissions.can(request.user, "warehouse.plan", site):
        return redirect("web:dashboard")
    if permissions.can(request.user, "orders.manage", site) or not permissions.can(
        request.user, "warehouse.execute", site
    ):
        return redirect("web:order-list")
    return redirect("web:scan-pick")


@require_POST
@site_page()
def switch_site(request, *, site):
    chosen = choose_site(request, request.POST.get("site"))
    messages.info(request, f"Now working at {chosen.code} ({chosen.name}).")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return redirect(target)


@site_page()
def search(request, *, site):
    query = (request.GET.get("q") or "").strip()
    results = selectors.search(user=request.user, query=query) if query else None
    if results and results.single_url:
        return redirect(results.single_url)
    return render(
        request,
        "web/search.html",
        {"query": query, "results": results, "crumbs": [("Search", None)]},
    )
