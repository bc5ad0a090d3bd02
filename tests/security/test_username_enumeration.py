"""Issue 12, finding 5: username enumeration.

``POST /api/v1/site-memberships/`` answered 403 for an existing username and 400 "No user 'x'" for an unknown one.
Anyone not allowed to manage the memberships of that site now gets the same answer for both; a site admin who may
manage them still learns that a username is unknown (they need to name people to add them).
"""

from __future__ import annotations

import pytest

from governance.models import SiteMembership
from tests.api.helpers import problem

pytestmark = pytest.mark.django_db

URL = "/api/v1/site-memberships/"


@pytest.fixture
def stranger(make_user, other_site):
    """An existing user who works at another site only."""
    return make_user("operator", other_site, username="stranger")


def _answer(response) -> tuple[int, dict]:
    body = response.json()
    return response.status_code, {k: v for k, v in body.items() if k not in ("instance", "request_id")}


def _post(client, username, site_code="DC1", role="operator", **extra):
    return client.post(URL, {"user": username, "site": site_code, "role": role}, format="json", **extra)


@pytest.mark.parametrize("site_code", ["DC1", "DC2", "NOPE"])
@pytest.mark.parametrize("role", ["operator", "not-a-role"])
def test_a_user_who_may_not_manage_the_site_cannot_tell_existing_from_unknown_usernames(
    api, supervisor, stranger, other_site, site_code, role
):
    """A supervisor of DC1 may see DC1 but not manage it; DC2 they cannot see; NOPE does not exist."""
    client = api(supervisor)
    existing = _post(client, "stranger", site_code, role)
    unknown = _post(client, "no-such-user-xyz", site_code, role)
    assert existing["Content-Type"].startswith("application/problem+json")
    assert _answer(existing) == _answer(unknown), (existing.json(), unknown.json())
    assert existing.status_code in (400, 403)
    assert "stranger" not in existing.content.decode() and "no-such-user" not in unknown.content.decode()
    assert not SiteMembership.objects.filter(user=stranger, site__code="DC1").exists()


def test_the_answer_for_a_visible_site_one_may_not_manage_is_403(api, supervisor, stranger):
    client = api(supervisor)
    problem(_post(client, "stranger"), 403)
    problem(_post(client, "no-such-user-xyz"), 403)


def test_an_anonymous_caller_learns_nothing_either(api, stranger, site):
    anonymous = api()
    assert _answer(_post(anonymous, "stranger")) == _answer(_post(anonymous, "no-such-user-xyz"))
    problem(_post(anonymous, "stranger"), 401)


def test_a_site_admin_may_still_be_told_a_username_is_unknown(api, make_user, site, stranger):
    site_admin = make_user("admin", site, username="dc1-admin")
    client = api(site_admin)
    body = problem(_post(client, "no-such-user-xyz"), 400)
    assert [e["field"] for e in body["errors"]] == ["user"]
    created = _post(client, "stranger")
    assert created.status_code == 201, created.json()
    assert created.json()["user"] == "stranger" and created.json()["site"] == "DC1"
    assert SiteMembership.objects.filter(user=stranger, site=site, role="operator").exists()


def test_a_site_admin_of_dc1_cannot_probe_usernames_through_dc2(api, make_user, site, other_site, stranger):
    site_admin = make_user("admin", site, username="dc1-admin")
    client = api(site_admin)
    assert _answer(_post(client, "stranger", "DC2")) == _answer(_post(client, "no-such-user-xyz", "DC2"))


def test_bad_username_values_read_the_same_as_unknown_ones_to_an_outsider(api, supervisor, stranger):
    client = api(supervisor)
    answers = {_answer(_post(client, value))[0] for value in ("stranger", "no-such-user-xyz", "", "x" * 300, "a\x00b")}
    assert answers == {403}


# --- other places that look users up: the exception queue's assign action ---------------------------------------


@pytest.fixture
def case(site, item):
    from governance.services import open_exception

    return open_exception(site=site, code="SHORT_PICK", subject=item, summary="short pick")[0]


def test_the_exception_assign_page_answers_the_same_for_another_sites_user_and_an_unknown_id(
    client, supervisor, stranger, case
):
    """It answered 404 for an unknown user id and "stranger does not work at this site" for any existing one. Now
    both (and text that is no id) get the same refusal on the page the action came from."""
    from django.urls import reverse

    client.force_login(supervisor)
    url = reverse("web:exception-action", args=[case.pk, "assign"])
    answers = set()
    for wanted in (stranger.pk, 999_999_999, "²", "9" * 40):  # "²": a digit int() refuses; 40 digits: no bigint
        response = client.post(url, {"assignee": wanted}, follow=True)
        page = response.content.decode()
        assert response.status_code == 200 and "stranger" not in page
        answers.add(next(line for line in page.splitlines() if "msg-error" in line).strip())
    assert answers == {
        '<li class="msg msg-error">No such colleague at DC1 to assign the exception to: nothing was changed.</li>'
    }
    case.refresh_from_db()
    assert case.assignee is None
    assert client.post(url, {"assignee": supervisor.pk}).status_code == 302
    case.refresh_from_db()
    assert case.assignee == supervisor


def test_the_exception_assign_api_answers_the_same_for_another_sites_user_and_an_unknown_name(
    api, supervisor, stranger, case
):
    client = api(supervisor)
    url = f"/api/v1/exceptions/{case.pk}/assign/"
    hidden = client.post(url, {"assignee": "stranger"}, format="json")
    unknown = client.post(url, {"assignee": "no-such-user-xyz"}, format="json")
    problem(hidden, 400)
    assert [e["code"] for e in hidden.json()["errors"]] == [e["code"] for e in unknown.json()["errors"]]
