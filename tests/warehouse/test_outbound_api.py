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


def test_transfer_orders_through_the_api(api, site, other_site, item, stock, make_user):
    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="mover")
    LocationFactory(site=other_site, code="DOCK", kind=Location.Kind.RECEIVING)
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
    assert client.post(f"/api/v1/transfer-orders/{tid}/ship/").json()["status"] == "SHIPPED"
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
    assert Shipment.objects.count() == 0
