"""exceptions/: cases of your sites, acknowledged, assigned and resolved with a time stamp for each step;
jobs/: background runs of your sites and network-wide ones."""

import pytest

from governance.models import ExceptionCase, JobRun
from governance.services import open_exception
from tests.factories import ItemFactory

from .helpers import field_errors, history_user, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(site, item):
    return open_exception(site=site, code="STOCKOUT", subject=item, summary="out of WIDGET")[0]


def test_exceptions_list_per_site_with_filters(api, supervisor, case, other_site):
    open_exception(site=other_site, code="STOCKOUT", subject=ItemFactory(sku="GADGET"), summary="elsewhere")
    client = api(supervisor)
    rows = client.get("/api/v1/exceptions/?site=DC1&status=OPEN&code=STOCKOUT").json()["results"]
    assert [r["id"] for r in rows] == [case.pk]
    row = rows[0]
    assert {"code", "severity", "site", "subject", "status", "opened_at", "due_at", "assignee"} <= set(row)
    assert (row["site"], row["subject"], row["assignee"]) == ("DC1", "WIDGET", None)
    assert client.get(f"/api/v1/exceptions/?severity={row['severity']}").json()["count"] == 1
    assert client.get("/api/v1/exceptions/?status=RESOLVED").json()["count"] == 0
    problem(client.get("/api/v1/exceptions/?severity=APOCALYPTIC"), 400)


def test_exceptions_of_another_site_are_hidden_and_404(api, outsider, case):
    assert api(outsider).get("/api/v1/exceptions/").json()["count"] == 0
    problem(api(outsider).get(f"/api/v1/exceptions/{case.pk}/"), 404)
    for step in ("acknowledge", "resolve", "assign"):
        problem(
            api(outsider).post(f"/api/v1/exceptions/{case.pk}/{step}/", {"note": "x", "assignee": None}, format="json"),
            404,
        )
    assert ExceptionCase.objects.get().status == "OPEN"


def test_acknowledging_stamps_the_time_and_twice_is_409(api, supervisor, case):
    response = api(supervisor).post(f"/api/v1/exceptions/{case.pk}/acknowledge/", format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "ACKNOWLEDGED" and response.json()["assignee"] == "supervisor1"
    stamped = ExceptionCase.objects.get().acknowledged_at
    assert stamped is not None and history_user(ExceptionCase.objects.get()) == supervisor
    problem(api(supervisor).post(f"/api/v1/exceptions/{case.pk}/acknowledge/", format="json"), 409)
    assert ExceptionCase.objects.get().acknowledged_at == stamped


def test_exceptions_are_assigned_to_members_of_their_site(api, supervisor, operator, outsider, admin_user, case):
    client = api(supervisor)
    url = f"/api/v1/exceptions/{case.pk}/assign/"
    assigned = client.post(url, {"assignee": operator.username}, format="json")
    assert assigned.status_code == 200 and assigned.json()["assignee"] == "operator1"
    # a user of another site reads like an unknown one; an admin who sees both learns they are not a member
    assert field_errors(client.post(url, {"assignee": outsider.username}, format="json")) == {
        "assignee": "does_not_exist"
    }
    assert field_errors(client.post(url, {"assignee": "nobody"}, format="json")) == {"assignee": "does_not_exist"}
    assert field_errors(api(admin_user).post(url, {"assignee": outsider.username}, format="json")) == {
        "assignee": "not_member"
    }
    assert ExceptionCase.objects.get().assignee == operator
    unassigned = client.post(url, {"assignee": None}, format="json")
    assert unassigned.json()["assignee"] is None


def test_resolving_needs_a_note_and_a_resolved_case_is_final(api, supervisor, operator, case):
    client = api(supervisor)
    assert field_errors(client.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": " "}, format="json")) == {
        "note": "blank"
    }
    assert ExceptionCase.objects.get().status == "OPEN"
    resolved = client.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": "restocked"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["status"] == "RESOLVED"
    assert resolved.json()["resolved_at"] and resolved.json()["resolution_note"] == "restocked"
    problem(client.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": "again"}, format="json"), 409)
    problem(client.post(f"/api/v1/exceptions/{case.pk}/assign/", {"assignee": operator.username}, format="json"), 409)
    assert ExceptionCase.objects.get().resolution_note == "restocked"


def test_members_without_an_exception_role_are_403(api, operator, case):
    problem(api(operator).post(f"/api/v1/exceptions/{case.pk}/acknowledge/", format="json"), 403)
    assert ExceptionCase.objects.get().status == "OPEN"


def test_job_runs_show_the_users_sites_and_network_wide_runs(api, supervisor, outsider, site, other_site):
    mine = JobRun.objects.create(kind="replenishment", site=site)
    network = JobRun.objects.create(kind="reconcile")
    theirs = JobRun.objects.create(kind="replenishment", site=other_site)
    ids = {r["id"] for r in api(supervisor).get("/api/v1/jobs/").json()["results"]}
    assert ids == {mine.pk, network.pk}
    problem(api(supervisor).get(f"/api/v1/jobs/{theirs.pk}/"), 404)
    assert api(outsider).get(f"/api/v1/jobs/{mine.pk}/").status_code == 404
