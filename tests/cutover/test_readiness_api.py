"""The going-live API: sites/{code}/readiness/, sites/{code}/go-live-request/, go-live-requests/ (decide with a
waiver) and training-records/, with their permission refusals."""

from __future__ import annotations

import pytest

from cutover.models import GoLiveRequest, TrainingRecord
from governance.models import Site, SiteMembership
from tests.api.helpers import field_errors, problem
from tests.factories import UserFactory

from .readiness_helpers import ready_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(db):
    return ready_site()


@pytest.fixture
def boss(make_user):
    return make_user([], superuser=True, username="api-boss")


def test_the_readiness_endpoint_shows_the_scorecard_to_the_sites_people_only(api, ready, make_user, site):
    body = api(ready.operator).get(f"/api/v1/sites/{ready.site.code}/readiness/").json()
    assert body["site"] == "DC7" and body["stage"] == "PILOT" and body["overall"] == "AMBER"
    keys = [c["key"] for c in body["criteria"]]
    assert keys[0] == "master_data.items" and "people.training" in keys and len(keys) == 13
    assert {c["status"] for c in body["criteria"]} == {"GREEN", "AMBER"}
    outsider = make_user("admin", site, username="dc1-admin")
    problem(api(outsider).get(f"/api/v1/sites/{ready.site.code}/readiness/"), 404)
    problem(api(ready.operator).get("/api/v1/sites/NOPE/readiness/"), 404)


def test_a_site_admin_asks_to_go_live_and_an_enterprise_admin_decides_with_a_waiver(api, ready, boss):
    url = f"/api/v1/sites/{ready.site.code}/go-live-request/"
    problem(api(ready.supervisor).post(url, {}, format="json"), 403)
    asked = api(ready.lead).post(url, {"note": "pilot done"}, format="json")
    assert asked.status_code == 202, asked.json()
    body = asked.json()
    assert body["status"] == "PENDING" and body["requested_by"] == ready.lead.username
    assert len(body["scorecard"]) == 13 and body["approval"]
    problem(api(ready.lead).post(url, {}, format="json"), 409)  # one at a time
    decide = f"/api/v1/go-live-requests/{body['id']}/approve/"
    problem(api(ready.lead).post(decide, {}, format="json"), 422)  # the requester never decides
    problem(api(ready.supervisor).post(decide, {}, format="json"), 403)
    SiteMembership.objects.create(user=UserFactory(username="dc7-untrained"), site=ready.site, role="operator")
    refused = problem(api(boss).post(decide, {"note": "go"}, format="json"), 409)
    assert "Operators and supervisors trained" in refused["detail"]
    ready.site.refresh_from_db()
    assert ready.site.stage == Site.Stage.PILOT
    done = api(boss).post(decide, {"note": "go", "waiver_reason": "shadows a trainer this week"}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "APPROVED" and done.json()["waiver_reason"] == "shadows a trainer this week"
    ready.site.refresh_from_db()
    assert ready.site.stage == Site.Stage.LIVE
    steps = api(ready.lead).get(f"/api/v1/sites/{ready.site.code}/stage/").json()
    assert steps[-1]["to_stage"] == "LIVE" and steps[-1]["waived_by"] == boss.username
    listed = api(ready.operator).get("/api/v1/go-live-requests/", {"site": "DC7"}).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]


def test_a_no_go_through_the_api(api, ready, boss, make_user, site):
    asked = api(ready.lead).post(f"/api/v1/sites/{ready.site.code}/go-live-request/", {}, format="json").json()
    outsider = make_user([], site, username="nobody-here")
    problem(api(outsider).post(f"/api/v1/go-live-requests/{asked['id']}/reject/", {}, format="json"), 404)
    rejected = api(boss).post(f"/api/v1/go-live-requests/{asked['id']}/reject/", {"note": "not yet"}, format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    assert GoLiveRequest.objects.get().decided_by == boss


def test_training_records_are_created_by_site_admins_and_read_by_the_sites_people(api, ready, make_user, site):
    url = "/api/v1/training-records/"
    made = api(ready.lead).post(
        url,
        {"site": "DC7", "user": ready.coordinator.username, "process": "SHIPPING", "valid_until": "2099-12-31"},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["user"] == ready.coordinator.username and made.json()["valid"] is True
    assert made.json()["recorded_by"] == ready.lead.username
    before = TrainingRecord.objects.count()
    problem(
        api(ready.supervisor).post(url, {"site": "DC7", "user": "dc7-operator", "process": "PICKING"}, format="json"),
        403,
    )
    stranger = make_user("operator", site, username="dc1-op")
    errors = field_errors(
        api(ready.lead).post(url, {"site": "DC7", "user": stranger.username, "process": "PICKING"}, format="json")
    )
    assert errors == {"user": "not_at_site"}
    assert field_errors(api(ready.lead).post(url, {"site": "DC7", "user": "x", "process": "JUGGLING"}, format="json"))
    other_admin = make_user("admin", site, username="dc1-admin")
    assert "site" in field_errors(
        api(other_admin).post(url, {"site": "DC7", "user": "dc7-operator", "process": "PICKING"}, format="json")
    )
    assert TrainingRecord.objects.count() == before
    listed = api(ready.operator).get(url, {"site": "DC7", "user": ready.coordinator.username}).json()
    assert [r["process"] for r in listed["results"]] == ["SHIPPING"]
    assert api(other_admin).get(url).json()["count"] == 0  # another site's records are not shown
    revoked = api(ready.lead).post(f"{url}{made.json()['id']}/revoke/", {"note": "moved on"}, format="json")
    assert revoked.status_code == 200 and revoked.json()["valid"] is False


def test_a_token_without_the_governance_scope_cannot_ask_to_go_live(api, ready):
    from rest_framework.test import APIClient

    from governance.services.api_tokens import create_token

    _, key = create_token(user=ready.lead, scopes=["read", "inventory"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(f"/api/v1/sites/{ready.site.code}/readiness/").status_code == 200
    problem(client.post(f"/api/v1/sites/{ready.site.code}/go-live-request/", {}, format="json"), 403)
    assert not GoLiveRequest.objects.exists()
