"""API tests of the foundation resources: every behaviour, refusals change nothing, sites stay separate."""

import pytest
from django.test import override_settings

from governance.models import ApprovalRequest, ExceptionCase, Site, SiteMembership, SiteRuleValue
from governance.services import open_exception
from inventory.models import Adjustment, Item, Location, StockLevel, StockMove
from tests.factories import ItemFactory, LocationFactory

pytestmark = pytest.mark.django_db


def problem_fields(response):
    return {e["field"] for e in response.json().get("errors", [])}


# --- auth ---------------------------------------------------------------------------------------


def test_anonymous_and_bad_tokens_get_401_problem_json(api):
    response = api().get("/api/v1/items/")
    assert response.status_code == 401 and response["Content-Type"].startswith("application/problem+json")
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert client.get("/api/v1/items/").status_code == 401


@override_settings(LOGIN_FAILURE_LIMIT=3)
def test_repeated_failed_logins_are_slowed_down_with_429_and_retry_after(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    for _ in range(3):
        assert client.get("/api/v1/items/").status_code == 401
    response = client.get("/api/v1/items/")
    assert response.status_code == 429 and int(response["Retry-After"]) > 0


def test_create_api_token_command_prints_the_key_alone_on_its_last_line(supervisor, api):
    from io import StringIO

    from django.core.management import call_command

    from governance.models import ApiToken

    out = StringIO()
    call_command("create_api_token", supervisor.username, "--expires-days", "5", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get(user=supervisor)
    assert key not in (token.digest, token.prefix) and token.expires_at is not None
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/sites/").status_code == 200


def test_revoked_and_expired_tokens_are_refused(supervisor, api):
    from datetime import timedelta

    from django.utils import timezone

    from distribution_erp.api.authentication import generate_token

    token, key = generate_token(user=supervisor)
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/sites/").status_code == 200
    token.revoked_at = timezone.now()
    token.save()
    assert client.get("/api/v1/sites/").status_code == 401
    _, key2 = generate_token(user=supervisor, expires_at=timezone.now() - timedelta(seconds=1))
    client.credentials(HTTP_AUTHORIZATION=f"Token {key2}")
    assert client.get("/api/v1/sites/").status_code == 401


# --- sites and memberships ---------------------------------------------------------------------------


def test_users_see_only_their_sites_and_another_site_is_404(api, supervisor, site, other_site):
    client = api(supervisor)
    assert [s["code"] for s in client.get("/api/v1/sites/").json()["results"]] == ["DC1"]
    assert client.get("/api/v1/sites/DC2/").status_code == 404


def test_only_enterprise_admins_create_sites_and_virtual_locations_come_with_them(api, admin_user, supervisor):
    body = {"code": "BR9", "name": "Branch 9", "region": "WEST", "kind": "BRANCH"}
    assert api(supervisor).post("/api/v1/sites/", body, format="json").status_code == 403
    assert not Site.objects.filter(code="BR9").exists()
    response = api(admin_user).post("/api/v1/sites/", body, format="json")
    assert response.status_code == 201
    site = Site.objects.get(code="BR9")
    assert set(Location.objects.filter(site=site).values_list("kind", flat=True)) == {
        "SUPPLIER",
        "CUSTOMER",
        "IN_TRANSIT",
        "ADJUSTMENT",
        "SCRAP",
    }
    assert site.history.first().history_user == admin_user


def test_site_create_with_bad_kind_is_400_and_creates_nothing(api, admin_user):
    response = api(admin_user).post(
        "/api/v1/sites/", {"code": "X1", "name": "x", "region": "r", "kind": "MOON"}, format="json"
    )
    assert response.status_code == 400 and "kind" in problem_fields(response)
    assert not Site.objects.filter(code="X1").exists()


def test_site_admins_manage_memberships_of_their_site_only(api, make_user, site, other_site, supervisor):
    site_admin = make_user("admin", site)
    client = api(site_admin)
    response = client.post(
        "/api/v1/site-memberships/", {"user": supervisor.username, "site": "DC1", "role": "planner"}, format="json"
    )
    assert response.status_code == 201
    again = client.post(
        "/api/v1/site-memberships/", {"user": supervisor.username, "site": "DC1", "role": "planner"}, format="json"
    )
    assert again.status_code == 409
    other = client.post(
        "/api/v1/site-memberships/", {"user": supervisor.username, "site": "DC2", "role": "planner"}, format="json"
    )
    assert other.status_code == 400
    assert api(supervisor).delete(f"/api/v1/site-memberships/{response.json()['id']}/").status_code == 403
    assert client.delete(f"/api/v1/site-memberships/{response.json()['id']}/").status_code == 204
    assert not SiteMembership.objects.filter(user=supervisor, role="planner").exists()


# --- site rules ---------------------------------------------------------------------------------------


def test_site_rules_show_effective_values_and_deviations(api, admin_user, supervisor, site):
    client = api(admin_user)
    response = client.put(
        "/api/v1/site-rules/inventory.adjustment_approval_value/",
        {"site": "DC1", "value": "250.00", "reason": "small site"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["value"] == "250.00" and response.json()["overridden"] is True
    rows = api(supervisor).get("/api/v1/site-rules/?site=DC1&key=inventory.adjustment_approval_value").json()
    assert rows["results"] == [response.json()]


def test_enterprise_rules_cannot_be_overridden_per_site(api, admin_user, site):
    response = api(admin_user).put(
        "/api/v1/site-rules/orders.credit_check_enabled/", {"site": "DC1", "value": False, "reason": "x"}, format="json"
    )
    assert response.status_code == 422
    assert not SiteRuleValue.objects.exists()


def test_rule_values_out_of_bounds_or_of_wrong_type_are_400(api, admin_user, site):
    client = api(admin_user)
    for value in ("-1", "abc", 2_000_000):
        response = client.put(
            "/api/v1/site-rules/inventory.adjustment_approval_value/",
            {"site": "DC1", "value": value, "reason": "x"},
            format="json",
        )
        assert response.status_code == 400, value
    assert client.put("/api/v1/site-rules/no.such.rule/", {"value": 1, "reason": "x"}, format="json").status_code == 404
    assert not SiteRuleValue.objects.exists()


def test_non_admins_cannot_change_rules(api, supervisor, site):
    response = api(supervisor).put(
        "/api/v1/site-rules/inventory.adjustment_approval_value/",
        {"site": "DC1", "value": "1", "reason": "x"},
        format="json",
    )
    assert response.status_code == 403 and not SiteRuleValue.objects.exists()


# --- items and locations --------------------------------------------------------------------------------


def test_items_are_created_with_units_and_patched_with_etag(api, admin_user):
    client = api(admin_user)
    body = {
        "sku": "NEW-1",
        "description": "New",
        "standard_cost": "2.50",
        "units": [{"code": "CASE", "factor": 6}],
        "abc_class": "A",
    }
    created = client.post("/api/v1/items/", body, format="json")
    assert created.status_code == 201, created.json()
    assert {"code": "CASE", "factor": 6} in created.json()["units"]
    etag = created["ETag"]
    assert (
        client.patch("/api/v1/items/NEW-1/", {"description": "Renamed"}, format="json", HTTP_IF_MATCH=etag).status_code
        == 200
    )
    stale = client.patch("/api/v1/items/NEW-1/", {"description": "Again"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    item = Item.objects.get(sku="NEW-1")
    assert item.description == "Renamed"
    assert item.history.first().history_user == admin_user


def test_item_create_refusals_are_400_and_create_nothing(api, admin_user, supervisor):
    client = api(admin_user)
    assert (
        client.post(
            "/api/v1/items/", {"sku": "B", "description": "b", "standard_cost": "-1"}, format="json"
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/api/v1/items/", {"sku": "B", "description": "b", "units": [{"code": "CASE", "factor": 0}]}, format="json"
        ).status_code
        == 400
    )
    assert api(supervisor).post("/api/v1/items/", {"sku": "B", "description": "b"}, format="json").status_code == 403
    assert not Item.objects.filter(sku="B").exists()


def test_locations_are_created_per_site_and_hidden_from_other_sites(api, supervisor, outsider, site):
    response = api(supervisor).post(
        "/api/v1/locations/", {"site": "DC1", "code": "Z-1", "kind": "STORAGE", "capacity": 100}, format="json"
    )
    assert response.status_code == 201, response.json()
    location_id = response.json()["id"]
    assert api(outsider).get(f"/api/v1/locations/{location_id}/").status_code == 404
    assert (
        api(outsider)
        .post("/api/v1/locations/", {"site": "DC1", "code": "Z-2", "kind": "STORAGE"}, format="json")
        .status_code
        == 400
    )
    assert (
        api(supervisor)
        .post("/api/v1/locations/", {"site": "DC1", "code": "V", "kind": "SUPPLIER"}, format="json")
        .status_code
        == 400
    )
    assert not Location.objects.filter(code__in=["Z-2", "V"]).exists()


# --- stock reads ------------------------------------------------------------------------------------------


def test_stock_levels_quants_and_moves_are_per_site(api, supervisor, outsider, item, storage, stock):
    stock(item, storage, 40)
    client = api(supervisor)
    level = client.get("/api/v1/stock-levels/?site=DC1&item=WIDGET").json()["results"][0]
    assert (level["on_hand"], level["available"], level["available_to_promise"]) == (40, 40, 40)
    quant = client.get("/api/v1/stock-quants/?item=WIDGET").json()["results"][0]
    assert (quant["location"], quant["quantity"], quant["status"]) == ("A-01-01", 40, "AVAILABLE")
    moves = client.get("/api/v1/stock-moves/").json()
    assert moves["results"][0]["kind"] == "RECEIPT" and "next" in moves
    other = api(outsider)
    assert other.get("/api/v1/stock-levels/").json()["results"] == []
    assert other.get("/api/v1/stock-moves/").json()["results"] == []
    assert other.get(f"/api/v1/stock-levels/{StockLevel.objects.get().pk}/").status_code == 404


def test_ledger_is_cursor_paginated_newest_first(api, supervisor, item, storage, stock):
    for qty in range(1, 6):
        stock(item, storage, qty)
    client = api(supervisor)
    first = client.get("/api/v1/stock-moves/?page_size=2").json()
    assert [m["quantity"] for m in first["results"]] == [5, 4]
    second = client.get(first["next"]).json()
    assert [m["quantity"] for m in second["results"]] == [3, 2]


def test_page_size_is_capped(api, supervisor, site):
    for n in range(3):
        LocationFactory(site=site, code=f"P{n}")
    response = api(supervisor).get("/api/v1/locations/?page_size=100000")
    assert response.status_code == 200


# --- adjustments --------------------------------------------------------------------------------------------


def adj(**kw):
    body = {
        "site": "DC1",
        "location": "A-01-01",
        "item": "WIDGET",
        "quantity_delta": -3,
        "reason_code": "LOST",
        "note": "cycle check",
    }
    body.update(kw)
    return body


def test_small_adjustment_applies_at_once(api, operator, item, storage, stock):
    stock(item, storage, 10)
    response = api(operator).post("/api/v1/adjustments/", adj(), format="json")
    assert response.status_code == 201 and response.json()["status"] == "APPLIED"
    assert StockLevel.objects.get().available == 7


def test_adjustment_in_cases_is_converted(api, operator, item, storage, stock):
    stock(item, storage, 30)
    response = api(operator).post("/api/v1/adjustments/", adj(quantity_delta=-2, unit="CASE"), format="json")
    assert response.json()["quantity_delta"] == -24


def test_large_adjustment_waits_for_another_approver(api, operator, supervisor, item, storage, stock):
    stock(item, storage, 100)
    created = api(operator).post("/api/v1/adjustments/", adj(quantity_delta=-60), format="json").json()
    assert created["status"] == "PENDING_APPROVAL"
    assert StockLevel.objects.get().available == 100
    assert api(operator).post(f"/api/v1/adjustments/{created['id']}/approve/").status_code == 403
    approved = api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/", {"note": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "APPLIED"
    assert StockLevel.objects.get().available == 40
    assert api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/").status_code == 409


def test_requester_cannot_approve_their_own_adjustment(api, supervisor, item, storage, stock):
    stock(item, storage, 100)
    created = api(supervisor).post("/api/v1/adjustments/", adj(quantity_delta=-60), format="json").json()
    response = api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/")
    assert response.status_code == 422
    assert Adjustment.objects.get().status == "PENDING_APPROVAL"
    assert ApprovalRequest.objects.get().status == "PENDING"


def test_adjustment_refusals_change_nothing(api, operator, outsider, item, storage, stock):
    stock(item, storage, 5)
    client = api(operator)
    moves = StockMove.objects.count()
    assert client.post("/api/v1/adjustments/", adj(quantity_delta=-6), format="json").status_code == 422
    assert client.post("/api/v1/adjustments/", adj(quantity_delta="1.5"), format="json").status_code == 400
    assert client.post("/api/v1/adjustments/", adj(quantity_delta=0), format="json").status_code == 400
    assert client.post("/api/v1/adjustments/", adj(quantity_delta=2_000_000_000), format="json").status_code == 400
    assert client.post("/api/v1/adjustments/", adj(reason_code="WHIM"), format="json").status_code == 400
    assert client.post("/api/v1/adjustments/", adj(location="NOPE"), format="json").status_code == 400
    assert api(outsider).post("/api/v1/adjustments/", adj(), format="json").status_code == 400
    assert StockMove.objects.count() == moves and Adjustment.objects.count() == 0
    assert StockLevel.objects.get().available == 5


def test_adjustments_of_another_site_are_404(api, operator, outsider, item, storage, stock):
    stock(item, storage, 10)
    created = api(operator).post("/api/v1/adjustments/", adj(), format="json").json()
    assert api(outsider).get(f"/api/v1/adjustments/{created['id']}/").status_code == 404
    assert api(outsider).post(f"/api/v1/adjustments/{created['id']}/approve/").status_code == 404


def test_adjustment_idempotency_key_replays(api, operator, item, storage, stock):
    stock(item, storage, 10)
    client = api(operator)
    first = client.post("/api/v1/adjustments/", adj(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    second = client.post("/api/v1/adjustments/", adj(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.json()["id"] == second.json()["id"]
    assert Adjustment.objects.count() == 1 and StockLevel.objects.get().available == 7


def test_server_owned_fields_are_ignored(api, operator, item, storage, stock):
    stock(item, storage, 10)
    response = api(operator).post(
        "/api/v1/adjustments/", adj(status="REJECTED", value="0", number="ADJ-9"), format="json"
    )
    assert response.json()["status"] == "APPLIED" and response.json()["number"] != "ADJ-9"


# --- approvals and exceptions --------------------------------------------------------------------------


def test_exceptions_are_acknowledged_assigned_and_resolved(api, supervisor, outsider, site, item):
    case, _ = open_exception(site=site, code="STOCKOUT", subject=item, summary="out")
    client = api(supervisor)
    assert client.get("/api/v1/exceptions/?status=OPEN&site=DC1").json()["count"] == 1
    assert client.post(f"/api/v1/exceptions/{case.pk}/acknowledge/").json()["status"] == "ACKNOWLEDGED"
    assert client.post(f"/api/v1/exceptions/{case.pk}/acknowledge/").status_code == 409
    assert (
        client.post(f"/api/v1/exceptions/{case.pk}/assign/", {"assignee": outsider.username}, format="json").status_code
        == 400
    )
    assert client.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": ""}, format="json").status_code == 400
    resolved = client.post(f"/api/v1/exceptions/{case.pk}/resolve/", {"note": "restocked"}, format="json")
    assert resolved.json()["status"] == "RESOLVED"
    assert api(outsider).get(f"/api/v1/exceptions/{case.pk}/").status_code == 404
    assert ExceptionCase.objects.get().resolution_note == "restocked"


def test_approvals_list_is_per_site(api, operator, supervisor, outsider, item, storage, stock):
    stock(item, storage, 100)
    api(operator).post("/api/v1/adjustments/", adj(quantity_delta=-60), format="json")
    assert api(supervisor).get("/api/v1/approvals/?status=PENDING").json()["count"] == 1
    assert api(outsider).get("/api/v1/approvals/").json()["count"] == 0


def test_request_body_over_the_limit_is_413(api, admin_user):
    with override_settings(API_MAX_BODY_BYTES=100):
        from distribution_erp import middleware  # noqa: F401

        response = api(admin_user).post("/api/v1/items/", {"sku": "X", "description": "y" * 500}, format="json")
    assert response.status_code == 413
    assert not Item.objects.filter(sku="X").exists()


def test_master_data_is_readable_by_every_member(api, outsider):
    ItemFactory(sku="SHARED")
    assert api(outsider).get("/api/v1/items/SHARED/").status_code == 200
