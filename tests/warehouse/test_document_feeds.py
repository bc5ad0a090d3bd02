"""Change feeds of shipments/, transfer-orders/ and receipts/ (issue 14): every state change of a document
(its lines' included) stamps its updated_at, so ?updated_since= returns it; oldest change first; site scoped."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Location
from orders.models import TransferOrder
from tests.factories import ItemFactory, LocationFactory, SiteFactory
from warehouse.models import PickTask, Receipt, Shipment

pytestmark = pytest.mark.django_db


def feed(client, path, since):
    response = client.get(path, {"updated_since": since.isoformat()})
    assert response.status_code == 200, response.content
    return [row["number"] for row in response.json()["results"]]


class Clock:
    """Pushes every document's updated_at a day back, so the next feed read sees only what changed since."""

    def __init__(self, model):
        self.model = model

    def stale(self):
        self.model.objects.update(updated_at=timezone.now() - timedelta(days=1))
        return timezone.now() - timedelta(minutes=1)


def test_a_shipment_is_in_the_feed_after_packing_confirming_and_a_tracking_correction(
    site, item, stock, make_user, api, outsider
):
    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory
    from warehouse.services.carriers import record_tracking

    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE), 20)
    user = make_user(["coordinator", "supervisor", "operator"], site, username="feed-floor")
    order = create_order(
        user=user,
        customer=CustomerFactory(code="C1", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 5}],
    )
    release_order(user=user, order=order)
    allocate_orders([order.pk])
    client, clock, path = api(user), Clock(Shipment), "/api/v1/shipments/"
    before = timezone.now() - timedelta(minutes=1)
    wave = client.post("/api/v1/waves/", {"site": "DC1"}, format="json").json()
    (task,) = client.post(f"/api/v1/waves/{wave['id']}/release/").json()["pick_tasks"]
    client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 5, "location": "B-01"}, format="json")
    (packed,) = client.post(f"/api/v1/waves/{wave['id']}/pack/", {}, format="json").json()
    assert feed(client, path, before) == [packed["number"]]  # packed: a new shipment

    since = clock.stale()
    assert feed(client, path, since) == []
    shipped = client.post(
        f"/api/v1/shipments/{packed['id']}/confirm/", {"carrier": "UPS", "tracking_number": "1Z1"}, format="json"
    )
    assert shipped.status_code == 200
    rows = client.get(path, {"updated_since": since.isoformat()}).json()["results"]
    assert [(r["number"], r["status"]) for r in rows] == [(packed["number"], "SHIPPED")]
    assert rows[0]["updated_at"] >= since.isoformat().replace("+00:00", "Z")

    since = clock.stale()
    record_tracking(
        user=user, shipment=Shipment.objects.get(pk=packed["id"]), carrier="UPS", tracking_number="1Z2", correct=True
    )
    assert feed(client, path, since) == [packed["number"]]  # corrected with save(update_fields=...)
    # another site's user sees none of it
    assert feed(api(outsider), path, before) == []


def test_a_transfer_is_in_the_feed_after_each_step_and_its_receipt_too(
    site, other_site, item, stock, make_user, api, outsider
):
    from warehouse.services.transfers import cancel_transfer, create_transfer

    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="feed-mover")
    LocationFactory(site=other_site, code="DOCK", kind=Location.Kind.RECEIVING)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, LocationFactory(site=site, code="B-9"), 10)
    client, clock, path = api(user), Clock(TransferOrder), "/api/v1/transfer-orders/"
    before = timezone.now() - timedelta(minutes=1)
    created = client.post(
        "/api/v1/transfer-orders/",
        {"from_site": "DC1", "to_site": "DC2", "lines": [{"item": "WIDGET", "quantity": 4}]},
        format="json",
    ).json()
    tid, number = created["id"], created["number"]
    assert feed(client, path, before) == [number]

    def step(call, expected_status):
        since = clock.stale()
        assert feed(client, path, since) == []
        call()
        rows = client.get(path, {"updated_since": since.isoformat()}).json()["results"]
        assert [(r["number"], r["status"]) for r in rows] == [(number, expected_status)]
        return rows[0]

    step(lambda: client.post(f"/api/v1/transfer-orders/{tid}/release/"), "PICKING")
    task = PickTask.objects.get(transfer_line__transfer_id=tid)
    # a pick changes only the transfer's line (picked_quantity): the transfer is stamped all the same
    row = step(
        lambda: client.post(
            f"/api/v1/pick-tasks/{task.pk}/confirm/", {"quantity": 4, "location": "B-9"}, format="json"
        ),
        "PICKING",
    )
    assert row["lines"][0]["picked_quantity"] == 4
    step(lambda: client.post(f"/api/v1/transfer-orders/{tid}/ship/"), "SHIPPED")
    receipts_since = timezone.now() - timedelta(minutes=1)
    step(
        lambda: client.post(
            f"/api/v1/transfer-orders/{tid}/receive/", {"lines": [{"item": "WIDGET", "quantity": 4}]}, format="json"
        ),
        "RECEIVED",
    )
    receipt = Receipt.objects.get(transfer_order_id=tid)
    assert feed(client, "/api/v1/receipts/", receipts_since) == [receipt.number]

    # cancelled: a second transfer
    other = create_transfer(user=user, from_site=site, to_site=other_site, lines=[{"item": "WIDGET", "quantity": 1}])
    number = other.number
    step(lambda: cancel_transfer(user=user, transfer=other), "CANCELLED")

    # visible at both ends, never elsewhere: the destination's user sees them, a third site's does not
    ever = timezone.now() - timedelta(days=7)
    assert feed(api(outsider), path, ever) == [created["number"], other.number]
    third = make_user("supervisor", SiteFactory(code="DC3", name="North DC", region="NORTH"), username="feed-third")
    assert feed(api(third), path, ever) == []
    assert feed(api(third), "/api/v1/receipts/", ever) == []


