"""import-batches/ API for the in-flight document kinds: open purchase orders as JSON rows (errors with row, column
and message; post through the approval, once; reconciliation with open lines), and the templates of every kind."""

from __future__ import annotations

import pytest

from cutover.columns import IMPORT_KINDS
from orders.models import PurchaseOrder
from tests.api.helpers import problem

pytestmark = pytest.mark.django_db
URL = "/api/v1/import-batches/"


@pytest.fixture
def supplier(db):
    from orders.services.purchasing import create_supplier

    return create_supplier(user=None, code="SUP-1", name="Parts Inc")


def po_row(number, sku, quantity, received=None, **extra):
    row = {"po_number": number, "supplier": "SUP-1", "expected_date": "2030-03-01", "sku": sku, "quantity": quantity}
    if received is not None:
        row["received_quantity"] = received
    return row | extra


def test_open_purchase_orders_through_the_api(api, lead, approver, goods, supplier):
    client = api(lead)
    bad = client.post(
        URL,
        {
            "site": "DC1",
            "kind": "OPEN_PURCHASE_ORDERS",
            "rows": [
                po_row("L-1", "WIDGET", 10, 11),
                po_row("L-1", "GHOST", 1),
                po_row("L-2", "WIDGET", 2, supplier="X"),
            ],
        },
        format="json",
    )
    assert bad.status_code == 201, bad.content
    body = client.post(f"{URL}{bad.json()['id']}/validate/").json()
    assert body["status"] == "INVALID" and body["error_count"] == 3
    errors = client.get(f"{URL}{bad.json()['id']}/errors/").json()["results"]
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        (1, "received_quantity", "above_ordered"),
        (2, "sku", "does_not_exist"),
        (3, "supplier", "does_not_exist"),
    }
    assert all(e["message"] for e in errors)
    problem(client.post(f"{URL}{bad.json()['id']}/post/"), 409)

    created = client.post(
        URL,
        {
            "site": "DC1",
            "kind": "OPEN_PURCHASE_ORDERS",
            "rows": [po_row("L-1", "WIDGET", 10, 4), po_row("L-1", "MILK", 6)],
        },
        format="json",
    ).json()
    assert client.post(f"{URL}{created['id']}/validate/").json()["status"] == "VALIDATED"
    response = client.post(f"{URL}{created['id']}/post/")
    assert response.status_code == 202 and not PurchaseOrder.objects.exists()
    approval = response.json()["approval"]["id"]
    assert api(approver).post(f"/api/v1/approvals/{approval}/approve/").status_code == 200
    batch = client.get(f"{URL}{created['id']}/").json()
    assert batch["status"] == "POSTED" and batch["posted_rows"] == 2
    assert PurchaseOrder.objects.get().lines.get(item=goods["WIDGET"]).received_quantity == 4
    assert client.post(f"{URL}{created['id']}/post/").status_code == 200  # posted: once
    assert PurchaseOrder.objects.count() == 1

    response = client.post(
        f"{URL}{created['id']}/reconcile/",
        {"rows": [{"sku": "WIDGET", "units": 6, "lines": 1}, {"sku": "MILK", "units": 6, "lines": 1}]},
        format="json",
    )
    assert response.status_code == 201, response.content
    rec = response.json()
    assert rec["lines_outside"] == 0 and (rec["legacy_lines"], rec["system_lines"]) == (2, 2)
    assert {(line["sku"], line["system_units"], line["system_lines"]) for line in rec["lines"]} == {
        ("WIDGET", 6, 1),
        ("MILK", 6, 1),
    }
    text = client.get(f"{URL}{created['id']}/reconciliation-csv/").content.decode()
    assert "legacy_lines,system_lines,within_tolerance" in text.splitlines()[0]


def test_every_kind_has_a_template_with_every_column_described(api, lead):
    client = api(lead)
    kinds = {k["kind"]: k["columns"] for k in client.get(f"{URL}templates/").json()}
    assert set(IMPORT_KINDS) <= set(kinds)
    for kind in (
        "PUTAWAY_RULES",
        "REPLENISHMENT_POLICIES",
        "OPEN_PURCHASE_ORDERS",
        "OPEN_SALES_ORDERS",
        "TRANSFERS_IN_TRANSIT",
    ):
        assert kinds[kind] and all(col["description"] and col["type"] for col in kinds[kind])
        response = client.get(f"{URL}templates/{kind.lower()}/")
        assert response.status_code == 200
        lines = response.content.decode("utf-8-sig").splitlines()
        assert lines[0].split(",") == [col["name"] for col in kinds[kind]] and lines[1].startswith("# ")
