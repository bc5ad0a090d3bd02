"""API tests for waves/, pick-tasks/, shipments/ and transfer-orders/."""

import pytest

from inventory.models import Location, StockLevel
from tests.factories import LocationFactory
from warehouse.models import PickTask, Shipment, Wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(site, item, stock, make_user, api):
    from datetime import timedelta

    from django.utils import timezone

    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory

    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    bin_ = LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    stock(item, bin_, 20)
    user = make_user(["coordinator", "supervisor", "operator"], site, username="floor")
    order = create_order(
        user=user,
        customer=CustomerFactory(code="C1", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "WIDGET", "quantity": 5}],
    )
    release_order(user=user, order=order)
    allocate_orders([order.pk])
    return api(user), order


def test_wave_plan_release_pick_pack_ship_through_the_api(setup, site, item):
    client, order = setup
    wave = client.post("/api/v1/waves/", {"site": "DC1", "max_orders": 10}, format="json")
    assert wave.status_code == 201, wave.json()
    assert wave.json()["orders"] == [order.number] and wave.json()["status"] == "PLANNED"
    released = client.post(f"/api/v1/waves/{wave.json()['id']}/release/").json()
    task = released["pick_tasks"][0]
    assert (task["location"], task["quantity"]) == ("B-01", 5)
    assert client.get(f"/api/v1/waves/{wave.json()['id']}/pick-list/").status_code == 200
    wrong = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 5, "location": "B-02"}, format="json")
    assert wrong.status_code == 400 and "Wrong location" in wrong.json()["detail"]
    done = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 5, "location": "B-01"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "PICKED"
    again = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 4, "location": "B-01"}, format="json")
    assert again.status_code == 409
    shipments = client.post(f"/api/v1/waves/{wave.json()['id']}/pack/", {}, format="json").json()
    shipment_id = shipments[0]["id"]
    assert client.get(f"/api/v1/shipments/{shipment_id}/packing-slip/").status_code == 200
    assert (
        client.post(f"/api/v1/shipments/{shipment_id}/confirm/", {"carrier": "UPS"}, format="json").status_code == 400
    )
    shipped = client.post(
        f"/api/v1/shipments/{shipment_id}/confirm/", {"carrier": "UPS", "tracking_number": "1Z1"}, format="json"
    )
    assert shipped.status_code == 200 and shipped.json()["status"] == "SHIPPED"
    detail = client.get(f"/api/v1/sales-orders/{order.pk}/").json()
    assert detail["status"] == "SHIPPED" and detail["lines"][0]["shipped_quantity"] == 5
    assert StockLevel.objects.get(item=item, site=site).available == 15


def test_outbound_objects_of_another_site_are_404(setup, api, outsider):
    client, _ = setup
    wave = client.post("/api/v1/waves/", {"site": "DC1"}, format="json").json()
    client.post(f"/api/v1/waves/{wave['id']}/release/")
    task = PickTask.objects.get()
    other = api(outsider)
    assert other.get(f"/api/v1/waves/{wave['id']}/").status_code == 404
    assert (
        other.post(
            f"/api/v1/pick-tasks/{task.pk}/confirm/", {"quantity": 5, "location": "B-01"}, format="json"
        ).status_code
        == 404
    )
    assert other.post("/api/v1/waves/", {"site": "DC1"}, format="json").status_code == 400
    assert Wave.objects.count() == 1 and PickTask.objects.get().status == "OPEN"


def test_planning_with_nothing_to_wave_is_409(setup):
    client, _ = setup
    client.post("/api/v1/waves/", {"site": "DC1"}, format="json")
    assert client.post("/api/v1/waves/", {"site": "DC1"}, format="json").status_code == 409


