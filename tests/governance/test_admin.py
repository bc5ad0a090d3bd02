"""Django admin: every page loads, the ledger is read only, rules and approvals go through services."""

from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from simple_history.admin import SimpleHistoryAdmin

from governance.api.authentication import generate_token
from governance.models import (
    ApiToken,
    ApprovalRequest,
    ExceptionCase,
    IdempotencyRecord,
    Site,
    SiteMembership,
    SiteRuleValue,
)
from governance.rules import REGISTRY
from governance.services import open_exception, record_job
from inventory.models import Adjustment, Item, ItemSubstitute, Location, Lot, StockLevel, StockMove, StockQuant, Zone
from inventory.services import adjust_stock
from tests.factories import ItemFactory, LocationFactory, UserFactory, ZoneFactory, set_rule_now

pytestmark = pytest.mark.django_db

LEDGER_MODELS = (StockMove, StockQuant, StockLevel)


@pytest.fixture
def admin_client_logged(client, admin_user):
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    return client


@pytest.fixture
def every_kind_of_row(admin_user, supervisor, site, item, storage, stock):
    """At least one row of every governance and inventory model, made through the services."""
    stock(item, storage, 100)
    lot_item = ItemFactory(sku="MILK", lot_tracked=True, shelf_life_days=20)
    lot = Lot.objects.create(item=lot_item, number="L-1", expiry_date=date.today() + timedelta(days=20))
    stock(lot_item, storage, 10, lot=lot)
    ItemSubstitute.objects.create(item=item, substitute=ItemFactory(sku="WIDGET-2"))
    ZoneFactory(site=site, code="BULK")
    adjust_stock(user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x")
    from governance.models import OutboxMessage
    from governance.services.webhooks import create_subscription, fan_out

    create_subscription(user=admin_user, url="http://127.0.0.1:9/hook", name="ci receiver")
    open_exception(site=site, code="SHORT_PICK", subject=storage, summary="short")
    fan_out(OutboxMessage.objects.filter(kind="EVENT", topic="exception.opened").latest("pk"))  # a delivery row
    with record_job("demo_job", site=site) as counts:
        counts["done"] = 1
    generate_token(user=admin_user, name="ci")
    IdempotencyRecord.objects.create(user=admin_user, key="k1", method="POST", path="/api/v1/x/", request_hash="0" * 64)
    set_rule_now(user=admin_user, key="inventory.adjustment_approval_value", value="250", reason="small", site=site)
    from inventory.services.counts import create_cycle_count, enter_count

    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    enter_count(user=supervisor, line=count.lines.first(), quantity=40)
    from governance.services.rollout import create_wave

    today = date.today()
    create_wave(
        user=admin_user, code="W1", planned_cutover=today, planned_go_live=today + timedelta(days=30), sites=[site]
    )


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _page(response) -> str:
    return response.content.decode()


def _staff(make_user, roles, *sites, username, perms=("view",)):
    """A staff user (not superuser) with Django model permissions on governance and inventory."""
    user = make_user(roles, *sites, username=username)
    user.is_staff = True
    user.save()
    wanted = Permission.objects.filter(content_type__app_label__in=["governance", "inventory"])
    user.user_permissions.set([p for p in wanted if p.codename.split("_", 1)[0] in perms])
    return user


# --- pages load --------------------------------------------------------------------------------------------


def test_every_registered_model_has_a_working_changelist_and_add_or_view_page(admin_client_logged, every_kind_of_row):
    for model, model_admin in admin.site._registry.items():
        url = _url(model, "changelist")
        response = admin_client_logged.get(url)
        assert response.status_code == 200, url
        assert admin_client_logged.get(url, {"q": "x"}).status_code == 200, url
        obj = model._default_manager.first()
        if model._meta.app_label in ("governance", "inventory"):
            assert obj is not None, f"no {model.__name__} row to open"
        if obj is not None:
            change = _url(model, "change", obj.pk)
            assert admin_client_logged.get(change).status_code == 200, change
            if isinstance(model_admin, SimpleHistoryAdmin):
                history = _url(model, "history", obj.pk)
                # a count line still being counted is blind, to admins too (its history holds quantities)
                blind = model._meta.model_name == "cyclecountline" and obj.status in ("OPEN", "RECOUNT")
                assert admin_client_logged.get(history).status_code == (403 if blind else 200), history
        add = admin_client_logged.get(_url(model, "add"))
        assert add.status_code in (200, 403), model


def test_the_effective_rules_page_is_linked_from_the_rule_values_list(admin_client_logged, site):
    page = _page(admin_client_logged.get(_url(SiteRuleValue, "changelist")))
    assert reverse("admin:governance_siterulevalue_effective") in page


# --- the ledger is read only -------------------------------------------------------------------------------


def test_the_ledger_cannot_be_added_changed_or_deleted_in_admin(admin_client_logged, item, storage, stock):
    stock(item, storage, 5)
    move = StockMove.objects.get()
    assert admin_client_logged.get(reverse("admin:inventory_stockmove_add")).status_code == 403
    assert (
        admin_client_logged.post(
            reverse("admin:inventory_stockmove_delete", args=[move.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert StockMove.objects.count() == 1


@pytest.mark.parametrize("model", LEDGER_MODELS)
def test_ledger_and_balances_are_read_only_for_enterprise_admins_too(admin_client_logged, admin_user, model, stock):
    from tests.factories import SiteFactory

    site = SiteFactory(code="RO1")
    item = ItemFactory(sku="RO-ITEM")
    location = LocationFactory(site=site, code="RO-A")
    stock(item, location, 7)
    obj = model.objects.first()
    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": admin_user})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    change = admin_client_logged.get(_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert 'name="_save"' not in _page(change)
    before = list(model.objects.values())
    assert admin_client_logged.post(_url(model, "change", obj.pk), {"quantity": 1}).status_code == 403
    assert admin_client_logged.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    response = admin_client_logged.post(
        _url(model, "changelist"), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert list(model.objects.values()) == before


# --- site rules ------------------------------------------------------------------------------------------


def test_effective_rules_page_shows_deviations_and_refuses_enterprise_overrides(admin_client_logged, site):
    url = reverse("admin:governance_siterulevalue_effective")
    response = admin_client_logged.post(
        url, {"key": "orders.credit_check_enabled", "site": "DC1", "value": "false", "reason": "try"}, follow=True
    )
    assert "Refused" in _page(response)
    assert "standardized at enterprise level" in _page(response)
    assert not SiteRuleValue.objects.exists()
    admin_client_logged.post(
        url, {"key": "picking.min_remaining_shelf_life_days", "site": "DC1", "value": "45", "reason": "retail"}
    )  # not a control rule: applies at once (tests/security/test_approval_controls.py covers control rules here)
    page = _page(admin_client_logged.get(url))
    assert "deviates" in page
    assert '<strong>DC1</strong>: <span class="count nonzero">1</span>' in page


def test_effective_rules_page_lists_every_declared_rule_with_each_sites_value(
    admin_client_logged, admin_user, site, other_site
):
    set_rule_now(user=admin_user, key="counting.tolerance_percent", value="3", reason="noisy scales", site=other_site)

    page = _page(admin_client_logged.get(reverse("admin:governance_siterulevalue_effective")))

    for key in REGISTRY:
        assert f"<code>{key}</code>" in page
    assert "<th>DC1</th>" in page and "<th>DC2</th>" in page
    assert 'title="noisy scales"' in page
    assert '<strong>DC1</strong>: <span class="count">0</span>' in page
    assert '<strong>DC2</strong>: <span class="count nonzero">1</span>' in page
    assert "max 100" in page  # bounds of counting.tolerance_percent


def test_effective_rules_page_refuses_values_out_of_bounds_and_clears_overrides(admin_client_logged, site):
    url = reverse("admin:governance_siterulevalue_effective")
    key = "receiving.overdue_grace_days"  # not a control rule: set and cleared at once

    refused = admin_client_logged.post(url, {"key": key, "site": "DC1", "value": "80", "reason": "x"}, follow=True)
    assert "must be at most 60" in _page(refused)
    assert not SiteRuleValue.objects.exists()

    admin_client_logged.post(url, {"key": key, "site": "DC1", "value": "10", "reason": "slow carriers"})
    assert SiteRuleValue.objects.get(key=key, site=site).value == 10
    admin_client_logged.post(url, {"key": key, "site": "DC1", "clear": "1"})
    assert not SiteRuleValue.objects.exists()


def test_rule_value_form_saves_through_the_service_and_shows_refusals_on_the_form(
    admin_client_logged, admin_user, site
):
    add = _url(SiteRuleValue, "add")

    refused = admin_client_logged.post(
        add, {"key": "orders.credit_check_enabled", "site": site.pk, "value": "false", "reason": "no"}
    )
    assert refused.status_code == 200  # the form again, with the service's message
    assert "standardized at enterprise level" in _page(refused)
    bad_type = admin_client_logged.post(
        add, {"key": "picking.min_remaining_shelf_life_days", "site": site.pk, "value": "soon", "reason": "r"}
    )
    assert "Expected int" in _page(bad_type)
    assert not SiteRuleValue.objects.exists()

    saved = admin_client_logged.post(
        add, {"key": "picking.min_remaining_shelf_life_days", "site": site.pk, "value": "45", "reason": "retail"}
    )
    assert saved.status_code == 302
    row = SiteRuleValue.objects.get()
    assert (row.value, row.updated_by, row.history.first().history_user) == (45, admin_user, admin_user)

    change = admin_client_logged.post(_url(SiteRuleValue, "change", row.pk), {"value": "99999", "reason": "r"})
    assert "must be at most 3650" in _page(change)
    assert SiteRuleValue.objects.get().value == 45


# --- sites and memberships -------------------------------------------------------------------------------


def test_site_added_in_admin_gets_its_virtual_locations(admin_client_logged):
    response = admin_client_logged.post(
        _url(Site, "add"),
        {
            "code": "BR9",
            "name": "Harbour branch",
            "region": "WEST",
            "kind": "BRANCH",
            "timezone": "UTC",
            "address": "",
            "active": "on",
            "stage": "PLANNED",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    site = Site.objects.get(code="BR9")
    assert site.stage == Site.Stage.PLANNED  # a new site starts its roll-out
    assert set(Location.objects.filter(site=site).values_list("kind", flat=True)) == set(Location.VIRTUAL_KINDS)


def test_membership_added_in_admin_goes_through_the_service_checks(admin_client_logged, site):
    member = UserFactory(username="newbie")
    gone = UserFactory(username="gone", is_active=False)
    add = _url(SiteMembership, "add")

    inactive = admin_client_logged.post(add, {"user": gone.pk, "site": site.pk, "role": "operator"})
    assert inactive.status_code == 200
    assert not SiteMembership.objects.filter(user=gone).exists()
    assert admin_client_logged.post(add, {"user": member.pk, "site": site.pk, "role": "operator"}).status_code == 302
    twice = admin_client_logged.post(add, {"user": member.pk, "site": site.pk, "role": "operator"})
    assert twice.status_code == 200
    assert SiteMembership.objects.filter(user=member).count() == 1


def test_site_admin_manages_memberships_of_their_site_only(client, make_user, site, other_site):
    manager = _staff(make_user, "admin", site, username="site-manager", perms=("view", "add", "delete"))
    client.force_login(manager)
    member = UserFactory(username="picker")
    add = _url(SiteMembership, "add")

    refused = client.post(add, {"user": member.pk, "site": other_site.pk, "role": "operator"})
    assert refused.status_code == 200
    assert client.post(add, {"user": member.pk, "site": site.pk, "role": "operator"}).status_code == 302
    assert list(SiteMembership.objects.filter(user=member).values_list("site__code", flat=True)) == ["DC1"]


# --- approvals, adjustments, exceptions --------------------------------------------------------------------


def test_adjustment_approval_in_admin_keeps_segregation_of_duties(client, supervisor, item, storage, stock):
    stock(item, storage, 100)
    supervisor.is_staff = True
    supervisor.is_superuser = True
    supervisor.save()
    adjustment = adjust_stock(
        user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x"
    )
    client.force_login(supervisor)
    response = client.post(
        reverse("admin:inventory_adjustment_changelist"),
        {"action": "approve", "_selected_action": [adjustment.pk]},
        follow=True,
    )
    assert "cannot decide a request you made yourself" in response.content.decode()
    assert Adjustment.objects.get().status == "PENDING_APPROVAL"
    assert StockQuant.objects.get(item=item, location=storage).quantity == 100


def test_another_approver_applies_the_adjustment_from_admin(admin_client_logged, supervisor, item, storage, stock):
    stock(item, storage, 100)
    adjustment = adjust_stock(
        user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x"
    )

    response = admin_client_logged.post(
        _url(Adjustment, "changelist"), {"action": "approve", "_selected_action": [adjustment.pk]}, follow=True
    )

    assert "Approved 1 of 1 selected" in _page(response)
    assert Adjustment.objects.get().status == "APPLIED"
    assert StockQuant.objects.get(item=item, location=storage).quantity == 40


def test_approval_requests_are_decided_through_the_service(admin_client_logged, supervisor, item, storage, stock):
    stock(item, storage, 100)
    adjust_stock(user=supervisor, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="x")
    approval = ApprovalRequest.objects.get()

    admin_client_logged.post(
        _url(ApprovalRequest, "changelist"), {"action": "reject", "_selected_action": [approval.pk]}
    )
    again = admin_client_logged.post(
        _url(ApprovalRequest, "changelist"), {"action": "approve", "_selected_action": [approval.pk]}, follow=True
    )

    assert ApprovalRequest.objects.get().status == "REJECTED"
    assert Adjustment.objects.get().status == "REJECTED"
    assert "already rejected" in _page(again)
    assert StockQuant.objects.get(item=item, location=storage).quantity == 100


def test_exceptions_are_acknowledged_and_resolved_with_a_note(admin_client_logged, admin_user, site, storage):
    case, _ = open_exception(site=site, code="SHORT_PICK", subject=storage, summary="short")
    changelist = _url(ExceptionCase, "changelist")

    admin_client_logged.post(changelist, {"action": "acknowledge", "_selected_action": [case.pk]})
    case.refresh_from_db()
    assert (case.status, case.acknowledged_by) == ("ACKNOWLEDGED", admin_user)

    asks = admin_client_logged.post(changelist, {"action": "resolve", "_selected_action": [case.pk]})
    assert asks.status_code == 200 and 'name="note"' in _page(asks)
    no_note = admin_client_logged.post(
        changelist, {"action": "resolve", "_selected_action": [case.pk], "apply": "1", "note": ""}
    )
    assert no_note.status_code == 200
    assert ExceptionCase.objects.get().status == "ACKNOWLEDGED"
    admin_client_logged.post(
        changelist, {"action": "resolve", "_selected_action": [case.pk], "apply": "1", "note": "Recounted, fine."}
    )
    case.refresh_from_db()
    assert (case.status, case.resolution_note) == ("RESOLVED", "Recounted, fine.")


# --- api tokens -----------------------------------------------------------------------------------------------


def test_api_tokens_are_listed_without_digest_and_can_be_revoked(admin_client_logged, admin_user):
    token, key = generate_token(user=admin_user, name="edi")
    listing = _page(admin_client_logged.get(_url(ApiToken, "changelist")))
    detail = _page(admin_client_logged.get(_url(ApiToken, "change", token.pk)))
    for page in (listing, detail):
        assert token.prefix in page
        assert token.digest not in page and key not in page

    admin_client_logged.post(_url(ApiToken, "changelist"), {"action": "revoke", "_selected_action": [token.pk]})

    assert ApiToken.objects.get().revoked_at is not None


# --- master data through services ------------------------------------------------------------------------------


def _item_form(**overrides):
    data = {
        "sku": "BOLT-M8",
        "description": "Hex bolt M8x40",
        "base_unit": "EA",
        "category": "Fasteners",
        "storage_type": "AMBIENT",
        "standard_cost": "0.35",
        "currency": "USD",
        "abc_class": "B",
        "active": "on",
        "units-TOTAL_FORMS": "2",
        "units-INITIAL_FORMS": "0",
        "units-0-code": "EA",
        "units-0-factor": "1",
        "units-1-code": "CASE",
        "units-1-factor": "100",
        "substitute_links-TOTAL_FORMS": "0",
        "substitute_links-INITIAL_FORMS": "0",
        "barcodes-TOTAL_FORMS": "0",
        "barcodes-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_item_barcodes_in_admin_go_through_the_service(admin_client_logged):
    with_case = {
        "barcodes-TOTAL_FORMS": "2",
        "barcodes-0-code": "4006381333931",
        "barcodes-0-unit_code": "",
        "barcodes-1-code": "14006381333938",
        "barcodes-1-unit_code": "case",
    }
    response = admin_client_logged.post(_url(Item, "add"), _item_form(**with_case))
    assert response.status_code == 302, _page(response)
    item = Item.objects.get(sku="BOLT-M8")
    assert sorted(item.barcodes.values_list("gtin", "unit__code")) == [
        ("04006381333931", None),
        ("14006381333938", "CASE"),
    ]
    change = _page(admin_client_logged.get(_url(Item, "change", item.pk)))
    assert 'value="14006381333938"' in change and 'value="CASE"' in change
    bad = _item_form(**{**with_case, "sku": "BOLT-M9", "barcodes-1-code": "14006381333939"})
    response = admin_client_logged.post(_url(Item, "add"), bad)
    assert response.status_code == 200 and "the last digit should be 8" in _page(response)
    assert not Item.objects.filter(sku="BOLT-M9").exists()


def test_item_added_in_admin_is_created_with_its_units_through_the_service(admin_client_logged, admin_user):
    other = ItemFactory(sku="BOLT-M8-ZINC")
    data = _item_form(
        **{
            "substitute_links-TOTAL_FORMS": "1",
            "substitute_links-0-substitute": other.pk,
            "substitute_links-0-preference": "1",
        }
    )

    response = admin_client_logged.post(_url(Item, "add"), data)

    assert response.status_code == 302, _page(response)
    item = Item.objects.get(sku="BOLT-M8")
    assert dict(item.units.values_list("code", "factor")) == {"EA": 1, "CASE": 100}
    assert [s.substitute.sku for s in item.substitute_links.all()] == ["BOLT-M8-ZINC"]
    assert item.history.first().history_user == admin_user


def test_item_refused_by_the_service_shows_the_reason_and_saves_nothing(admin_client_logged):
    response = admin_client_logged.post(_url(Item, "add"), _item_form(**{"units-0-factor": "2"}))

    assert response.status_code == 200
    assert "The base unit EA has factor 1" in _page(response)
    assert not Item.objects.filter(sku="BOLT-M8").exists()


def test_virtual_locations_are_read_only_and_new_locations_use_the_service(admin_client_logged, site):
    virtual = Location.objects.get(site=site, kind="ADJUSTMENT")
    zone = ZoneFactory(site=site, code="PICK")
    assert 'name="_save"' not in _page(admin_client_logged.get(_url(Location, "change", virtual.pk)))
    assert admin_client_logged.post(_url(Location, "change", virtual.pk), {"code": "X"}).status_code == 403

    made = admin_client_logged.post(
        _url(Location, "add"),
        {"site": site.pk, "code": "F-01-01-A", "kind": "PICK", "zone": zone.pk, "aisle": "F", "active": "on"},
    )

    assert made.status_code == 302
    assert Location.objects.get(code="F-01-01-A").zone == zone
    assert Zone.objects.filter(site=site).count() == 1


# --- site-restricted staff -------------------------------------------------------------------------------------


def test_site_restricted_staff_see_only_their_sites_rows(client, make_user, site, other_site, supervisor, stock):
    staff = _staff(make_user, "supervisor", site, username="dc1-staff")
    mine = LocationFactory(site=site, code="MINE-01")
    theirs = LocationFactory(site=other_site, code="THEIRS-01")
    item = ItemFactory(sku="SHARED")
    stock(item, mine, 5)
    stock(item, theirs, 6)
    open_exception(site=site, code="SHORT_PICK", subject=mine, summary="mine")
    open_exception(site=other_site, code="SHORT_PICK", subject=theirs, summary="theirs")
    client.force_login(staff)

    for model, visible, hidden in (
        (Location, "MINE-01", "THEIRS-01"),
        (StockQuant, "DC1/MINE-01", "DC2/THEIRS-01"),
        (StockMove, "DC1/MINE-01", "DC2/THEIRS-01"),
        (ExceptionCase, "DC1/MINE-01", "DC2/THEIRS-01"),
        (Site, "Central DC", "West DC"),
    ):
        page = _page(client.get(_url(model, "changelist")))
        assert visible in page, model
        assert hidden not in page, model
    assert client.get(_url(Location, "change", theirs.pk)).status_code == 404  # not visible: not found
    assert client.get(_url(Location, "change", mine.pk)).status_code == 200
    assert client.get(_url(StockLevel, "changelist")).context["cl"].result_count == 1


def test_site_page_adds_and_removes_memberships_through_the_services(admin_client_logged, admin_user, site):
    member = UserFactory(username="dock-lead")
    old = SiteMembership.objects.create(user=UserFactory(username="leaver"), site=site, role="operator")
    base = {
        "name": site.name,
        "region": site.region,
        "kind": site.kind,
        "timezone": site.timezone,
        "address": "1 Quay Road",
        "active": "on",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-0-id": old.pk,
        "memberships-0-site": site.pk,
        "memberships-0-user": old.user_id,
        "memberships-0-role": "operator",
        "memberships-0-DELETE": "on",
        "memberships-1-site": site.pk,
        "memberships-1-user": member.pk,
        "memberships-1-role": "supervisor",
    }

    response = admin_client_logged.post(_url(Site, "change", site.pk), base)

    assert response.status_code == 302
    assert list(SiteMembership.objects.filter(site=site).values_list("user__username", "role")) == [
        ("dock-lead", "supervisor")
    ]
    site.refresh_from_db()
    assert site.address == "1 Quay Road"
    assert site.history.first().history_user == admin_user
    assert SiteMembership.history.filter(history_type="-", user_id=old.user_id).get().history_user == admin_user
