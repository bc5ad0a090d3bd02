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
from reporting.dashboard import TREND_DAYS, dashboard_tiles

from .. import selectors
from ..bulk import form_refused
from ..exception_forms import NOTE_MAX, ExceptionActionForm
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
    """The tiles of the site dashboard, each linking to the list behind its number, in the order a supervisor acts
    on them: exceptions past their SLA and by severity (most severe first), then the floor's queues (picks,
    putaway, refills, counts)."""
    tiles = [
        QueueTile(
            data["overdue_count"],
            "Exceptions past their SLA",
            _url("web:exception-list", overdue="yes"),
            "tile-overdue",
            "CRITICAL" if data["overdue_count"] else "",
        )
    ]
    for label, value, n in reversed(data["severity_counts"]):
        url = _url("web:exception-list", severity=value)
        tiles.append(QueueTile(n, f"{label} exceptions", url, f"tile-sev-{value}", value if n else ""))
    tiles += [
        QueueTile(
            data["short_pick_count"], "Short picks open", _url("web:exception-list", code="SHORT_PICK"), "tile-short"
        ),
        QueueTile(
            data["at_risk_count"], "Orders at risk", _url("web:exception-list", code="LATE_SHIPMENT_RISK"), "tile-risk"
        ),
        QueueTile(
            data["open_pick_count"], "Picks open (open waves)", _url("web:wave-list", status="RELEASED"), "tile-picks"
        ),
        QueueTile(data["putaway_count"], "Putaway tasks open", _url("web:putaway-list", status="OPEN"), "tile-putaway"),
        QueueTile(
            data["replenishment_count"],
            "Refills open",
            _url("web:replenishment-tasks", status="OPEN"),
            "tile-refills",
        ),
        QueueTile(
            data["count_lines_to_count"],
            "Count lines to count",
            _url("web:count-list", state=TO_COUNT),
            "tile-count-lines",
        ),
        QueueTile(
            data["count_request_count"],
            "Count requests open",
            _url("web:count-requests", status="OPEN"),
            "tile-count-requests",
        ),
    ]
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
        "note_max": NOTE_MAX,
        "crumbs": [("Site dashboard", None)],
    }
    template = "web/dashboard/_panels.html" if request.headers.get("HX-Request") else "web/dashboard/page.html"
    return render(request, template, context)


EXCEPTION_ACTIONS = ("acknowledge", "resolve", "assign")


@require_POST
@site_page()
def exception_action(request, pk, action, *, site):
    """Acknowledge, resolve or assign one exception (a form: a bounded note, an assignee who may own the case at its
    site), through its governance service. A refused form or service changes nothing and says why on the page the
    action came from."""
    case = ExceptionCase.objects.select_related("site", "code").filter(pk=pk).first()
    if case is None or not permissions.can_see_site(request.user, case.site_id):
        raise Http404("No such exception.")
    if action not in EXCEPTION_ACTIONS:
        raise Http404("No such action.")
    back = back_url(request, "web:dashboard")
    form = ExceptionActionForm(request.POST, case=case, user=request.user)
    if not form.is_valid():
        form_refused(request, form)
        return redirect(back)
    note = form.cleaned_data["note"]
    try:
        if action == "acknowledge":
            acknowledge_exception(case=case, user=request.user, note=note)
            done = "acknowledged"
        elif action == "resolve":
            resolve_exception(case=case, user=request.user, note=note)
            done = "resolved"
        else:
            assignee = form.cleaned_data["assignee"]
            assign_exception(case=case, user=request.user, assignee=assignee)
            done = f"assigned to {assignee}" if assignee else "unassigned"
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"{case.code.name} on {case.subject_label} {done}.")
    return redirect(back)
