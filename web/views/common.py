"""Home, site switcher and the global search."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from governance import permissions

from .. import selectors
from ..decisions import SiteSwitchForm
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
    form = SiteSwitchForm(request.POST, host=request.get_host())
    if not form.is_valid():
        raise Http404("No such site.")  # as a site the user cannot see: never says whether it exists
    chosen = choose_site(request, form.cleaned_data["site"])
    messages.info(request, f"Now working at {chosen.code} ({chosen.name}).")
    return redirect(form.cleaned_data["next"])


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
