"""sites/ and site-memberships/: visibility per site, enterprise admins create sites, site admins staff them."""

import pytest

from governance.models import Site, SiteMembership
from inventory.models import Location
from tests.factories import UserFactory

from .helpers import field_errors, history_user, problem

pytestmark = pytest.mark.django_db

BRANCH = {"code": "BR9", "name": "Branch 9", "region": "WEST", "kind": "BRANCH", "timezone": "Europe/Berlin"}


def test_users_see_only_their_sites(api, supervisor, admin_user, site, other_site):
    assert [s["code"] for s in api(supervisor).get("/api/v1/sites/").json()["results"]] == ["DC1"]
    assert [s["code"] for s in api(admin_user).get("/api/v1/sites/").json()["results"]] == ["DC1", "DC2"]
    detail = api(supervisor).get("/api/v1/sites/DC1/").json()
    assert {"code", "name", "region", "kind"} <= set(detail) and detail["kind"] == "DC"


def test_a_site_of_another_user_is_404(api, outsider, site):
    problem(api(outsider).get("/api/v1/sites/DC1/"), 404)
    problem(api(outsider).get("/api/v1/sites/NOPE/"), 404)


def test_sites_filter_by_region_and_kind(api, admin_user, site, other_site):
    assert [s["code"] for s in api(admin_user).get("/api/v1/sites/?region=WEST").json()["results"]] == ["DC2"]
    assert api(admin_user).get("/api/v1/sites/?kind=BRANCH").json()["count"] == 0
    problem(api(admin_user).get("/api/v1/sites/?kind=MOON"), 400)


def test_enterprise_admins_create_sites_with_their_virtual_locations_and_history(api, admin_user):
    response = api(admin_user).post("/api/v1/sites/", {**BRANCH, "id": 999, "created_at": "2000-01-01"}, format="json")
    assert response.status_code == 201, response.json()
    site = Site.objects.get(code="BR9")
    assert response.json()["id"] == site.pk != 999 and site.created_at.year > 2000
    assert set(Location.objects.filter(site=site).values_list("kind", flat=True)) == {
        "SUPPLIER",
        "CUSTOMER",
        "IN_TRANSIT",
        "ADJUSTMENT",
        "SCRAP",
    }
    assert history_user(site) == admin_user


def test_site_admins_cannot_create_sites(api, make_user, site):
    site_admin = make_user("admin", site)
    problem(api(site_admin).post("/api/v1/sites/", BRANCH, format="json"), 403)
    assert not Site.objects.filter(code="BR9").exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "MOON"}, "kind"),
        ({"code": "DC1"}, "code"),
        ({"code": "has space"}, "code"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_sites_are_400_and_create_nothing(api, admin_user, site, changes, field):
    before = Site.objects.count()
    assert field in field_errors(api(admin_user).post("/api/v1/sites/", {**BRANCH, **changes}, format="json"))
    assert Site.objects.count() == before


# --- memberships ----------------------------------------------------------------------------------------


def test_memberships_are_listed_for_visible_sites_only(api, supervisor, outsider, site, other_site):
    listed = api(supervisor).get("/api/v1/site-memberships/").json()["results"]
    assert {(m["user"], m["site"], m["role"]) for m in listed} == {("supervisor1", "DC1", "supervisor")}
    assert {m["site"] for m in api(outsider).get("/api/v1/site-memberships/").json()["results"]} == {"DC2"}
    membership = SiteMembership.objects.get(user=supervisor)
    problem(api(outsider).get(f"/api/v1/site-memberships/{membership.pk}/"), 404)
    assert api(supervisor).get("/api/v1/site-memberships/?role=planner").json()["count"] == 0


def test_site_admins_add_memberships_with_history(api, make_user, site, operator):
    site_admin = make_user("admin", site)
    response = api(site_admin).post(
        "/api/v1/site-memberships/", {"user": operator.username, "site": "DC1", "role": "planner"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "user": operator.username,
        "site": "DC1",
        "role": "planner",
        "created_at": "",
    }
    membership = SiteMembership.objects.get(user=operator, role="planner")
    assert history_user(membership) == site_admin


def test_a_duplicate_membership_is_409_and_changes_nothing(api, make_user, site, operator):
    site_admin = make_user("admin", site)
    before = SiteMembership.objects.count()
    response = api(site_admin).post(
        "/api/v1/site-memberships/", {"user": operator.username, "site": "DC1", "role": "operator"}, format="json"
    )
    problem(response, 409)
    assert SiteMembership.objects.count() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user": "nobody", "site": "DC1", "role": "planner"}, "user"),
        ({"user": "operator1", "site": "DC2", "role": "planner"}, "site"),  # a site the admin cannot see
        ({"user": "operator1", "site": "NOPE", "role": "planner"}, "site"),
        ({"user": "operator1", "site": "DC1", "role": "king"}, "role"),
        ({"user": 7, "site": ["DC1"], "role": "planner"}, "site"),
    ],
)
def test_invalid_memberships_are_400_and_change_nothing(api, make_user, site, other_site, operator, body, field):
    site_admin = make_user("admin", site)
    before = SiteMembership.objects.count()
    errors = field_errors(api(site_admin).post("/api/v1/site-memberships/", body, format="json"))
    assert field in errors
    assert SiteMembership.objects.count() == before


def test_an_unknown_and_a_hidden_site_read_the_same(api, make_user, site, other_site, operator):
    site_admin = make_user("admin", site)
    client = api(site_admin)
    hidden = client.post(
        "/api/v1/site-memberships/", {"user": "operator1", "site": "DC2", "role": "planner"}, format="json"
    )
    unknown = client.post(
        "/api/v1/site-memberships/", {"user": "operator1", "site": "ZZ", "role": "planner"}, format="json"
    )
    assert hidden.json()["errors"][0]["code"] == unknown.json()["errors"][0]["code"] == "does_not_exist"


def test_members_without_the_admin_role_cannot_add_or_remove_memberships(api, supervisor, operator, site):
    before = SiteMembership.objects.count()
    response = api(supervisor).post(
        "/api/v1/site-memberships/", {"user": operator.username, "site": "DC1", "role": "planner"}, format="json"
    )
    problem(response, 403)
    membership = SiteMembership.objects.get(user=operator)
    problem(api(supervisor).delete(f"/api/v1/site-memberships/{membership.pk}/"), 403)
    assert SiteMembership.objects.count() == before


def test_site_admins_remove_memberships_of_their_site_only(api, make_user, site, other_site, operator, outsider):
    site_admin = make_user("admin", site)
    foreign = SiteMembership.objects.get(user=outsider)
    problem(api(site_admin).delete(f"/api/v1/site-memberships/{foreign.pk}/"), 404)
    membership = SiteMembership.objects.get(user=operator)
    assert api(site_admin).delete(f"/api/v1/site-memberships/{membership.pk}/").status_code == 204
    assert not SiteMembership.objects.filter(pk=membership.pk).exists()
    assert SiteMembership.objects.filter(pk=foreign.pk).exists()
    assert SiteMembership.history.filter(id=membership.pk, history_type="-").get().history_user == site_admin


def test_enterprise_admins_staff_any_site(api, admin_user, other_site):
    newcomer = UserFactory(username="newcomer")
    response = api(admin_user).post(
        "/api/v1/site-memberships/", {"user": "newcomer", "site": "DC2", "role": "auditor"}, format="json"
    )
    assert response.status_code == 201
    assert SiteMembership.objects.filter(user=newcomer, site=other_site, role="auditor").exists()
