"""sales-orders/ carrier, route and cutoff (ship-by) header fields; customers/ min_shelf_life_days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Customer, SalesOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord_api(api, coordinator):
    return api(coordinator)


def body(**kw):
    data = {
        "customer": "ACME",
        "promised_date": str(timezone.localdate() + timedelta(days=3)),
        "lines": [{"item": "WIDGET", "quantity": 2}],
    }
    data.update(kw)
    return data


def test_carrier_route_and_cutoff_are_written_on_create_and_patch_and_filter_the_list(coord_api, customer, item):
    cutoff = (timezone.now() + timedelta(hours=5)).replace(microsecond=0)
    created = coord_api.post(
        "/api/v1/sales-orders/", body(carrier=" ups ", route="north-1", cutoff=cutoff.isoformat()), format="json"
    )
    assert created.status_code == 201, created.json()
    got = created.json()
    assert (got["carrier"], got["route"]) == ("UPS", "NORTH-1")
    assert got["cutoff"] is not None
    other = coord_api.post("/api/v1/sales-orders/", body(carrier="DHL"), format="json").json()
    assert (other["route"], other["cutoff"]) == ("", None)

    listed = coord_api.get("/api/v1/sales-orders/", {"carrier": "ups"}).json()["results"]
    assert [o["number"] for o in listed] == [got["number"]] and listed[0]["route"] == "NORTH-1"

    def numbers(**params):
        return [o["number"] for o in coord_api.get("/api/v1/sales-orders/", params).json()["results"]]

    assert numbers(route="NORTH-1") == [got["number"]]
    assert numbers(cutoff_before=(cutoff + timedelta(minutes=1)).isoformat()) == [got["number"]]
    assert numbers(cutoff_before=(cutoff - timedelta(minutes=1)).isoformat()) == []

    patched = coord_api.patch(
        f"/api/v1/sales-orders/{other['id']}/", {"route": "south", "cutoff": cutoff.isoformat()}, format="json"
    )
    assert patched.status_code == 200 and (patched.json()["carrier"], patched.json()["route"]) == ("DHL", "SOUTH")
    cleared = coord_api.patch(f"/api/v1/sales-orders/{other['id']}/", {"carrier": "", "cutoff": None}, format="json")
    assert cleared.status_code == 200 and (cleared.json()["carrier"], cleared.json()["cutoff"]) == ("", None)


def test_bad_codes_are_400_and_change_nothing(coord_api, customer, item):
    refused = coord_api.post("/api/v1/sales-orders/", body(carrier="U P S"), format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "carrier"
    assert refused.headers["Content-Type"].startswith("application/problem+json")
    assert not SalesOrder.objects.exists()
    too_long = coord_api.post("/api/v1/sales-orders/", body(route="R" * 21), format="json")
    assert too_long.status_code == 400 and not SalesOrder.objects.exists()
    order = coord_api.post("/api/v1/sales-orders/", body(route="WEST"), format="json").json()
    refused = coord_api.patch(f"/api/v1/sales-orders/{order['id']}/", {"route": "no/slash"}, format="json")
    assert refused.status_code == 400
    assert SalesOrder.objects.get().route == "WEST"
    coord_api.post(f"/api/v1/sales-orders/{order['id']}/release/")
    refused = coord_api.patch(f"/api/v1/sales-orders/{order['id']}/", {"carrier": "UPS"}, format="json")
    assert refused.status_code == 409 and SalesOrder.objects.get().carrier == ""


def test_customer_minimum_shelf_life_is_maintained_by_planners(api, coord_api, make_user, site, customer):
    planner = api(make_user("planner", site))
    assert planner.get("/api/v1/customers/ACME/").json()["min_shelf_life_days"] is None
    assert coord_api.patch("/api/v1/customers/ACME/", {"min_shelf_life_days": 45}, format="json").status_code == 403
    response = planner.patch("/api/v1/customers/ACME/", {"min_shelf_life_days": 45}, format="json")
    assert response.status_code == 200 and response.json()["min_shelf_life_days"] == 45
    for bad in (-1, 4000):
        refused = planner.patch("/api/v1/customers/ACME/", {"min_shelf_life_days": bad}, format="json")
        assert refused.status_code == 400, bad
    assert Customer.objects.get(code="ACME").min_shelf_life_days == 45
    assert planner.patch("/api/v1/customers/ACME/", {"min_shelf_life_days": None}, format="json").status_code == 200
    assert Customer.objects.get(code="ACME").min_shelf_life_days is None