def test_transfer_orders_through_the_api(api, site, other_site, item, stock, make_user, outsider):
    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="mover")
    LocationFactory(site=other_site, code="DOCK", kind=Location.Kind.RECEIVING)
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, LocationFactory(site=site, code="B-9"), 10)
    client = api(user)
    created = client.post(
        "/api/v1/transfer-orders/",
        {"from_site": "DC1", "to_site": "DC2", "lines": [{"item": "WIDGET", "quantity": 4}]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["status"] == "APPROVED"
    tid = created.json()["id"]
    assert client.post(f"/api/v1/transfer-orders/{tid}/approve/").status_code == 409
    # another site's user cannot see it, let alone release it
    assert api(outsider).post(f"/api/v1/transfer-orders/{tid}/release/").status_code == 404
    assert not PickTask.objects.exists()
    released = client.post(f"/api/v1/transfer-orders/{tid}/release/")
    assert released.status_code == 200, released.json()
    body = released.json()
    assert body["status"] == "PICKING" and body["lines"][0]["allocated_quantity"] == 4
    (task,) = body["pick_tasks"]
    assert (task["transfer"], task["order"], task["wave"], task["location"]) == (body["number"], None, None, "B-9")
    assert client.post(f"/api/v1/transfer-orders/{tid}/release/").status_code == 409
    refused = client.post(f"/api/v1/transfer-orders/{tid}/ship/")
    assert refused.status_code == 409 and "still open" in refused.json()["detail"]
    assert StockLevel.objects.get(item=item, site=site).available == 10
    listed = client.get("/api/v1/pick-tasks/", {"transfer": body["number"]}).json()
    assert [t["id"] for t in listed["results"]] == [task["id"]]
    wrong = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 4, "location": "B-1"}, format="json")
    assert wrong.status_code == 400 and PickTask.objects.get().status == "OPEN"
    picked = client.post(f"/api/v1/pick-tasks/{task['id']}/confirm/", {"quantity": 4, "location": "B-9"}, format="json")
    assert picked.status_code == 200 and picked.json()["status"] == "PICKED"
    shipped = client.post(f"/api/v1/transfer-orders/{tid}/ship/")
    assert shipped.status_code == 200 and shipped.json()["status"] == "SHIPPED"
    assert shipped.json()["lines"][0]["shipped_quantity"] == 4
    levels = {row["site"]: row for row in client.get("/api/v1/stock-levels/", {"item": "WIDGET"}).json()["results"]}
    assert (levels["DC1"]["in_transit_out"], levels["DC1"]["available"], levels["DC1"]["allocated"]) == (4, 6, 0)
    assert (levels["DC2"]["in_transit"], levels["DC2"]["in_transit_out"]) == (4, 0)
    atp = client.get("/api/v1/atp/", {"item": "WIDGET", "quantity": 1})
    rows = {row["site"]: row for row in atp.json()["sites"]}
    assert rows["DC1"]["in_transit_out"] == 4 and rows["DC2"]["in_transit_in"] == 4
    assert client.post(f"/api/v1/transfer-orders/{tid}/cancel/").status_code == 409
    assert (
        client.post(
            f"/api/v1/transfer-orders/{tid}/receive/", {"lines": [{"item": "WIDGET", "quantity": 5}]}, format="json"
        ).status_code
        == 400
    )
    receipt = client.post(
        f"/api/v1/transfer-orders/{tid}/receive/", {"lines": [{"item": "WIDGET", "quantity": 4}]}, format="json"
    )
    assert receipt.status_code == 201 and receipt.json()["discrepancies"] == []
    assert client.get(f"/api/v1/transfer-orders/{tid}/").json()["status"] == "RECEIVED"
    levels = {row["site"]: row for row in client.get("/api/v1/stock-levels/", {"item": "WIDGET"}).json()["results"]}
    assert levels["DC1"]["in_transit_out"] == 0 and levels["DC2"]["in_transit"] == 0
    assert Shipment.objects.count() == 0


def test_releasing_a_transfer_that_would_take_allocated_stock_is_refused(api, site, other_site, item, stock, make_user):
    from inventory.services import change_allocated

    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="mover")
    LocationFactory(site=site, code="STAGE", kind=Location.Kind.STAGING)
    stock(item, LocationFactory(site=site, code="B-9"), 10)
    change_allocated(deltas={(item.pk, site.pk): 8})
    client = api(user)
    tid = client.post(
        "/api/v1/transfer-orders/",
        {"from_site": "DC1", "to_site": "DC2", "lines": [{"item": "WIDGET", "quantity": 5}]},
        format="json",
    ).json()["id"]
    for action in ("release", "ship"):
        refused = client.post(f"/api/v1/transfer-orders/{tid}/{action}/")
        assert refused.status_code == 422 and "only 2 of 5 are free" in refused.json()["detail"], refused.json()
    assert not PickTask.objects.exists()
    assert StockLevel.objects.get(item=item, site=site).allocated == 8
    assert client.get(f"/api/v1/transfer-orders/{tid}/").json()["status"] == "APPROVED"
    operator_only = api(make_user("coordinator", site, username="coordonly"))
    assert operator_only.post(f"/api/v1/transfer-orders/{tid}/release/").status_code == 403
