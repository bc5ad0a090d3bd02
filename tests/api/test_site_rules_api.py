"""site-rules/: effective values per site with standardization and overrides; admins change them with a reason."""

import pytest

from governance.models import SiteRuleValue
from governance.services import get_rule

from .helpers import field_errors, problem

pytestmark = pytest.mark.django_db

APPROVAL = "inventory.adjustment_approval_value"
URL = f"/api/v1/site-rules/{APPROVAL}/"


@pytest.fixture
def site_admin(make_user, site):
    return make_user("admin", site, username="dc1-admin")


@pytest.fixture
def approver(make_user, site, other_site):
    """A second admin: a site override of a control rule (APPROVAL is one) applies once another admin approves."""
    return make_user("admin", site, other_site, username="second-admin")


def approved(api, response, approver):
    """The RULE_CHANGE approval a 202 answered with, approved by ``approver``."""
    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "RULE_CHANGE"
    decided = api(approver).post(f"/api/v1/approvals/{response.json()['id']}/approve/", {}, format="json")
    assert decided.status_code == 200, decided.json()


def test_rules_list_the_effective_value_per_visible_site(api, supervisor, site, other_site):
    rows = api(supervisor).get(f"/api/v1/site-rules/?key={APPROVAL}").json()["results"]
    assert rows == [
        {
            "key": APPROVAL,
            "site": "DC1",
            "type": "decimal",
            "standardization": "LOCAL",
            "description": rows[0]["description"],
            "default": "500.00",
            "enterprise_value": "500.00",
            "value": "500.00",
            "overridden": False,
            "reason": "",
            "min_value": "0",
            "max_value": "1000000",
            "choices": [],
            "unit": "currency",
        }
    ]
    enterprise = api(supervisor).get("/api/v1/site-rules/?standardization=ENTERPRISE").json()["results"]
    assert enterprise and {r["standardization"] for r in enterprise} == {"ENTERPRISE"}


def test_a_site_admin_overrides_a_local_rule_with_a_reason_and_it_shows_as_a_deviation(
    api, site_admin, approver, supervisor, site, other_site
):
    response = api(site_admin).put(URL, {"site": "DC1", "value": "250.00", "reason": "small site"}, format="json")
    assert get_rule(APPROVAL, site) == 500  # a control rule: in force once another admin approves
    approved(api, response, approver)
    shown = api(site_admin).get(f"/api/v1/site-rules/?site=DC1&key={APPROVAL}").json()["results"][0]
    assert shown["value"] == "250.00" and shown["overridden"] is True
    assert get_rule(APPROVAL, site) == 250
    row = SiteRuleValue.objects.get(key=APPROVAL, site=site)
    assert row.reason == "small site" and (row.updated_by, row.approved_by) == (site_admin, approver)
    assert row.history.first().history_user == approver
    listed = api(supervisor).get(f"/api/v1/site-rules/?site=DC1&key={APPROVAL}").json()["results"]
    assert listed == [shown]
    assert api(supervisor).get("/api/v1/site-rules/?overridden=true").json()["count"] == 1


def test_a_rule_shows_its_definition_and_every_visible_site(api, admin_user, approver, supervisor, site, other_site):
    approved(api, api(admin_user).put(URL, {"site": "DC2", "value": 100, "reason": "pilot"}, format="json"), approver)
    everywhere = api(admin_user).get(URL).json()
    assert everywhere["enterprise_value"] == "500.00" and everywhere["standardization"] == "LOCAL"
    assert {s["site"]: (s["value"], s["overridden"]) for s in everywhere["sites"]} == {
        "DC1": ("500.00", False),
        "DC2": ("100", True),
    }
    # a user of DC1 does not see DC2's value
    assert [s["site"] for s in api(supervisor).get(URL).json()["sites"]] == ["DC1"]


def test_users_of_another_site_do_not_see_its_rules(api, outsider, site):
    assert api(outsider).get("/api/v1/site-rules/?site=DC1").json()["results"] == []
    assert {r["site"] for r in api(outsider).get("/api/v1/site-rules/").json()["results"]} == {"DC2"}


