"""adjustments/: applied at once up to the site's approval value, else pending until another approver decides."""

import pytest

from governance.models import ApprovalRequest
from inventory.models import Adjustment, StockLevel, StockMove
from tests.factories import ItemFactory, LocationFactory, LotFactory

from .helpers import field_errors, history_user, problem

pytestmark = pytest.mark.django_db


def adjustment(**changes):
    body = {
        "site": "DC1",
        "location": "A-01-01",
        "item": "WIDGET",
        "quantity_delta": -3,
        "reason_code": "LOST",
        "note": "cycle check",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.fixture
def ten(item, storage, stock):
    stock(item, storage, 10)


@pytest.fixture
def hundred(item, storage, stock):
    stock(item, storage, 100)


def unchanged(available: int, moves: int) -> None:
    assert StockLevel.objects.get(site__code="DC1", item__sku="WIDGET").available == available
    assert StockMove.objects.count() == moves
    assert Adjustment.objects.count() == 0


def test_a_small_adjustment_applies_at_once_with_ledger_and_history(api, operator, ten):
    response = api(operator).post("/api/v1/adjustments/", adjustment(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["quantity_delta"], body["value"], body["requested_by"]) == (
        "APPLIED",
        -3,
        "30.00",
        "operator1",
    )
    assert body["number"].startswith("ADJ-") and response["ETag"]
    assert StockLevel.objects.get().available == 7
    move = StockMove.objects.get(kind="ADJUST")
    assert (move.quantity, move.to_location.code, move.reference, move.user) == (
        3,
        "V-ADJUSTMENT",
        body["number"],
        operator,
    )
    assert history_user(Adjustment.objects.get()) == operator


def test_quantities_in_another_unit_are_converted_to_base_units(api, operator, ten, stock, item, storage):
    stock(item, storage, 30)
    client = api(operator)
    assert (
        client.post("/api/v1/adjustments/", adjustment(quantity_delta=-2, unit="CASE"), format="json").json()[
            "quantity_delta"
        ]
        == -24
    )
    assert (
        client.post("/api/v1/adjustments/", adjustment(quantity_delta="-0.5", unit="case"), format="json").json()[
            "quantity_delta"
        ]
        == -6
    )
    assert StockLevel.objects.get().available == 10


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"quantity_delta": 1.5}, "quantity_delta", "not_whole"),
        ({"quantity_delta": "1.5"}, "quantity_delta", "not_whole"),
        ({"quantity_delta": 0.1, "unit": "CASE"}, "quantity_delta", "not_whole"),
        ({"quantity_delta": 0}, "quantity_delta", "zero"),
        ({"quantity_delta": True}, "quantity_delta", "invalid"),
        ({"quantity_delta": "abc"}, "quantity_delta", "invalid"),
        ({"quantity_delta": "NaN"}, "quantity_delta", "invalid"),
        ({"quantity_delta": None}, "quantity_delta", "null"),
        ({"quantity_delta": [1]}, "quantity_delta", "invalid"),
        ({"quantity_delta": 2_000_000_000}, "quantity_delta", "too_large"),
        ({"quantity_delta": -1_000_000_001}, "quantity_delta", "too_large"),
        ({"quantity_delta": 100_000_000, "unit": "CASE"}, "quantity_delta", "too_large"),
        ({"quantity_delta": 1, "unit": "BARREL"}, "unit", "unknown_unit"),
        ({"reason_code": "WHIM"}, "reason_code", "invalid_choice"),
        ({"stock_status": "IN_TRANSIT"}, "stock_status", "invalid_choice"),
        ({"location": "NOPE"}, "location", "does_not_exist"),
        ({"location": "V-ADJUSTMENT"}, "location", "virtual_location"),
        ({"item": "NOPE"}, "item", "does_not_exist"),
        ({"site": "NOPE"}, "site", "does_not_exist"),
        ({"lot": "L-1"}, "lot", "lot_not_tracked"),
        ({"note": ""}, "note", "required"),
        ({"site": ...}, "site", "required"),
    ],
)
def test_invalid_adjustments_are_400_with_the_field_and_change_nothing(api, operator, ten, changes, field, code):
    moves = StockMove.objects.count()
    errors = field_errors(api(operator).post("/api/v1/adjustments/", adjustment(**changes), format="json"))
    assert errors.get(field) == code, errors
    unchanged(10, moves)


def test_a_location_is_looked_up_within_the_given_site(api, admin_user, ten, other_site):
    LocationFactory(site=other_site, code="W-1")
    moves = StockMove.objects.count()
    errors = field_errors(api(admin_user).post("/api/v1/adjustments/", adjustment(location="W-1"), format="json"))
    assert errors == {"location": "does_not_exist"}
    unchanged(10, moves)


