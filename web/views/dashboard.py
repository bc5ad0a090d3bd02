"""Warehouse supervisors: the site dashboard (refreshing itself with htmx polling) and exception handling."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from governance.models import ExceptionCase
from governance.services import acknowledge_exception, assign_exception, resolve_exception
from governance.services.sites import colleagues
from reporting.dashboard import TREND_DAYS, dashboard_tiles

from .. import selectors
from ..workspace import back_url, flash_refusal, site_page

REFRESH_SECONDS = 15


@site_page("warehouse.plan")
def dashboard(request, *, site):
    context = {
        **selectors.site_dashboard(site=site),
        "kpi_tiles": dashboard_tiles(site),
        "kpi_trend_days": TREND_DAYS,
        "refresh_seconds": REFRESH_SECONDS,
        "can_handle": permissions.can(request.user, "exception.handle", site),
        "crumbs": [("Site dashboard", None)],
    }
    template = "web/dashboard/_panels.html" if request.headers.get("HX-Request") else "web/dashboard/page.html"
    return render(request, template, context)


@require_POST
@site_page()
def exception_action(request, pk, action, *, site):
    case = ExceptionCase.objects.filter(pk=pk).first()
    if case is None or not permissions.can_see_site(request.user, case.site_id):
        raise Http404("No such exception.")
    try:
        if action == "acknowledge":
            acknowledge_exception(case=case, user=request.user, note=request.POST.get("note", ""))
            done = "acknowledged"
        elif action == "resolve":
            resolve_exception(case=case, user=request.user, note=request.POST.get("note", ""))
            done = "resolved"
        elif action == "assign":
            assignee = None
            if request.POST.get("assignee"):
                wanted = request.POST["assignee"]
                # only colleagues: any other user id reads like an unknown one (issue 12, finding 5)
                users = colleagues(request.user)
                number = wanted.isascii() and wanted.isdigit() and len(wanted) <= 18  # "²" is a digit int() refuses
                assignee = users.filter(pk=int(wanted)).first() if number else None
                if assignee is None:
                    raise Http404("No such user.")
            assign_exception(case=case, user=request.user, assignee=assignee)
            done = f"assigned to {assignee}" if assignee else "unassigned"
        else:
            raise Http404("No such action.")
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"Exception {case.code.code} on {case.subject_label} {done}.")
    return redirect(back_url(request, "web:dashboard"))