def test_enterprise_admins_set_the_enterprise_value(api, admin_user, site, site_admin):
    problem(api(site_admin).put(URL, {"site": None, "value": "900", "reason": "x"}, format="json"), 403)
    assert not SiteRuleValue.objects.exists()
    response = api(admin_user).put(URL, {"value": "900", "reason": "inflation"}, format="json")
    # a control rule: its enterprise value too waits for a second enterprise admin (202 with the approval)
    assert response.status_code == 202, response.content
    approval = response.json()
    assert (approval["kind"], approval["site"], approval["status"]) == ("RULE_CHANGE", None, "PENDING")
    assert get_rule(APPROVAL, site) == 500
    problem(api(admin_user).post(f"/api/v1/approvals/{approval['id']}/approve/", {}, format="json"), 422)
    problem(api(site_admin).post(f"/api/v1/approvals/{approval['id']}/approve/", {}, format="json"), 404)
    second = type(admin_user).objects.create_superuser("admin-2", "admin-2@example.com", "x")
    decided = api(second).post(f"/api/v1/approvals/{approval['id']}/approve/", {}, format="json")
    assert decided.status_code == 200, decided.content
    rule = api(admin_user).get(URL).json()
    assert rule["enterprise_value"] == "900" and get_rule(APPROVAL, site) == 900


def test_enterprise_values_of_other_rules_apply_at_once(api, admin_user):
    response = api(admin_user).put(
        "/api/v1/site-rules/receiving.overdue_grace_days/", {"value": 4, "reason": "carriers"}, format="json"
    )
    assert response.status_code == 200 and response.json()["site"] is None


def test_an_enterprise_rule_cannot_be_overridden_per_site(api, admin_user, site):
    response = api(admin_user).put(
        "/api/v1/site-rules/inventory.negative_stock_allowed/",
        {"site": "DC1", "value": False, "reason": "x"},
        format="json",
    )
    problem(response, 422)
    assert not SiteRuleValue.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"site": "DC1", "value": "-1", "reason": "x"}, "value"),
        ({"site": "DC1", "value": "abc", "reason": "x"}, "value"),
        ({"site": "DC1", "value": 2_000_000, "reason": "x"}, "value"),
        ({"site": "DC1", "value": None, "reason": "x"}, "value"),
        ({"site": "DC1", "value": True, "reason": "x"}, "value"),
        ({"site": "DC1", "value": "10"}, "reason"),
        ({"site": "DC1", "value": "10", "reason": "   "}, "reason"),
        ({"site": "DC2", "value": "10", "reason": "x"}, "site"),  # not visible to the DC1 admin
    ],
)
def test_invalid_rule_values_are_400_and_change_nothing(api, site_admin, site, other_site, body, field):
    assert field in field_errors(api(site_admin).put(URL, body, format="json"))
    assert not SiteRuleValue.objects.exists()


def test_an_unknown_rule_is_404(api, admin_user, site):
    problem(api(admin_user).get("/api/v1/site-rules/no.such.rule/"), 404)
    problem(api(admin_user).put("/api/v1/site-rules/no.such.rule/", {"value": 1, "reason": "x"}, format="json"), 404)
    assert not SiteRuleValue.objects.exists()


def test_members_without_the_admin_role_cannot_change_rules(api, supervisor, site):
    problem(api(supervisor).put(URL, {"site": "DC1", "value": "1", "reason": "x"}, format="json"), 403)
    assert not SiteRuleValue.objects.exists()


def test_clearing_an_override_brings_back_the_enterprise_value(api, site_admin, approver, supervisor, site):
    approved(
        api, api(site_admin).put(URL, {"site": "DC1", "value": "250", "reason": "small site"}, format="json"), approver
    )
    problem(api(supervisor).delete(f"{URL}?site=DC1"), 403)
    assert SiteRuleValue.objects.count() == 1
    removal = api(site_admin).delete(f"{URL}?site=DC1")  # a control rule: removed once approved
    assert SiteRuleValue.objects.count() == 1
    approved(api, removal, approver)
    assert not SiteRuleValue.objects.exists() and get_rule(APPROVAL, site) == 500
    assert "site" in field_errors(api(site_admin).delete(f"{URL}?site=NOPE"))