def test_lot_tracked_items_need_an_existing_lot(api, operator, site, storage, stock):
    milk = ItemFactory(sku="MILK", lot_tracked=True)
    lot = LotFactory(item=milk, number="L-1")
    stock(milk, storage, 5, lot=lot)
    client = api(operator)
    assert field_errors(client.post("/api/v1/adjustments/", adjustment(item="MILK"), format="json")) == {
        "lot": "required"
    }
    assert field_errors(client.post("/api/v1/adjustments/", adjustment(item="MILK", lot="L-9"), format="json")) == {
        "lot": "does_not_exist"
    }
    applied = client.post("/api/v1/adjustments/", adjustment(item="MILK", lot="L-1"), format="json")
    assert applied.status_code == 201 and applied.json()["lot"] == "L-1"


def test_removing_more_than_is_free_is_422_and_changes_nothing(api, operator, ten):
    moves = StockMove.objects.count()
    body = problem(api(operator).post("/api/v1/adjustments/", adjustment(quantity_delta=-11), format="json"), 422)
    assert body["code"] == "insufficient_stock"
    unchanged(10, moves)


def test_a_site_the_user_cannot_see_reads_like_an_unknown_site(api, outsider, ten):
    moves = StockMove.objects.count()
    assert field_errors(api(outsider).post("/api/v1/adjustments/", adjustment(), format="json")) == {
        "site": "does_not_exist"
    }
    unchanged(10, moves)


def test_members_without_the_adjust_role_are_403_and_nothing_changes(api, make_user, site, ten):
    auditor = make_user("auditor", site)
    moves = StockMove.objects.count()
    problem(api(auditor).post("/api/v1/adjustments/", adjustment(), format="json"), 403)
    unchanged(10, moves)


def test_server_owned_fields_are_ignored(api, operator, ten):
    response = api(operator).post(
        "/api/v1/adjustments/",
        adjustment(status="REJECTED", value="0", number="ADJ-9", requested_by="someone", applied_at=None),
        format="json",
    )
    body = response.json()
    assert (body["status"], body["value"], body["requested_by"]) == ("APPLIED", "30.00", "operator1")
    assert body["number"] != "ADJ-9" and body["applied_at"]


# --- approval ---------------------------------------------------------------------------------------------


def pending(api, operator, quantity=-60):
    response = api(operator).post("/api/v1/adjustments/", adjustment(quantity_delta=quantity), format="json")
    assert response.status_code == 201 and response.json()["status"] == "PENDING_APPROVAL"
    return response


def test_a_large_adjustment_waits_and_changes_nothing_until_approved(api, operator, supervisor, hundred):
    moves = StockMove.objects.count()
    created = pending(api, operator).json()
    assert StockLevel.objects.get().available == 100 and StockMove.objects.count() == moves
    approval = ApprovalRequest.objects.get()
    assert (approval.kind, approval.rule_key, approval.status) == (
        "ADJUSTMENT",
        "inventory.adjustment_approval_value",
        "PENDING",
    )
    approved = api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/", {"note": "ok"}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "APPLIED"
    assert approved.json()["decided_by"] == "supervisor1"
    assert StockLevel.objects.get().available == 40 and StockMove.objects.count() == moves + 1
    assert history_user(Adjustment.objects.get()) == supervisor


def test_a_rejected_adjustment_changes_no_stock(api, operator, supervisor, hundred):
    created = pending(api, operator).json()
    moves = StockMove.objects.count()
    rejected = api(supervisor).post(f"/api/v1/adjustments/{created['id']}/reject/", format="json")
    assert rejected.status_code == 200 and rejected.json()["status"] == "REJECTED"
    assert StockLevel.objects.get().available == 100 and StockMove.objects.count() == moves


def test_a_decided_adjustment_cannot_be_decided_again_409(api, operator, supervisor, hundred):
    created = pending(api, operator).json()
    api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/", format="json")
    moves = StockMove.objects.count()
    problem(api(supervisor).post(f"/api/v1/adjustments/{created['id']}/reject/", format="json"), 409)
    assert Adjustment.objects.get().status == "APPLIED" and StockMove.objects.count() == moves
    applied = api(operator).post("/api/v1/adjustments/", adjustment(), format="json").json()
    problem(api(supervisor).post(f"/api/v1/adjustments/{applied['id']}/approve/", format="json"), 409)


