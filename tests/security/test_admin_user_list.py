"""The admin's user list is scoped (issue 15): staff who are not enterprise admins (a site's admin) see only the
users with a membership at a site they see, in the list, its search, the membership autocomplete and on every
user page (404 for anyone else, the same answer as an id of nobody); enterprise admins see every user. A user a site
admin creates without a membership at their sites is said so instead of a page they can no longer open."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from governance.models import SiteMembership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LIST = "admin:auth_user_changelist"


def _site_admin(make_user, site, *, username="dc1-admin"):
    user = make_user("admin", site, username=username)
    user.is_staff = True
    user.save()
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_user", "change_user", "add_user", "view_sitemembership", "add_sitemembership"]
        )
    )
    return user


@pytest.fixture
def people(make_user, site, other_site):
    return {
        "here": make_user("operator", site, username="here-op"),
        "both": make_user("planner", site, other_site, username="both-planner"),
        "there": make_user("operator", other_site, username="there-op"),
        "nowhere": UserFactory(username="no-site-user"),
    }


def _listed(client, **query) -> set[str]:
    response = client.get(reverse(LIST), query)
    assert response.status_code == 200
    return {u.username for u in response.context["cl"].result_list}


def test_a_site_admin_sees_only_the_users_of_their_sites(client, make_user, site, other_site, admin_user, people):
    me = _site_admin(make_user, site)
    client.force_login(me)

    assert _listed(client) == {"dc1-admin", "here-op", "both-planner"}
    assert _listed(client, q="there") == set()  # the search finds nobody outside either
    assert _listed(client, q="op") == {"here-op"}
    for name in ("there", "nowhere"):
        user = people[name]
        for view in ("change", "history", "password_change"):
            url = reverse(f"admin:auth_user_{view}", args=[user.pk])
            assert client.get(url).status_code == 404, (name, view)
        assert client.get(reverse("admin:auth_user_change", args=[999_999])).status_code == 404  # nobody: the same
    # and a change posted to a hidden user changes nothing
    before = people["there"].username
    client.post(reverse("admin:auth_user_change", args=[people["there"].pk]), {"username": "renamed"})
    people["there"].refresh_from_db()
    assert people["there"].username == before
    assert client.get(reverse("admin:auth_user_change", args=[people["both"].pk])).status_code == 200


def test_the_membership_autocomplete_offers_only_the_users_of_their_sites(client, make_user, site, people):
    client.force_login(_site_admin(make_user, site))
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "governance", "model_name": "sitemembership", "field_name": "user", "term": ""},
    )
    assert response.status_code == 200
    names = {row["text"] for row in json.loads(response.content)["results"]}
    assert names == {"dc1-admin", "here-op", "both-planner"}


def test_an_enterprise_admin_sees_every_user(client, admin_user, people):
    client.force_login(admin_user)
    assert _listed(client) >= {"enterprise-admin", "here-op", "both-planner", "there-op", "no-site-user"}
    assert client.get(reverse("admin:auth_user_change", args=[people["nowhere"].pk])).status_code == 200


def test_a_user_created_without_a_membership_at_the_admins_sites_is_said_so(client, make_user, site):
    client.force_login(_site_admin(make_user, site))
    page = client.get(reverse("admin:auth_user_add"))
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    management = {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    data = {"username": "newbie", "password1": "x-Very-long-pass-91", "password2": "x-Very-long-pass-91"}
    response = client.post(reverse("admin:auth_user_add"), {**data, **management, "usable_password": "true"})
    assert response.status_code == 302 and response["Location"] == reverse(LIST)
    follow = client.get(response["Location"]).content.decode()
    assert "The user newbie was created without a membership at your sites" in follow

    # with a membership at their site on the add page: theirs to see, the user page opens as Django does
    data = {**data, "username": "newbie2"}
    management[f"{prefix}-TOTAL_FORMS"] = "1"
    membership = {f"{prefix}-0-site": site.pk, f"{prefix}-0-role": "operator", f"{prefix}-0-id": ""}
    response = client.post(
        reverse("admin:auth_user_add"), {**data, **management, **membership, "usable_password": "true"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    created = SiteMembership.objects.get(user__username="newbie2")
    assert (created.site, created.role) == (site, "operator")
    assert response["Location"] == reverse("admin:auth_user_change", args=[created.user_id])
    assert client.get(response["Location"]).status_code == 200
