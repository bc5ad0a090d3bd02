"""returns/ through the API: RMA against shipped lines (never more than shipped minus returned), authorization
and credit approval (not by the requester or receiver), receiving with every disposition, refusals that change
nothing, other sites not found, idempotent creation, ledger invariants afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.selectors import find_inventory_drift
from orders.models import ReturnAuthorization
from tests.factories import ItemFactory
from tests.inventory.test_counts import set_rule
from tests.orders.test_returns import approver, boss, floor, receiver, shipped, snapshot  # noqa: F401  (fixtures)
from warehouse.models import PutawayTask

pytestmark = pytest.mark.django_db

URL = "/api/v1/returns/"


@pytest.fixture
def order(shipped, item):  # noqa: F811
    ItemFactory(sku="GADGET", standard_cost="4.00")
    return shipped([("WIDGET", 10, "12.50"), ("GADGET", 5, "8.00")])


def create(api, user, order, lines, **extra):
    return api(user).post(URL, {"sales_order": order.number, "lines": lines, **extra}, format="json")


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    return response.json()


def test_an_rma_is_authorized_against_shipped_lines(api, boss, order):  # noqa: F811
    response = create(api, boss, order, [{"item": "WIDGET", "quantity": 4, "reason": "DEFECTIVE"}])

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"].startswith("RMA-") and body["status"] == "AUTHORIZED"
    assert (body["site"], body["sales_order"], body["value"]) == ("DC1", order.number, "50.00")
    (line,) = body["lines"]
    assert (line["item"], line["order_line"], line["quantity"], line["reason"]) == ("WIDGET", 1, 4, "DEFECTIVE")
    assert api(boss).get(f"{URL}{body['id']}/").json()["number"] == body["number"]
    assert [r["number"] for r in api(boss).get(URL, {"sales_order": order.number}).json()["results"]] == [
        body["number"]
    ]


def test_more_than_shipped_minus_returned_is_a_422_that_changes_nothing(api, boss, order):  # noqa: F811
    assert create(api, boss, order, [{"item": "WIDGET", "quantity": 7, "reason": "DEFECTIVE"}]).status_code == 201
    before = snapshot()

    body = problem(create(api, boss, order, [{"item": "WIDGET", "quantity": 4, "reason": "DEFECTIVE"}]), 422)

    assert "at most 3" in body["detail"] and body["errors"][0]["field"] == "lines[0].quantity"
    assert snapshot() == before
    assert create(api, boss, order, [{"item": "WIDGET", "quantity": 3, "reason": "DEFECTIVE"}]).status_code == 201


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"sales_order": "SO-999999", "lines": [{"item": "WIDGET", "quantity": 1, "reason": "DEFECTIVE"}]}, None),
        ({"lines": [{"item": "WIDGET", "quantity": "1.5", "reason": "DEFECTIVE"}]}, None),
        ({"lines": [{"item": "WIDGET", "quantity": 0, "reason": "DEFECTIVE"}]}, None),
        ({"lines": [{"item": "WIDGET", "quantity": 1, "reason": "BORED"}]}, None),
        ({"lines": [{"item": "NOPE", "quantity": 1, "reason": "DEFECTIVE"}]}, "lines[0].item"),
        ({"lines": []}, None),
        ({"lines": [{"item": "WIDGET", "quantity": 1, "reason": "DEFECTIVE"}], "site": "XX"}, "site"),
    ],
)
def test_invalid_input_is_a_400_that_changes_nothing(api, boss, order, payload, field):  # noqa: F811
    before = snapshot()
    body = problem(api(boss).post(URL, {"sales_order": order.number, **payload}, format="json"), 400)
    if field:
        assert field in [e["field"] for e in body["errors"]]
    assert snapshot() == before


def test_authorization_above_the_site_value_is_approved_by_someone_else(
    api,
    boss,  # noqa: F811
    approver,  # noqa: F811
    operator,
    site,
    order,
):
    set_rule(site, "returns.authorization_value", "40")
    body = create(api, boss, order, [{"item": "WIDGET", "quantity": 4, "reason": "WRONG_ITEM"}]).json()
    assert body["status"] == "PENDING_APPROVAL"
    path = f"{URL}{body['id']}/"
    before = snapshot()
    assert problem(api(boss).post(f"{path}approve/", {}, format="json"), 422)  # the requester
    assert problem(api(operator).post(f"{path}approve/", {}, format="json"), 403)  # no approver role
    receive = {"lines": [{"line": 1, "quantity": 4, "inspection": "GOOD", "disposition": "RESTOCK"}]}
    assert problem(api(boss).post(f"{path}receive/", receive, format="json"), 409)  # not authorized yet
    assert snapshot() == before

    response = api(approver).post(f"{path}approve/", {"note": "ok"}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "AUTHORIZED"
    assert problem(api(approver).post(f"{path}approve/", {}, format="json"), 409)  # nothing left to decide


@pytest.mark.parametrize(
    ("disposition", "inspection", "where"),
    [
        ("RESTOCK", "GOOD", ("RECEIVING", "RECEIVED")),
        ("QUARANTINE", "DAMAGED", ("QUALITY", "HOLD")),
        ("SCRAP", "DEFECTIVE", None),
        ("RETURN_TO_VENDOR", "DEFECTIVE", None),
    ],
)
def test_receiving_with_each_disposition(
    api,
    boss,  # noqa: F811
    receiver,  # noqa: F811
    order,
    item,
    disposition,
    inspection,
    where,
):
    rma = create(api, boss, order, [{"item": "WIDGET", "quantity": 3, "reason": "DEFECTIVE"}]).json()
    response = api(receiver).post(
        f"{URL}{rma['id']}/receive/",
        {"lines": [{"line": 1, "quantity": 3, "inspection": inspection, "disposition": disposition}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    (line,) = body["lines"]
    assert (body["status"], body["received_by"], line["disposition"], line["received_quantity"]) == (
        "RECEIVED",
        "dock-operator",
        disposition,
        3,
    )
    assert body["turnaround_seconds"] is not None and body["credit_amount"] == "37.50"
    if disposition == "SCRAP":
        assert line["scrap_value"] == "30.00"  # 3 at the standard cost of 10.00
    if where:
        kind, status = where
        assert item.quants.get(location__kind=kind, status=status).quantity == 3
    assert PutawayTask.objects.filter(status="OPEN").exists() == (disposition == "RESTOCK")
    assert find_inventory_drift() == []


def test_receiving_refusals_change_nothing(api, boss, receiver, order):  # noqa: F811
    rma = create(api, boss, order, [{"item": "WIDGET", "quantity": 3, "reason": "DEFECTIVE"}]).json()
    path = f"{URL}{rma['id']}/receive/"
    before = snapshot()
    for entry, status in (
        ({"line": 1, "quantity": 4, "inspection": "GOOD", "disposition": "RESTOCK"}, 400),  # more than authorized
        ({"line": 1, "quantity": 3, "inspection": "DAMAGED", "disposition": "RESTOCK"}, 400),  # damaged to stock
        ({"line": 1, "quantity": 3, "inspection": "GOOD", "disposition": "BURN"}, 400),
        ({"line": 9, "quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"}, 400),
        ({"line": 1, "quantity": "0.5", "inspection": "GOOD", "disposition": "RESTOCK"}, 400),
    ):
        problem(api(receiver).post(path, {"lines": [entry]}, format="json"), status)
        assert snapshot() == before, entry
    ok = {"lines": [{"line": 1, "quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"}]}
    assert api(receiver).post(path, ok, format="json").status_code == 200
    after = snapshot()
    problem(api(receiver).post(path, ok, format="json"), 409)  # received already
    assert snapshot() == after


def test_credit_above_the_threshold_is_approved_by_someone_who_did_not_receive(
    api,
    boss,  # noqa: F811
    approver,  # noqa: F811
    site,
    order,
    make_user,
):
    set_rule(site, "returns.credit_approval_value", "20")
    dock_boss = make_user(["supervisor", "operator"], site, username="dock-boss")
    rma = create(api, boss, order, [{"item": "GADGET", "quantity": 5, "reason": "DEFECTIVE"}]).json()
    body = (
        api(dock_boss)
        .post(
            f"{URL}{rma['id']}/receive/",
            {"lines": [{"item": "GADGET", "quantity": 5, "inspection": "GOOD", "disposition": "RESTOCK"}]},
            format="json",
        )
        .json()
    )
    assert (body["credit_amount"], body["credit_status"]) == ("40.00", "PENDING_APPROVAL")
    before = snapshot()
    problem(api(dock_boss).post(f"{URL}{rma['id']}/approve/", {}, format="json"), 422)
    assert snapshot() == before

    response = api(approver).post(f"{URL}{rma['id']}/reject/", {"note": "no credit"}, format="json")

    assert response.status_code == 200 and response.json()["credit_status"] == "REJECTED"
    assert ReturnAuthorization.objects.get(pk=rma["id"]).credit_amount == Decimal("40.00")


def test_other_sites_returns_are_not_found(api, boss, receiver, outsider, order):  # noqa: F811
    rma = create(api, boss, order, [{"item": "WIDGET", "quantity": 1, "reason": "DEFECTIVE"}]).json()
    before = snapshot()
    assert api(outsider).get(f"{URL}{rma['id']}/").status_code == 404
    assert api(outsider).get(URL).json()["results"] == []
    receive = {"lines": [{"line": 1, "quantity": 1, "inspection": "GOOD", "disposition": "RESTOCK"}]}
    assert api(outsider).post(f"{URL}{rma['id']}/receive/", receive, format="json").status_code == 404
    assert api(outsider).post(f"{URL}{rma['id']}/approve/", {}, format="json").status_code == 404
    body = problem(create(api, outsider, order, [{"item": "WIDGET", "quantity": 1, "reason": "DEFECTIVE"}]), 400)
    assert body["errors"][0]["field"] == "sales_order"
    assert api(None).get(URL).status_code == 401
    assert snapshot() == before


def test_create_honours_the_idempotency_key(api, boss, order):  # noqa: F811
    body = {"sales_order": order.number, "lines": [{"item": "WIDGET", "quantity": 2, "reason": "DEFECTIVE"}]}
    first = api(boss).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="rma-1")
    again = api(boss).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="rma-1")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = api(boss).post(
        URL, {**body, "lines": [{**body["lines"][0], "quantity": 3}]}, format="json", HTTP_IDEMPOTENCY_KEY="rma-1"
    )
    assert other.status_code == 422
    assert ReturnAuthorization.objects.count() == 1


def test_quantities_in_another_unit_are_converted(api, boss, order, item):  # noqa: F811
    from inventory.models import ItemUnit

    if not ItemUnit.objects.filter(item=item, code="PAIR").exists():
        ItemUnit.objects.create(item=item, code="PAIR", factor=2)
    response = create(api, boss, order, [{"item": "WIDGET", "quantity": 2, "unit": "PAIR", "reason": "DEFECTIVE"}])
    assert response.status_code == 201 and response.json()["lines"][0]["quantity"] == 4
    assert response.json()["value"] == "50.00"  # 4 units at 12.50


def test_a_line_named_twice_is_split_between_dispositions(api, boss, receiver, order, item):  # noqa: F811
    rma = create(api, boss, order, [{"item": "WIDGET", "quantity": 4, "reason": "DAMAGED"}]).json()
    response = api(receiver).post(
        f"{URL}{rma['id']}/receive/",
        {
            "lines": [
                {"line": 1, "quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"},
                {"item": "WIDGET", "quantity": 1, "inspection": "DAMAGED", "disposition": "SCRAP"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    (line,) = response.json()["lines"]
    assert (line["received_quantity"], line["disposition"], line["scrap_value"]) == (4, "", "10.00")
    parts = sorted((p["disposition"], p["inspection"], p["quantity"]) for p in line["dispositions"])
    assert parts == [("RESTOCK", "GOOD", 3), ("SCRAP", "DAMAGED", 1)]
    assert find_inventory_drift() == []


def test_parts_beyond_the_authorized_quantity_are_a_400_that_changes_nothing(api, boss, receiver, order):  # noqa: F811
    rma = create(api, boss, order, [{"item": "WIDGET", "quantity": 3, "reason": "DAMAGED"}]).json()
    before = snapshot()
    body = problem(
        api(receiver).post(
            f"{URL}{rma['id']}/receive/",
            {
                "lines": [
                    {"line": 1, "quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"},
                    {"line": 1, "quantity": 1, "inspection": "DAMAGED", "disposition": "SCRAP"},
                ]
            },
            format="json",
        ),
        400,
    )
    assert "lines[1].quantity" in str(body)
    assert snapshot() == before