def test_the_requester_cannot_approve_their_own_adjustment_422(api, supervisor, hundred):
    created = pending(api, supervisor).json()
    body = problem(api(supervisor).post(f"/api/v1/adjustments/{created['id']}/approve/", format="json"), 422)
    assert body["code"] == "segregation_of_duties"
    assert Adjustment.objects.get().status == "PENDING_APPROVAL" and ApprovalRequest.objects.get().status == "PENDING"
    assert StockLevel.objects.get().available == 100


def test_approval_needs_an_approver_role_403_and_a_visible_site_404(api, operator, make_user, outsider, site, hundred):
    created = pending(api, operator).json()
    other_operator = make_user("operator", site)
    problem(api(other_operator).post(f"/api/v1/adjustments/{created['id']}/approve/", format="json"), 403)
    problem(api(outsider).post(f"/api/v1/adjustments/{created['id']}/approve/", format="json"), 404)
    problem(api(outsider).post(f"/api/v1/adjustments/{created['id']}/reject/", format="json"), 404)
    assert Adjustment.objects.get().status == "PENDING_APPROVAL" and StockLevel.objects.get().available == 100


def test_deciding_on_a_stale_etag_is_412_and_changes_nothing(api, operator, supervisor, make_user, site, hundred):
    created = pending(api, operator)
    etag = created["ETag"]
    assert api(supervisor).get(f"/api/v1/adjustments/{created.json()['id']}/")["ETag"] == etag
    second = make_user("supervisor", site)
    api(second).post(f"/api/v1/adjustments/{created.json()['id']}/reject/", format="json")
    stale = api(supervisor).post(
        f"/api/v1/adjustments/{created.json()['id']}/approve/", format="json", HTTP_IF_MATCH=etag
    )
    problem(stale, 412)
    assert Adjustment.objects.get().status == "REJECTED" and StockLevel.objects.get().available == 100


def test_adjustments_of_another_site_are_hidden_and_404(api, operator, outsider, ten):
    created = api(operator).post("/api/v1/adjustments/", adjustment(), format="json").json()
    assert api(outsider).get("/api/v1/adjustments/").json()["results"] == []
    problem(api(outsider).get(f"/api/v1/adjustments/{created['id']}/"), 404)


def test_adjustments_filter_by_status_site_and_item(api, operator, supervisor, hundred):
    pending(api, operator)
    api(operator).post("/api/v1/adjustments/", adjustment(), format="json")
    client = api(supervisor)
    assert client.get("/api/v1/adjustments/?status=PENDING_APPROVAL&site=DC1").json()["count"] == 1
    assert client.get("/api/v1/adjustments/?item=WIDGET").json()["count"] == 2
    assert client.get("/api/v1/adjustments/?site=DC2").json()["count"] == 0
    problem(client.get("/api/v1/adjustments/?status=MAYBE"), 400)


# --- the ADJUSTMENT_PENDING exception ---------------------------------------------------------------------


def _pending_cases(client, status=None):
    params = {"code": "ADJUSTMENT_PENDING", **({"status": status} if status else {})}
    response = client.get("/api/v1/exceptions/", params)
    assert response.status_code == 200
    return response.json()["results"]


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_pending_adjustment_has_an_open_exception_until_decided(api, operator, supervisor, hundred, decision):
    created = pending(api, operator).json()
    [case] = _pending_cases(api(supervisor))
    assert (case["status"], case["site"], case["subject_type"], case["object_id"]) == (
        "OPEN",
        "DC1",
        "adjustment",
        created["id"],
    )
    assert created["number"] in case["summary"]
    response = api(supervisor).post(f"/api/v1/adjustments/{created['id']}/{decision}/", format="json")
    assert response.status_code == 200
    [case] = _pending_cases(api(supervisor))
    assert case["status"] == "RESOLVED" and case["resolved_at"]
    assert _pending_cases(api(supervisor), status="OPEN") == []


def test_a_small_adjustment_opens_no_exception(api, operator, supervisor, ten):
    assert api(operator).post("/api/v1/adjustments/", adjustment(), format="json").status_code == 201
    assert _pending_cases(api(supervisor)) == []


def test_a_refused_decision_leaves_the_exception_open(api, operator, make_user, site, hundred):
    created = pending(api, operator).json()
    other_operator = make_user("operator", site)
    problem(api(other_operator).post(f"/api/v1/adjustments/{created['id']}/approve/", format="json"), 403)
    problem(api(operator).post(f"/api/v1/adjustments/{created['id']}/reject/", format="json"), 403)
    from governance.models import ExceptionCase

    assert ExceptionCase.objects.get(code__code="ADJUSTMENT_PENDING").status == "OPEN"
