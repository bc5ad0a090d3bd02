"""Warehouse supervisors: the site dashboard (refreshing itself with htmx polling) and exception handling."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from governance.models import ExceptionCase
from governance.services import acknowledge_exception, assign_exception, resolve_exception
from governance.services.sites import colleagues
from reporting.dashboard import TREND_DAYS, dashboard_tiles

from .. import selectors
from ..workspace import back_url, flash_refusal, site_page
from .control import TO_COUNT

REFRESH_SECONDS = 15


@dataclass(frozen=True)
class QueueTile:
    """A dashboard tile: a count and the list it counts, filtered the same way (clicking it opens the queue)."""

    number: int
    label: str
    url: str
    testid: str = ""
    severity: str = ""


def _url(name: str, **query) -> str:
    return f"{reverse(name)}?{urlencode(query)}" if query else reverse(name)


def queue_tiles(data: dict) -> list[QueueTile]:
    """The tiles of the site dashboard, each linking to the list behind its number."""
    tiles = [
        QueueTile(data["putaway_count"], "Putaway tasks open", _url("web:putaway-list", status="OPEN"), "tile-putaway")
    ]
    for label, n in data["pick_counts"]:
        tiles.append(QueueTile(n, f"Picks {label.lower()} (open waves)", _url("web:wave-list", status="RELEASED")))
    tiles += [
        QueueTile(
            len(data["short_picks"]), "Short picks open", _url("web:exception-list", code="SHORT_PICK"), "tile-short"
        ),
        QueueTile(
            data["count_lines_to_count"],
            "Count lines to count",
            _url("web:count-list", state=TO_COUNT),
            "tile-count-lines",
        ),
        QueueTile(len(data["counts_due"]), "Count requests open", _url("web:count-requests", status="OPEN")),
        QueueTile(len(data["at_risk"]), "Orders at risk", _url("web:exception-list", code="LATE_SHIPMENT_RISK")),
    ]
    for label, value, n in data["severity_counts"]:
        tiles.append(
            QueueTile(n, f"{label} exceptions", _url("web:exception-list", severity=value), f"tile-sev-{value}", value)
        )
    return tiles


@site_page("warehouse.plan")
def dashboard(request, *, site):
    data = selectors.site_dashboard(site=site)
    context = {
        **data,
        "queue_tiles": queue_tiles(data),
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
