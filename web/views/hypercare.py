"""The hypercare command centre (issue 13): every site in PILOT or in hypercare that the user can see, side by
side, refreshing itself every minute (htmx polling of the panels, as the site dashboard does). For the roll-out
team: enterprise admins see every such site, anyone else the ones they have a role at; a user with no site at all
gets the no-site page (403). The figures are ``reporting.hypercare``'s (a fixed number of queries)."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from governance.services.rollout import wave_progress, waves_for
from reporting.hypercare import FLOW_DAYS, VALUE_DAYS, command_centre

from ..workspace import site_page

REFRESH_SECONDS = 60


@site_page()
def command_centre_page(request, *, site):
    context = {
        "boards": command_centre(request.user),
        "waves": wave_progress(waves_for(request.user)),
        "refreshed_at": timezone.now(),
        "refresh_seconds": REFRESH_SECONDS,
        "flow_days": FLOW_DAYS,
        "value_days": VALUE_DAYS,
        "crumbs": [("Hypercare command centre", None)],
    }
    template = "web/hypercare/_panels.html" if request.headers.get("HX-Request") else "web/hypercare/page.html"
    return render(request, template, context)
