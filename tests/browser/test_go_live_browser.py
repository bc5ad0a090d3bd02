"""A site passing its gates and going live, in a real Chromium: the cutover lead steps the site from CUTOVER to
PILOT on its readiness page and asks to go live; an enterprise admin sees the scorecard (no red), decides go, and
the site is LIVE with the step recorded."""

from __future__ import annotations

import pytest

from cutover.models import GoLiveRequest
from governance.models import Site
from governance.services.lifecycle import change_stage
from tests.cutover.readiness_helpers import ready_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_site_passes_its_gates_and_goes_live(open_page, log_in, make_user):
    ready = ready_site()  # data loaded in PILOT, then back in CUTOVER for the final freeze
    boss = make_user([], superuser=True, username="go-live-boss")
    change_stage(user=boss, site=ready.site, to_stage=Site.Stage.CUTOVER, note="final freeze")

    lead = open_page()
    log_in(lead, ready.lead.username)
    lead.goto("/site/readiness/")
    lead.wait_for_selector("[data-testid=scorecard]")
    assert lead.inner_text("[data-testid=site-stage]") == "Cutover (stock frozen)"
    assert lead.locator("[data-testid=scorecard] .rd-RED").count() == 0
    # the status colours apply (the page's style carries the CSP nonce)
    green = "getComputedStyle(document.querySelector('[data-testid=scorecard] .rd-GREEN')).backgroundColor"
    assert lead.evaluate(green) == "rgb(226, 244, 232)"
    lead.shot("cutover-scorecard")
    lead.select_option("[data-testid=stage-form] select[name=stage]", "PILOT")
    lead.fill("[data-testid=stage-form] input[name=note]", "freeze lifted, pilot starts")
    lead.click("[data-testid=stage-form] button[type=submit]")
    lead.wait_for_selector("text=DC7 moved CUTOVER → PILOT.")
    assert lead.inner_text("[data-testid=site-stage]") == "Pilot"
    lead.fill("[data-testid=request-form] input[name=note]", "pilot week done")
    lead.click("[data-testid=request-form] button[type=submit]")
    lead.wait_for_selector("[data-testid=pending-request]")
    assert "Go-live of DC7 requested" in lead.content()
    lead.shot("go-live-requested")

    admin = open_page()
    log_in(admin, boss.username)
    admin.goto("/site/readiness/")
    admin.wait_for_selector("[data-testid=decision-form]")
    assert admin.inner_text("[data-testid=overall]") in ("GREEN", "AMBER")
    admin.shot("decision")
    admin.select_option("[data-testid=decision-form] select[name=decision]", "approve")
    admin.fill("[data-testid=decision-form] input[name=note]", "go for Monday")
    admin.click("[data-testid=decision-form] button[type=submit]")
    admin.wait_for_selector("text=DC7 is live.")
    assert admin.inner_text("[data-testid=site-stage]") == "Live"
    assert "PILOT → LIVE" in admin.inner_text("[data-testid=steps]")
    assert "hypercare until" in admin.inner_text("[data-testid=hypercare]")
    admin.shot("live")

    ready.site.refresh_from_db()
    request = GoLiveRequest.objects.get()
    assert ready.site.stage == Site.Stage.LIVE and request.status == GoLiveRequest.Status.APPROVED
    assert request.decided_by == boss and request.stage_change.changed_by == boss and not request.waiver_reason
