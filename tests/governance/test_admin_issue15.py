"""Admin (issue 15): a user's site memberships on the user's page (written through the membership services), the
effective-rules grid's "deviations only" filter and CSV, and rule values shown as people read them (no JSON)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from governance.admin import human_value
from governance.models import RuleChange, SiteMembership, SiteRuleValue
from governance.rules import REGISTRY
from tests.factories import UserFactory, set_rule_now

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, admin_user):
    client.force_login(admin_user)
    return client


def _page(response) -> str:
    return response.content.decode()


def _user_url(user, action="change"):
    return reverse(f"admin:auth_user_{action}", args=[user.pk])


def _user_post(client, user, memberships):
    """The user change form as the page sends it, with ``memberships``: (id or None, site, role, delete)."""
    page = client.get(_user_url(user))
    assert page.status_code == 200
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    joined = user.date_joined
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": joined.strftime("%Y-%m-%d"),
        "date_joined_1": joined.strftime("%H:%M:%S"),
        f"{prefix}-TOTAL_FORMS": str(len(memberships)),
        f"{prefix}-INITIAL_FORMS": str(sum(1 for m in memberships if m[0])),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, (pk, site, role, delete) in enumerate(memberships):
        data.update({f"{prefix}-{i}-id": pk or "", f"{prefix}-{i}-user": user.pk})
        data.update({f"{prefix}-{i}-site": site.pk, f"{prefix}-{i}-role": role})
        if delete:
            data[f"{prefix}-{i}-DELETE"] = "on"
    return client.post(_user_url(user), data)


# --- memberships on the user page ----------------------------------------------------------------------------


def test_the_user_page_lists_the_users_memberships(admin_client_logged, make_user, site, other_site):
    member = make_user("supervisor", site, username="pat")
    SiteMembership.objects.create(user=member, site=other_site, role="auditor")

    response = admin_client_logged.get(_user_url(member))

    page = _page(response)
    assert response.status_code == 200
    assert "Site memberships" in page
    formset = response.context["inline_admin_formsets"][0].formset
    assert {(f.instance.site.code, f.instance.role) for f in formset.initial_forms} == {
        ("DC1", "supervisor"),
        ("DC2", "auditor"),
    }


@pytest.mark.django_db(transaction=True)
def test_a_membership_added_on_the_user_page_goes_through_the_service_with_history(
    admin_client_logged, admin_user, make_user, site, other_site
):
    member = make_user("supervisor", site, username="pat")
    kept = SiteMembership.objects.get(user=member)

    response = _user_post(
        admin_client_logged, member, [(kept.pk, site, "supervisor", False), (None, other_site, "planner", False)]
    )

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    added = SiteMembership.objects.get(user=member, site=other_site)
    assert added.role == "planner"
    assert added.history.latest().history_user == admin_user
    assert added.history.latest().history_type == "+"

    removed = _user_post(
        admin_client_logged, member, [(kept.pk, site, "supervisor", True), (added.pk, other_site, "planner", False)]
    )
    assert removed.status_code == 302
    assert list(SiteMembership.objects.filter(user=member).values_list("site__code", "role")) == [("DC2", "planner")]
    assert SiteMembership.history.filter(id=kept.pk, history_type="-").get().history_user == admin_user


def test_a_site_admin_manages_only_their_sites_memberships_and_a_refusal_changes_nothing(
    client, make_user, site, other_site
):
    site_admin = make_user("admin", site, username="site-admin")
    site_admin.is_staff = True
    site_admin.save()
    site_admin.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_user",
                "change_user",
                "add_sitemembership",
                "delete_sitemembership",
                "view_sitemembership",
            ]
        )
    )
    member = make_user("auditor", other_site, username="pat")
    client.force_login(site_admin)
    # a user of DC2 only is not a user a DC1 admin sees (the user list is scoped to the viewer's sites)
    assert client.get(_user_url(member)).status_code == 404
    SiteMembership.objects.create(user=member, site=site, role="operator")

    response = client.get(_user_url(member))
    formset = response.context["inline_admin_formsets"][0].formset
    # DC2's membership is not shown to an admin of DC1 only
    assert [(f.instance.site.code, f.instance.role) for f in formset.initial_forms] == [("DC1", "operator")]
    assert list(formset.forms[0].fields["site"].queryset) == [site]

    def memberships():
        return set(SiteMembership.objects.filter(user=member).values_list("site__code", "role"))

    # a site the admin does not manage, forced into the post: refused on the form, nothing written
    refused = _user_post(client, member, [(None, other_site, "planner", False)])
    assert refused.status_code == 200
    assert memberships() == {("DC2", "auditor"), ("DC1", "operator")}

    added = _user_post(client, member, [(None, site, "planner", False)])
    assert added.status_code == 302
    assert SiteMembership.objects.get(user=member, site=site, role="planner").history.latest().history_user == (
        site_admin
    )


def test_a_staff_user_without_rights_gets_neither_the_user_page_nor_the_memberships(client, make_user, site):
    member = make_user("supervisor", site, username="pat")
    staff = make_user("auditor", site, username="plain-staff")  # sees DC1 (and its users), manages no site
    staff.is_staff = True
    staff.save()
    client.force_login(staff)

    assert client.get(_user_url(member)).status_code == 403
    assert client.post(_user_url(member), {"username": "pat"}).status_code == 403

    # may change users, but has no right on memberships: no memberships on the page
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    response = client.get(_user_url(member))
    assert response.status_code == 200
    assert response.context["inline_admin_formsets"] == []

    # memberships' model rights, but manages no site: the memberships are read only, and a post adds none
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_sitemembership", "add_sitemembership", "delete_sitemembership"])
    )
    response = client.get(_user_url(member))
    formset = response.context["inline_admin_formsets"][0]
    assert not formset.has_add_permission and not formset.has_delete_permission
    # DC1's membership, read only
    assert [(f.instance.site.code, f.instance.role) for f in formset.formset.initial_forms] == [("DC1", "supervisor")]
    _user_post(client, member, [(None, site, "planner", False)])
    assert list(SiteMembership.objects.filter(user=member).values_list("role", flat=True)) == ["supervisor"]


# --- the effective-rules grid --------------------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_deviations_only_shows_just_the_rules_a_site_deviates_from(admin_client_logged, admin_user, site, other_site):
    set_rule_now(user=admin_user, key="counting.tolerance_percent", value="3", reason="noisy scales", site=other_site)
    default_days = REGISTRY["receiving.overdue_grace_days"].default
    set_rule_now(  # an override with the enterprise value: no deviation
        user=admin_user, key="receiving.overdue_grace_days", value=str(default_days), reason="same", site=site
    )
    url = reverse("admin:governance_siterulevalue_effective")

    every = _page(admin_client_logged.get(url))
    only = _page(admin_client_logged.get(url, {"deviations": "1"}))

    assert "<code>receiving.overdue_grace_days</code>" in every
    assert "<code>counting.tolerance_percent</code>" in only
    shown = [key for key in REGISTRY if f"<code>{key}</code>" in only]
    assert shown == ["counting.tolerance_percent"]
    assert "Show every rule" in only and 'href="?deviations=1&amp;download=csv"' in only


def test_the_grids_links_and_its_form_keep_the_deviations_only_filter(
    admin_client_logged, admin_user, site, other_site
):
    set_rule_now(user=admin_user, key="counting.tolerance_percent", value="3", reason="noisy scales", site=other_site)
    url = reverse("admin:governance_siterulevalue_effective")
    only = _page(admin_client_logged.get(url, {"deviations": "1"}))
    key = "counting.tolerance_percent"
    assert f'href="?deviations=1&amp;key={key}&amp;site=#set-rule"' in only  # the enterprise value's "change"
    assert f'href="?deviations=1&amp;key={key}&amp;site=DC2#set-rule"' in only  # a site's "change"
    assert 'href="?key=' not in only
    assert '<input type="hidden" name="deviations" value="1">' in only
    every = _page(admin_client_logged.get(url))
    assert f'href="?key={key}&amp;site=DC2#set-rule"' in every and 'name="deviations"' not in every
    # after setting a value from the filtered grid, back to the filtered grid
    done = admin_client_logged.post(
        url, {"deviations": "1", "site": "DC1", "key": key, "value": "4", "reason": "also noisy"}
    )
    assert done.status_code == 302 and done["Location"] == f"{url}?deviations=1"
    refused = admin_client_logged.post(url, {"deviations": "1", "site": "DC1", "key": key, "value": "x", "reason": "r"})
    assert refused["Location"] == f"{url}?deviations=1&key={key}&site=DC1"
    plain = {"site": "DC1", "key": "receiving.overdue_grace_days", "value": "3", "reason": "slow carriers"}
    assert admin_client_logged.post(url, plain)["Location"] == url


def test_deviations_only_with_no_deviation_says_so(admin_client_logged, site):
    page = _page(admin_client_logged.get(reverse("admin:governance_siterulevalue_effective"), {"deviations": "1"}))
    assert "No site deviates from the enterprise value." in page
    assert not any(f"<code>{key}</code>" in page for key in REGISTRY)


def test_the_grid_downloads_as_csv_what_it_shows(admin_client_logged, admin_user, site, other_site):
    set_rule_now(user=admin_user, key="counting.tolerance_percent", value="3", reason="noisy scales", site=other_site)
    url = reverse("admin:governance_siterulevalue_effective")

    every = _csv(admin_client_logged.get(url, {"download": "csv"}))
    only = _csv(admin_client_logged.get(url, {"download": "csv", "deviations": "1"}))

    header = every[0]
    assert header[:8] == [
        "rule",
        "description",
        "type",
        "unit",
        "standardization",
        "bounds",
        "enterprise value",
        "default",
    ]
    assert header[8:] == ["DC1", "DC2", "deviating sites"]
    assert sorted(row[0] for row in every[1:]) == sorted(REGISTRY)
    assert [row[0] for row in only[1:]] == ["counting.tolerance_percent"]
    row = dict(zip(header, only[1], strict=True))
    tolerance = REGISTRY["counting.tolerance_percent"]
    assert row["DC2"] == "3" and row["DC1"] == human_value(tolerance.default, tolerance.key)
    assert row["deviating sites"] == "DC2"
    bools = [dict(zip(header, r, strict=True)) for r in every[1:] if REGISTRY[r[0]].type == "bool"]
    assert bools and all(r["enterprise value"] in ("yes", "no") and r["DC1"] in ("yes", "no") for r in bools)


def test_a_staff_user_without_rule_rights_gets_no_grid_and_no_csv(client, site):
    staff = UserFactory(username="plain-staff")
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    url = reverse("admin:governance_siterulevalue_effective")
    assert client.get(url, {"download": "csv"}).status_code == 403


# --- rule values as people read them -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key", "shown"),
    [
        (True, None, "yes"),
        (False, "orders.credit_check_enabled", "no"),
        (["FEFO", "FIFO"], None, "FEFO, FIFO"),
        ({"a": 1, "b": True}, None, "a: 1, b: yes"),
        ("500.00", "inventory.adjustment_approval_value", "500"),
        ("0.50", "inventory.adjustment_approval_value", "0.50"),
        (45, None, "45"),
        (None, None, ""),
    ],
)
def test_human_value(value, key, shown):
    assert human_value(value, key) == shown


RAW_JSON = (
    '["',
    "[&quot;",
    "{&quot;",
    '{"',
    ">true<",
    ">false<",
    "&quot;a&quot;",
    "'a': 1",
    "[&#x27;",
    "{&#x27;",
    "@DC1=",  # the row's old name: key@site=repr(value)
    "@enterprise=",
)


def _no_raw_json(page: str) -> None:
    for raw in RAW_JSON:
        assert raw not in page, raw


def test_rule_values_in_admin_lists_and_pages_show_no_json(admin_client_logged, admin_user, site):
    """List, dict and bool values (a stored list/dict is what a removed or retyped rule leaves behind)."""
    rows = [
        SiteRuleValue.objects.create(key="legacy.codes", site=site, value=["ALPHA", "BETA"], reason="old"),
        SiteRuleValue.objects.create(key="legacy.limits", site=None, value={"a": 1, "b": 2}, reason="old"),
    ]
    set_rule_now(user=admin_user, key="orders.credit_check_enabled", value="false", reason="pilot")
    rows.append(SiteRuleValue.objects.get(key="orders.credit_check_enabled"))

    listing = _page(admin_client_logged.get(reverse("admin:governance_siterulevalue_changelist")))
    _no_raw_json(listing)
    assert "ALPHA, BETA" in listing and "a: 1, b: 2" in listing and ">no<" in listing

    for row in rows:
        change = admin_client_logged.get(reverse("admin:governance_siterulevalue_change", args=[row.pk]))
        assert change.status_code == 200
        assert change.context["adminform"].form.initial["value"] == human_value(row.value, row.key)
        _no_raw_json(_page(change))  # the title too (the row's name)
        version = row.history.latest()
        history = admin_client_logged.get(
            reverse("admin:governance_siterulevalue_simple_history", args=[row.pk, version.history_id])
        )
        assert history.status_code == 200
        _no_raw_json(_page(history))
    history_page = _page(
        admin_client_logged.get(
            reverse(
                "admin:governance_siterulevalue_simple_history", args=[rows[0].pk, rows[0].history.latest().history_id]
            )
        )
    )
    assert "ALPHA, BETA" in history_page


def test_a_read_only_rule_value_page_shows_the_readable_value(client, make_user, site):
    auditor = make_user("auditor", site, username="auditor1")
    auditor.is_staff = True
    auditor.save()
    auditor.user_permissions.add(Permission.objects.get(codename="view_siterulevalue"))
    row = SiteRuleValue.objects.create(key="legacy.codes", site=site, value=["ALPHA", "BETA"], reason="old")
    client.force_login(auditor)

    page = _page(client.get(reverse("admin:governance_siterulevalue_change", args=[row.pk])))

    assert "ALPHA, BETA" in page
    _no_raw_json(page)


def test_rule_changes_show_values_as_people_read_them(admin_client_logged, admin_user, site):
    change = RuleChange.objects.create(
        key="orders.credit_check_enabled",
        site=site,
        action=RuleChange.Action.SET,
        value=False,
        previous_value=True,
        reason="pilot",
        requested_by=admin_user,
    )
    listing = _page(admin_client_logged.get(reverse("admin:governance_rulechange_changelist")))
    detail = _page(admin_client_logged.get(reverse("admin:governance_rulechange_change", args=[change.pk])))

    for page in (listing, detail):
        _no_raw_json(page)
    assert ">no<" in listing and ">yes<" in listing
    assert "no" in detail and "previous value" in detail.lower()
