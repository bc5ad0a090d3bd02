"""approvals/: pending requests of your sites, decided by an approver who is not the requester."""

import pytest

from governance.models import ApprovalRequest
from inventory.models import Adjustment, StockLevel

from .helpers import history_user, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_id(api, operator, item, storage, stock):
    stock(item, storage, 100)
    body = {
        "site": "DC1",
        "location": "A-01-01",
        "item": "WIDGET",
        "quantity_delta": -60,
        "reason_code": "DAMAGE",
        "note": "forklift",
    }
    assert api(operator).post("/api/v1/adjustments/", body, format="json").json()["status"] == "PENDING_APPROVAL"
    return ApprovalRequest.objects.get().pk


def test_approvals_list_per_site_with_filters(api, supervisor, outsider, request_id):
    client = api(supervisor)
    rows = client.get("/api/v1/approvals/?status=PENDING&site=DC1&kind=ADJUSTMENT").json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert (row["kind"], row["site"], row["status"], row["requested_by"], row["decided_by"]) == (
        "ADJUSTMENT",
        "DC1",
        "PENDING",
        "operator1",
        None,
    )
    assert row["rule_key"] == "inventory.adjustment_approval_value" and row["threshold"] == "500.00"
    assert client.get("/api/v1/approvals/?status=APPROVED").json()["count"] == 0
    problem(client.get("/api/v1/approvals/?status=SOMETIMES"), 400)


def test_approvals_of_another_site_are_hidden_and_404(api, outsider, request_id):
    assert api(outsider).get("/api/v1/approvals/").json()["count"] == 0
    problem(api(outsider).get(f"/api/v1/approvals/{request_id}/"), 404)
    problem(api(outsider).post(f"/api/v1/approvals/{request_id}/approve/", format="json"), 404)
    assert ApprovalRequest.objects.get().status == "PENDING"


def test_approving_applies_the_adjustment_and_records_the_decider(api, supervisor, request_id):
    response = api(supervisor).post(f"/api/v1/approvals/{request_id}/approve/", {"note": "seen it"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decided_by"], body["decision_note"]) == ("APPROVED", "supervisor1", "seen it")
    assert Adjustment.objects.get().status == "APPLIED" and StockLevel.objects.get().available == 40
    assert history_user(ApprovalRequest.objects.get()) == supervisor


def test_rejecting_leaves_the_stock_alone(api, supervisor, request_id):
    response = api(supervisor).post(f"/api/v1/approvals/{request_id}/reject/", format="json")
    assert response.status_code == 200 and response.json()["status"] == "REJECTED"
    assert Adjustment.objects.get().status == "REJECTED" and StockLevel.objects.get().available == 100


def test_a_decided_request_is_409(api, supervisor, request_id):
    api(supervisor).post(f"/api/v1/approvals/{request_id}/reject/", format="json")
    problem(api(supervisor).post(f"/api/v1/approvals/{request_id}/approve/", format="json"), 409)
    assert ApprovalRequest.objects.get().status == "REJECTED" and StockLevel.objects.get().available == 100


def test_the_requester_cannot_decide_their_own_request_422(api, operator, make_user, site, request_id):
    self_approver = make_user("supervisor", site, username="self-approver")
    ApprovalRequest.objects.update(requested_by=self_approver)
    problem(api(self_approver).post(f"/api/v1/approvals/{request_id}/approve/", format="json"), 422)
    assert ApprovalRequest.objects.get().status == "PENDING" and StockLevel.objects.get().available == 100


def test_members_without_an_approver_role_are_403(api, operator, request_id):
    problem(api(operator).post(f"/api/v1/approvals/{request_id}/approve/", format="json"), 403)
    assert ApprovalRequest.objects.get().status == "PENDING"


def test_a_decision_note_that_is_not_text_is_400(api, supervisor, request_id):
    problem(api(supervisor).post(f"/api/v1/approvals/{request_id}/approve/", {"note": ["x"]}, format="json"), 400)
    assert ApprovalRequest.objects.get().status == "PENDING"
