"""The site readiness page (issue 13): lifecycle stage and steps, the scorecard with status colours and evidence,
and its actions through the services (step, request go-live, decide with a waiver); refusals shown, nothing
changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cutover.models import GoLiveRequest
from cutover.services import request_go_live
from governance.models import Site, SiteMembership, SiteStageChange
from tests.cutover.readiness_helpers import ready_site
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PAGE = reverse("web:site-readiness")


@pytest.fixture
def ready(db):
    return ready_site()


@pytest.fixture
def boss(make_user):
    return make_user([], superuser=True, username="page-boss")


def at_site(client, user, site):
    client.force_login(user)
    client.post(reverse("web:switch-site"), {"site": site.pk})


def test_the_page_shows_the_stage_the_scorecard_and_the_steps(client, ready):
    at_site(client, ready.lead, ready.site)
    page = client.get(PAGE)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="site-stage">Pilot<' in html
    assert 'data-key="people.training"' in html and "rd rd-GREEN" in html and "rd rd-AMBER" in html
    assert "No active webhook subscription is scoped to the site." in html  # evidence shown
    assert 'data-testid="request-form"' in html and 'data-testid="stage-form"' in html
    assert 'data-testid="decision-form"' not in html  # a site admin does not decide
    assert "Going live" in html  # in the admin's menu


def test_operators_see_the_page_without_actions_and_outsiders_do_not_see_the_site(client, ready, make_user, site):
    at_site(client, ready.operator, ready.site)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="scorecard"' in html and '<form method="post" action="/site/readiness' not in html
    assert client.post(reverse("web:site-readiness-request"), {"note": "x"}).status_code == 403
    assert not GoLiveRequest.objects.exists()


def test_a_site_admin_steps_back_to_cutover_and_asks_to_go_live_from_pilot(client, ready):
    at_site(client, ready.lead, ready.site)
    moved = client.post(reverse("web:site-readiness-stage"), {"stage": "CUTOVER", "note": "recount"})
    assert moved.status_code == 302
    ready.site.refresh_from_db()
    assert ready.site.stage == Site.Stage.CUTOVER
    html = client.get(PAGE).content.decode()
    assert "PILOT → CUTOVER" in html and "recount" in html and 'data-testid="request-form"' not in html
    # LIVE is not a step of this form: the go-live is a decision
    refused = client.post(reverse("web:site-readiness-stage"), {"stage": "LIVE"})
    assert refused.status_code == 400 and SiteStageChange.objects.filter(site=ready.site).count() == 1
    client.post(reverse("web:site-readiness-stage"), {"stage": "PILOT"})
    asked = client.post(reverse("web:site-readiness-request"), {"note": "pilot week done"}, follow=True)
    assert "Go-live of DC7 requested" in asked.content.decode()
    again = client.post(reverse("web:site-readiness-request"), {"note": "again"})
    assert again.status_code == 409 and "already waiting" in again.content.decode()
    assert GoLiveRequest.objects.count() == 1


def test_an_enterprise_admin_is_refused_on_red_then_goes_live_with_a_waiver(client, ready, boss):
    request = request_go_live(user=ready.lead, site=ready.site)
    SiteMembership.objects.create(user=UserFactory(username="dc7-new"), site=ready.site, role="operator")
    at_site(client, boss, ready.site)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="decision-form"' in html and "rd rd-RED" in html
    url = reverse("web:site-readiness-decide", args=[request.pk])
    refused = client.post(url, {"decision": "approve", "note": "go"})
    body = refused.content.decode()
    assert refused.status_code == 409 and "Operators and supervisors trained" in body
    assert 'value="go"' in body  # the form is kept
    ready.site.refresh_from_db()
    assert ready.site.stage == Site.Stage.PILOT
    done = client.post(url, {"decision": "approve", "note": "go", "waiver_reason": "shadowing"}, follow=True)
    assert "DC7 is live with a waiver." in done.content.decode()
    ready.site.refresh_from_db()
    request.refresh_from_db()
    assert ready.site.stage == Site.Stage.LIVE and request.waiver_reason == "shadowing"
    assert "waived</span> by page-boss: shadowing" in done.content.decode()


def test_the_requester_sees_that_another_enterprise_admin_decides(client, ready, boss):
    SiteMembership.objects.create(user=boss, site=ready.site, role="admin")
    request = request_go_live(user=boss, site=ready.site)
    at_site(client, boss, ready.site)
    assert 'data-testid="own-request"' in client.get(PAGE).content.decode()
    refused = client.post(reverse("web:site-readiness-decide", args=[request.pk]), {"decision": "approve"})
    assert refused.status_code == 422 and "another approver must" in refused.content.decode()
    request.refresh_from_db()
    assert request.status == GoLiveRequest.Status.PENDING
