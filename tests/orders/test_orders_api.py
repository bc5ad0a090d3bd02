"""API tests for customers/, sales-orders/ and atp/ — every behaviour, refusals leave nothing changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import SiteMembership
from inventory.models import StockLevel
from orders.models import SalesOrder
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord_api(api, coordinator):
    return api(coordinator)


def order_body(**kw):
    body = {
        "customer": "ACME",
        "promised_date": str(timezone.localdate() + timedelta(days=3)),
        "lines": [{"item": "WIDGET", "quantity": 2, "unit": "CASE"}],
    }
    body.update(kw)
    return body


def test_anonymous_requests_get_401_problem(api):
    response = api().get("/api/v1/sales-orders/")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/problem+json")


def test_create_order_converts_units_and_starts_as_draft(coord_api, customer, item):
    response = coord_api.post("/api/v1/sales-orders/", order_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "DRAFT" and body["number"].startswith("SO-")
    assert body["lines"][0]["quantity_base"] == 24
    assert response["ETag"]


def test_the_create_answer_is_the_order_as_read_back(coord_api, customer, item):
    """The create answers from the order the service wrote (no read back): the same body and ETag as a GET."""
    body = order_body(
        lines=[
            {"item": "WIDGET", "quantity": 2, "unit": "CASE", "unit_price": "3.5"},
            {"item": "WIDGET", "quantity": 5},
        ],
        allow_duplicate_lines=True,
        customer_reference="PO-77",
        carrier="ups",
    )
    created = coord_api.post("/api/v1/sales-orders/", body, format="json")
    assert created.status_code == 201, created.json()
    read = coord_api.get(f"/api/v1/sales-orders/{created.json()['id']}/")
    assert created.json() == read.json()
    assert created["ETag"] == read["ETag"]


def test_create_order_reports_every_line_error_and_writes_nothing(coord_api, customer, item):
    body = order_body(
        lines=[
            {"item": "WIDGET", "quantity": "0.5"},
            {"item": "NOPE", "quantity": 1},
            {"item": "WIDGET", "quantity": -1},
        ]
    )
    response = coord_api.post("/api/v1/sales-orders/", body, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"lines[0].quantity", "lines[1].item"} <= fields or "lines[2].quantity" in fields
    assert SalesOrder.objects.count() == 0


def test_release_answers_202_and_allocates(
    coord_api, customer, item, storage, stock, django_capture_on_commit_callbacks
):
    stock(item, storage, 100)
    order_id = coord_api.post("/api/v1/sales-orders/", order_body(), format="json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = coord_api.post(f"/api/v1/sales-orders/{order_id}/release/")
    assert response.status_code == 202
    detail = coord_api.get(f"/api/v1/sales-orders/{order_id}/").json()
    assert detail["status"] == "ALLOCATED"
    assert detail["lines"][0]["allocated_quantity"] == 24
    assert detail["decisions"][0]["rule"] == "SINGLE_SITE_HOME"
    assert StockLevel.objects.get(item=item, site=storage.site).allocated == 24


def test_releasing_a_cancelled_order_is_a_409_and_changes_nothing(coord_api, customer, item):
    order_id = coord_api.post("/api/v1/sales-orders/", order_body(), format="json").json()["id"]
    assert coord_api.post(f"/api/v1/sales-orders/{order_id}/cancel/").status_code == 200
    response = coord_api.post(f"/api/v1/sales-orders/{order_id}/release/")
    assert response.status_code == 409
    assert SalesOrder.objects.get(pk=order_id).status == "CANCELLED"


def test_patch_edits_a_draft_and_refuses_a_released_order(coord_api, customer, item):
    created = coord_api.post("/api/v1/sales-orders/", order_body(), format="json")
    order_id = created.json()["id"]
    response = coord_api.patch(
        f"/api/v1/sales-orders/{order_id}/",
        {"lines": [{"item": "WIDGET", "quantity": 5}]},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert response.status_code == 200 and response.json()["lines"][0]["quantity_base"] == 5
    coord_api.post(f"/api/v1/sales-orders/{order_id}/release/")
    response = coord_api.patch(
        f"/api/v1/sales-orders/{order_id}/", {"lines": [{"item": "WIDGET", "quantity": 9}]}, format="json"
    )
    assert response.status_code == 409
    assert SalesOrder.objects.get(pk=order_id).lines.get().quantity_base == 5


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(coord_api, customer, item):
    created = coord_api.post("/api/v1/sales-orders/", order_body(), format="json")
    order_id = created.json()["id"]
    coord_api.patch(f"/api/v1/sales-orders/{order_id}/", {"customer_reference": "PO-1"}, format="json")
    response = coord_api.patch(
        f"/api/v1/sales-orders/{order_id}/",
        {"customer_reference": "PO-2"},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert response.status_code == 412
    assert SalesOrder.objects.get(pk=order_id).customer_reference == "PO-1"


def test_server_owned_fields_are_ignored_on_create(coord_api, customer, item):
    response = coord_api.post("/api/v1/sales-orders/", order_body(status="SHIPPED", number="SO-999999"), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "DRAFT" and response.json()["number"] != "SO-999999"


def test_credit_hold_then_release_through_approvals(
    api, coord_api, site, item, storage, stock, make_user, django_capture_on_commit_callbacks
):
    stock(item, storage, 100)
    CustomerFactory(code="TIGHT", home_site=site, credit_limit="1.00")
    order_id = coord_api.post("/api/v1/sales-orders/", order_body(customer="TIGHT"), format="json").json()["id"]
    response = coord_api.post(f"/api/v1/sales-orders/{order_id}/release/")
    assert response.status_code == 202 and response.json()["status"] == "ON_HOLD"
    from governance.models import ApprovalRequest
    from governance.services import decide_approval

    approval = ApprovalRequest.objects.get(kind="ORDER_HOLD", object_id=order_id)
    with django_capture_on_commit_callbacks(execute=True):
        decide_approval(approval=approval, user=make_user("supervisor", site), approve=True)
    assert coord_api.get(f"/api/v1/sales-orders/{order_id}/").json()["status"] == "ALLOCATED"


def test_orders_of_another_site_are_404_and_not_listed(api, coord_api, customer, item, outsider):
    order_id = coord_api.post("/api/v1/sales-orders/", order_body(), format="json").json()["id"]
    client = api(outsider)
    assert client.get(f"/api/v1/sales-orders/{order_id}/").status_code == 404
    assert client.post(f"/api/v1/sales-orders/{order_id}/release/").status_code == 404
    assert client.get("/api/v1/sales-orders/").json()["count"] == 0
    assert SalesOrder.objects.get(pk=order_id).status == "DRAFT"


def test_list_filters_by_status_and_customer(coord_api, customer, item):
    coord_api.post("/api/v1/sales-orders/", order_body(), format="json")
    second = coord_api.post("/api/v1/sales-orders/", order_body(), format="json").json()["id"]
    coord_api.post(f"/api/v1/sales-orders/{second}/cancel/")
    assert coord_api.get("/api/v1/sales-orders/?status=CANCELLED").json()["count"] == 1
    assert coord_api.get("/api/v1/sales-orders/?customer=ACME&status=DRAFT").json()["count"] == 1


def test_atp_answers_per_visible_site(coord_api, item, storage, stock, other_site):
    stock(item, storage, 30)
    response = coord_api.get("/api/v1/atp/?item=WIDGET&quantity=2&unit=CASE")
    assert response.status_code == 200
    assert response.json()["quantity"] == 24
    row = response.json()["sites"][0]
    assert len(response.json()["sites"]) == 1
    assert {k: row[k] for k in ("site", "available", "allocated", "available_to_promise", "can_promise_now")} == {
        "site": "DC1",
        "available": 30,
        "allocated": 0,
        "available_to_promise": 30,
        "can_promise_now": True,
    }
    assert row["earliest_date"] is not None


def test_atp_refuses_bad_quantity_and_unknown_item(coord_api, item):
    assert coord_api.get("/api/v1/atp/?item=WIDGET&quantity=0.5").status_code == 400
    assert coord_api.get("/api/v1/atp/?item=NOPE").status_code == 404
    assert coord_api.get("/api/v1/atp/").status_code == 400


def test_customers_are_maintained_by_planners_not_coordinators(api, coord_api, make_user, site):
    body = {"code": "NEWCO", "name": "New Co", "home_site": "DC1", "credit_limit": "5000.00"}
    assert coord_api.post("/api/v1/customers/", body, format="json").status_code == 403
    planner = api(make_user(["planner", "credit"], site))  # a credit limit needs the credit role (issue 12)
    response = planner.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["credit_available"] == "5000.00"
    response = planner.patch("/api/v1/customers/NEWCO/", {"credit_limit": "-1"}, format="json")
    assert response.status_code == 400
    assert planner.get("/api/v1/customers/NEWCO/").json()["credit_limit"] == "5000.00"


def test_coordinator_without_membership_at_the_customer_site_cannot_order(api, customer, item, other_site):
    stranger = SiteMembership.objects.create(
        user=__import__("tests.factories", fromlist=["UserFactory"]).UserFactory(), site=other_site, role="coordinator"
    ).user
    response = api(stranger).post("/api/v1/sales-orders/", order_body(), format="json")
    assert response.status_code == 400
    assert SalesOrder.objects.count() == 0


def test_idempotency_key_replays_the_first_response_and_creates_nothing_more(coord_api, customer, item):
    first = coord_api.post("/api/v1/sales-orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    again = coord_api.post("/api/v1/sales-orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert SalesOrder.objects.count() == 1


def test_idempotency_key_with_a_different_body_is_422(coord_api, customer, item):
    coord_api.post("/api/v1/sales-orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-2")
    response = coord_api.post(
        "/api/v1/sales-orders/", order_body(customer_reference="X"), format="json", HTTP_IDEMPOTENCY_KEY="abc-2"
    )
    assert response.status_code == 422
    assert SalesOrder.objects.count() == 1


def test_idempotency_key_while_the_first_request_runs_is_409(coord_api, customer, item, coordinator):
    import psycopg
    from django.db import connection

    from core.api.idempotency import lock_key

    # the first request runs in another process: it holds the key's advisory lock until it commits
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname=params["dbname"], host=params.get("host"), port=params.get("port"), user=params.get("user")
    ) as other:
        other.execute("SELECT pg_advisory_xact_lock(%s)", [lock_key(coordinator.pk, "abc-3")])
        response = coord_api.post("/api/v1/sales-orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-3")
    assert response.status_code == 409
    assert SalesOrder.objects.count() == 0
    # once it is over, the key is free: the retry creates the order once
    again = coord_api.post("/api/v1/sales-orders/", order_body(), format="json", HTTP_IDEMPOTENCY_KEY="abc-3")
    assert again.status_code == 201 and SalesOrder.objects.count() == 1
