"""API tests for suppliers/, purchase-orders/, receipts/, putaway-tasks/ and inbound ATP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import ExceptionCase
from inventory.models import StockLevel, StockMove
from orders.models import PurchaseOrder
from orders.services.purchasing import sweep_overdue_receipts
from warehouse.models import PutawayTask, Receipt

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver_api(api, receiver):
    return api(receiver)


def po_body(**kw):
    body = {
        "supplier": "SUP1",
        "site": "DC1",
        "expected_date": str(timezone.localdate() + timedelta(days=3)),
        "lines": [{"item": "WIDGET", "quantity": 2, "unit": "CASE", "unit_cost": "4.00"}],
    }
    body.update(kw)
    return body


def test_purchase_order_create_cancel_and_refusals(receiver_api, supplier, item, site):
    created = receiver_api.post("/api/v1/purchase-orders/", po_body(), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["number"].startswith("PO-") and created.json()["lines"][0]["quantity"] == 24
    bad = receiver_api.post(
        "/api/v1/purchase-orders/",
        po_body(supplier="NOPE", lines=[{"item": "NOPE", "quantity": 1}, {"item": "WIDGET", "quantity": "0.5"}]),
        format="json",
    )
    assert bad.status_code == 400
    assert {e["field"] for e in bad.json()["errors"]} == {"supplier", "lines[0].item", "lines[1].quantity"}
    assert PurchaseOrder.objects.count() == 1
    po_id = created.json()["id"]
    assert receiver_api.post(f"/api/v1/purchase-orders/{po_id}/cancel/").json()["status"] == "CANCELLED"
    assert receiver_api.post(f"/api/v1/purchase-orders/{po_id}/cancel/").status_code == 409


def test_receipt_via_api_returns_discrepancies_and_putaway_confirms(receiver_api, supplier, item, dock, storage, site):
    po = receiver_api.post("/api/v1/purchase-orders/", po_body(), format="json").json()
    response = receiver_api.post(
        "/api/v1/receipts/",
        {"purchase_order": po["number"], "lines": [{"item": "WIDGET", "quantity": 20, "damaged_quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert sorted(d["code"] for d in response.json()["discrepancies"]) == ["DAMAGED", "SHORT"]
    task = receiver_api.get("/api/v1/putaway-tasks/?status=OPEN").json()["results"][0]
    assert task["suggested_location"] == "A-01-01"
    done = receiver_api.post(
        f"/api/v1/putaway-tasks/{task['id']}/confirm/", {"location": "A-01-01", "quantity": 20}, format="json"
    )
    assert done.status_code == 200 and done.json()["status"] == "CONFIRMED"
    again = receiver_api.post(
        f"/api/v1/putaway-tasks/{task['id']}/confirm/", {"location": "A-01-01", "quantity": 19}, format="json"
    )
    assert again.status_code == 409
    assert StockLevel.objects.get(item=item, site=site).available == 20


def test_receipt_idempotency_key_receives_once(receiver_api, supplier, item, dock, site):
    po = receiver_api.post("/api/v1/purchase-orders/", po_body(), format="json").json()
    body = {"purchase_order": po["number"], "final": False, "lines": [{"item": "WIDGET", "quantity": 5}]}
    first = receiver_api.post("/api/v1/receipts/", body, format="json", HTTP_IDEMPOTENCY_KEY="rcv-1")
    second = receiver_api.post("/api/v1/receipts/", body, format="json", HTTP_IDEMPOTENCY_KEY="rcv-1")
    assert first.json()["id"] == second.json()["id"]
    assert Receipt.objects.count() == 1 and StockLevel.objects.get(item=item, site=site).received == 5


def test_receipt_refusals_change_nothing(receiver_api, api, outsider, supplier, item, dock):
    po = receiver_api.post("/api/v1/purchase-orders/", po_body(), format="json").json()
    moves = StockMove.objects.count()
    for lines in (
        [{"item": "WIDGET", "quantity": -1}],
        [{"item": "WIDGET", "quantity": 0}],
        [{"item": "WIDGET", "quantity": "0.5"}],
        [],
    ):
        assert (
            receiver_api.post(
                "/api/v1/receipts/", {"purchase_order": po["number"], "lines": lines}, format="json"
            ).status_code
            == 400
        ), lines
    assert (
        receiver_api.post(
            "/api/v1/receipts/",
            {"purchase_order": "PO-999999", "lines": [{"item": "WIDGET", "quantity": 1}]},
            format="json",
        ).status_code
        == 400
    )
    assert (
        api(outsider)
        .post(
            "/api/v1/receipts/",
            {"purchase_order": po["number"], "lines": [{"item": "WIDGET", "quantity": 1}]},
            format="json",
        )
        .status_code
        == 400
    )
    assert StockMove.objects.count() == moves and Receipt.objects.count() == 0


def test_inspection_through_the_api(receiver_api, supplier, dock, site):
    from tests.factories import ItemFactory

    ItemFactory(sku="FRAGILE", requires_inspection=True)
    po = receiver_api.post(
        "/api/v1/purchase-orders/", po_body(lines=[{"item": "FRAGILE", "quantity": 4}]), format="json"
    ).json()
    receipt = receiver_api.post(
        "/api/v1/receipts/",
        {"purchase_order": po["number"], "lines": [{"item": "FRAGILE", "quantity": 4}]},
        format="json",
    ).json()
    line_id = receipt["lines"][0]["id"]
    response = receiver_api.post(
        f"/api/v1/receipts/{receipt['id']}/lines/{line_id}/inspect/",
        {"release_quantity": 3, "reject_quantity": 1},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["lines"][0]["on_hold"] == 0
    assert PutawayTask.objects.get().quantity == 3


def test_other_sites_receipts_and_tasks_are_404(receiver_api, api, outsider, supplier, item, dock):
    po = receiver_api.post("/api/v1/purchase-orders/", po_body(), format="json").json()
    receipt = receiver_api.post(
        "/api/v1/receipts/",
        {"purchase_order": po["number"], "lines": [{"item": "WIDGET", "quantity": 24}]},
        format="json",
    ).json()
    task = PutawayTask.objects.get()
    other = api(outsider)
    assert other.get(f"/api/v1/receipts/{receipt['id']}/").status_code == 404
    assert other.get(f"/api/v1/purchase-orders/{po['id']}/").status_code == 404
    assert (
        other.post(
            f"/api/v1/putaway-tasks/{task.pk}/confirm/", {"location": "A-01-01", "quantity": 1}, format="json"
        ).status_code
        == 404
    )


def test_atp_gives_the_earliest_date_from_inbound_supply_net_of_backorders(
    api, coordinator, supplier, item, storage, stock, site, new_order
):
    from orders.services import allocate_orders, create_purchase_order, release_order

    stock(item, storage, 5)
    soon, later = timezone.localdate() + timedelta(days=2), timezone.localdate() + timedelta(days=6)
    create_purchase_order(
        user=None, supplier=supplier, site=site, expected_date=soon, lines=[{"item": "WIDGET", "quantity": 10}]
    )
    create_purchase_order(
        user=None, supplier=supplier, site=site, expected_date=later, lines=[{"item": "WIDGET", "quantity": 50}]
    )
    waiting = release_order(user=coordinator, order=new_order([("WIDGET", 12)]))
    allocate_orders([waiting.pk])  # 5 allocated, 7 backordered
    row = api(coordinator).get("/api/v1/atp/?item=WIDGET&quantity=8&site=DC1").json()["sites"][0]
    assert (row["available_to_promise"], row["backordered"], row["inbound"]) == (0, 7, 60)
    assert row["earliest_date"] == str(later)  # 10 arriving soon are eaten by the 7 waiting; 8 needs the later PO
    row = api(coordinator).get("/api/v1/atp/?item=WIDGET&quantity=3&site=DC1").json()["sites"][0]
    assert row["earliest_date"] == str(soon)
    row = api(coordinator).get("/api/v1/atp/?item=WIDGET&quantity=100&site=DC1").json()["sites"][0]
    assert row["earliest_date"] is None


def test_overdue_receipt_sweep_opens_once_and_resolves_when_received(receiver, supplier, item, dock, site, new_po):
    from warehouse.services import receive

    po = new_po([("WIDGET", 10)], expected_date=timezone.localdate() - timedelta(days=5))
    assert sweep_overdue_receipts()["opened"] == 1
    assert sweep_overdue_receipts()["already_open"] == 1
    assert ExceptionCase.objects.filter(code__code="OVERDUE_RECEIPT", status="OPEN").count() == 1
    receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 10}])
    assert sweep_overdue_receipts()["resolved"] == 1
    assert not ExceptionCase.objects.filter(code__code="OVERDUE_RECEIPT", status="OPEN").exists()


def test_overdue_grace_is_a_site_rule(receiver, supplier, item, dock, site, new_po, admin_user):
    from governance.services import set_rule_value

    set_rule_value(user=admin_user, key="receiving.overdue_grace_days", value=10, site=site, reason="slow lane")
    new_po([("WIDGET", 10)], expected_date=timezone.localdate() - timedelta(days=5))
    assert sweep_overdue_receipts()["opened"] == 0