def test_a_transfer_rejected_in_approval_is_in_the_feed(site, other_site, stock, make_user, api):
    from governance.models import ApprovalRequest
    from governance.services import decide_approval
    from tests.factories import set_rule_now
    from warehouse.services.transfers import create_transfer

    user = make_user(["planner", "supervisor"], site, other_site, username="feed-planner")
    approver = make_user("supervisor", site, username="feed-approver")
    set_rule_now(key="transfers.approval_value", value="1.00", site=site)
    ItemFactory(sku="DEAR", standard_cost="50.00")
    transfer = create_transfer(user=user, from_site=site, to_site=other_site, lines=[{"item": "DEAR", "quantity": 2}])
    assert transfer.status == "PENDING_APPROVAL"
    since = Clock(TransferOrder).stale()
    decide_approval(
        approval=ApprovalRequest.objects.get(object_id=transfer.pk, kind="TRANSFER"), user=approver, approve=False
    )
    rows = api(user).get("/api/v1/transfer-orders/", {"updated_since": since.isoformat()}).json()["results"]
    assert [(r["number"], r["status"]) for r in rows] == [(transfer.number, "CANCELLED")]


def test_a_receipt_is_in_the_feed_after_receiving_and_after_inspecting_a_line(
    api, receiver, supplier, dock, site, outsider
):
    ItemFactory(sku="FRAGILE", requires_inspection=True)
    client, clock, path = api(receiver), Clock(Receipt), "/api/v1/receipts/"
    po = client.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": "SUP1",
            "site": "DC1",
            "expected_date": str(timezone.localdate() + timedelta(days=3)),
            "lines": [{"item": "FRAGILE", "quantity": 4, "unit_cost": "4.00"}],
        },
        format="json",
    ).json()
    before = timezone.now() - timedelta(minutes=1)
    receipt = client.post(
        "/api/v1/receipts/",
        {"purchase_order": po["number"], "final": False, "lines": [{"item": "FRAGILE", "quantity": 2}]},
        format="json",
    ).json()
    assert feed(client, path, before) == [receipt["number"]]
    since = clock.stale()
    assert feed(client, path, since) == []
    line_id = receipt["lines"][0]["id"]
    inspected = client.post(
        f"/api/v1/receipts/{receipt['id']}/lines/{line_id}/inspect/", {"release_quantity": 2}, format="json"
    )
    assert inspected.status_code == 200
    rows = client.get(path, {"updated_since": since.isoformat()}).json()["results"]
    assert [(r["number"], r["lines"][0]["inspection"]) for r in rows] == [(receipt["number"], "DONE")]

    # a second receipt: oldest change first, whatever their numbers or receiving times
    second = client.post(
        "/api/v1/receipts/",
        {"purchase_order": po["number"], "lines": [{"item": "FRAGILE", "quantity": 2}]},
        format="json",
    ).json()
    now = timezone.now()
    Receipt.objects.filter(pk=receipt["id"]).update(updated_at=now - timedelta(seconds=10))
    Receipt.objects.filter(pk=second["id"]).update(updated_at=now - timedelta(seconds=20))
    assert feed(client, path, before) == [second["number"], receipt["number"]]
    newest_first = client.get(path, {"updated_since": before.isoformat(), "ordering": "-updated_at"}).json()
    assert [r["number"] for r in newest_first["results"]] == [receipt["number"], second["number"]]
    assert feed(api(outsider), path, before) == []


@pytest.mark.parametrize("path", ["/api/v1/shipments/", "/api/v1/transfer-orders/", "/api/v1/receipts/"])
def test_a_bad_moment_is_a_400_naming_the_parameter(api, supervisor, path):
    response = api(supervisor).get(path, {"updated_since": "last tuesday"})
    assert response.status_code == 400
    (error,) = [e for e in response.json()["errors"] if e["field"] == "updated_since"]
    assert "ISO 8601" in error["message"]
