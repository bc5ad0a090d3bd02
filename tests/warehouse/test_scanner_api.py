"""Scanners calling the API with barcodes (issue 14): the item field of the pick, refill and putaway confirmations
and of cycle count entries takes what the scan screens take, the SKU, a GTIN of the item or of one of its units
(the quantity then counts that unit) or a GS1-128 label (lot, expiry, count), read by the same policy. A barcode
of another item or lot, or a label that does not parse, is a 422 on the field naming what was scanned, and
changes nothing. GTINs are GS1's published examples (tests/inventory/test_barcodes_policy.py, test_scan_gs1)."""

from __future__ import annotations

import datetime as dt

import pytest

from inventory.models import CycleCountLine, Location, Lot, StockQuant
from inventory.services import create_item
from orders.services import allocate_orders, create_order, release_order
from orders.services.replenishment import create_pick_face_policy
from tests.factories import CustomerFactory, LocationFactory
from warehouse.models import PickTask, PutawayTask, ReplenishmentTask
from warehouse.services import plan_wave, receive, release_wave
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db

EACH_GTIN = "4006381333931"  # EAN-13 of the item's each
CASE_GTIN = "14006381333938"  # GTIN-14 of its case of 6
OTHER_GTIN = "09506000134352"  # GS1's example GTIN, another item's
UNKNOWN_UPC = "036000291452"  # a valid UPC-A no item has


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def floor(site):
    return {
        "pick": LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK, capacity=100),
        "bulk": LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
        "dock": LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING),
    }


@pytest.fixture
def boss(make_user, site):
    return make_user(["coordinator", "supervisor", "operator", "planner"], site, username="scan-boss")


@pytest.fixture
def milk(boss):
    item = create_item(
        user=boss,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": EACH_GTIN}, {"gtin": CASE_GTIN, "unit": "CASE"}],
    )
    create_item(user=boss, sku="OTHER", description="Another item", barcodes=[{"gtin": OTHER_GTIN}])
    return item


@pytest.fixture
def l42(milk):
    return Lot.objects.create(item=milk, number="L42", expiry_date=dt.date(2027, 1, 31))


@pytest.fixture
def pick_task(boss, site, floor, stock, milk, l42):
    stock(milk, floor["pick"], 30, lot=l42)
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="SCAN-C", home_site=site),
        promised_date=dt.date.today() + dt.timedelta(days=2),
        lines=[{"item": "MILK", "quantity": 12}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    return PickTask.objects.get()


def confirm(client, task, body):
    return client.post(f"/api/v1/pick-tasks/{task.pk}/confirm/", {"location": "P-01", **body}, format="json")


def refused(response, status, field, code):
    assert response.status_code == status, response.content
    body = response.json()
    (error,) = [e for e in body["errors"] if e["field"] == field]
    assert error["code"] == code, body
    return error["message"]


def test_a_gs1_label_confirms_a_pick_with_its_lot_and_count(api, boss, pick_task):
    label = "]C1" + f"01{CASE_GTIN}" + "17270131" + "10L42\x1d" + "372"  # scanner data: 2 cases of 6, lot L42
    response = confirm(api(boss), pick_task, {"item": label})
    assert response.status_code == 200, response.content
    pick_task.refresh_from_db()
    assert (pick_task.status, pick_task.picked_quantity, pick_task.scanned_lot) == ("PICKED", 12, "L42")


def test_a_case_gtin_counts_the_quantity_in_cases(api, boss, pick_task):
    response = confirm(api(boss), pick_task, {"item": CASE_GTIN, "lot": "L42", "quantity": 2})
    assert response.status_code == 200, response.content
    assert response.json()["picked_quantity"] == 12


def test_the_each_gtin_and_the_sku_count_base_units(api, boss, pick_task):
    response = confirm(api(boss), pick_task, {"item": EACH_GTIN, "lot": "L42", "quantity": 12})
    assert response.status_code == 200 and response.json()["status"] == "PICKED"


@pytest.mark.parametrize(
    ("body", "field", "code", "words"),
    [
        ({"item": OTHER_GTIN, "lot": "L42", "quantity": 12}, "item", "wrong_item", [OTHER_GTIN, "OTHER", "MILK"]),
        ({"item": UNKNOWN_UPC, "lot": "L42", "quantity": 12}, "item", "wrong_item", [UNKNOWN_UPC, "MILK"]),
        # check digit 7 instead of 8
        ({"item": "(01)14006381333937(10)L42(37)2"}, "item", "bad_label", ["check digit", "14006381333937"]),
        ({"item": f"(01){CASE_GTIN}(10)L43(37)2"}, "item", "wrong_lot", ["L43", "L42"]),
        ({"item": f"(01){CASE_GTIN}(10)L42(37)2", "lot": "L9"}, "lot", "lot_mismatch", ["L42", "L9"]),
        ({"item": "(00)106141412345678908"}, "item", "not_an_item_label", ["106141412345678908"]),
    ],
)
def test_a_wrong_barcode_is_a_422_naming_the_scan_and_changes_nothing(
    api, boss, pick_task, floor, body, field, code, words
):
    message = refused(confirm(api(boss), pick_task, body), 422, field, code)
    assert all(w in message for w in words), message
    pick_task.refresh_from_db()
    assert pick_task.status == "OPEN" and pick_task.picked_quantity is None
    assert StockQuant.objects.get(location=floor["pick"]).quantity == 30


def test_a_wrong_sku_is_still_the_services_400_and_a_label_without_a_count_needs_a_quantity(api, boss, pick_task):
    client = api(boss)
    refused(confirm(client, pick_task, {"item": "OTHER", "lot": "L42", "quantity": 12}), 400, "item", "wrong_item")
    refused(confirm(client, pick_task, {"item": CASE_GTIN, "lot": "L42"}), 400, "quantity", "required")
    # a label without a count is one of what it labels: a case, 6 of 12 asked, a short pick
    response = confirm(client, pick_task, {"item": f"(01){CASE_GTIN}(10)L42"})
    assert response.status_code == 200 and response.json()["picked_quantity"] == 6


def test_a_refill_is_confirmed_with_a_case_gtin_and_refused_with_another_items(api, boss, floor, stock, milk, l42):
    create_pick_face_policy(user=boss, location=floor["pick"], item=milk, min_quantity=5, max_quantity=14)
    stock(milk, floor["pick"], 2, lot=l42)
    stock(milk, floor["bulk"], 60, lot=l42)
    sweep_pick_faces()
    task = ReplenishmentTask.objects.get()
    assert task.quantity == 12
    client = api(boss)
    url = f"/api/v1/replenishment/tasks/{task.pk}/confirm/"
    wrong = client.post(url, {"location": "B-01", "item": OTHER_GTIN, "lot": "L42", "quantity": 2}, format="json")
    assert "OTHER" in refused(wrong, 422, "item", "wrong_item")
    task.refresh_from_db()
    assert task.status == "OPEN"
    done = client.post(url, {"location": "B-01", "item": CASE_GTIN, "lot": "L42", "quantity": 2}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["moved_quantity"]) == ("DONE", 12)


@pytest.fixture
def milk_po(site, floor, milk):
    from orders.services import create_purchase_order, create_supplier

    return create_purchase_order(
        user=None,
        supplier=create_supplier(user=None, code="SCAN-SUP", name="Dairy", lead_time_days=2),
        site=site,
        expected_date=dt.date.today() + dt.timedelta(days=2),
        lines=[{"item": "MILK", "quantity": 24, "unit_cost": "1.00"}],
    )


@pytest.fixture
def putaway_task(boss, milk_po):
    receive(
        user=boss,
        purchase_order=milk_po,
        lines=[{"item": "MILK", "quantity": 12, "lot": "L42", "expiry_date": dt.date(2027, 1, 31)}],
    )
    return PutawayTask.objects.get()


def test_putaway_takes_a_gs1_label_for_the_item_and_its_count(api, boss, putaway_task):
    client = api(boss)
    url = f"/api/v1/putaway-tasks/{putaway_task.pk}/confirm/"
    other_lot = client.post(url, {"location": "B-01", "item": f"(01){CASE_GTIN}(10)L43(37)2"}, format="json")
    assert "L43" in refused(other_lot, 422, "item", "wrong_lot")
    wrong_sku = client.post(url, {"location": "B-01", "item": "OTHER", "quantity": 12}, format="json")
    refused(wrong_sku, 400, "item", "wrong_item")
    putaway_task.refresh_from_db()
    assert putaway_task.status == "OPEN"
    done = client.post(url, {"location": "B-01", "item": f"(01){CASE_GTIN}(10)L42(37)2"}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["confirmed_quantity"]) == ("CONFIRMED", 12)


@pytest.fixture
def milk_count(api, boss, floor, stock, milk, l42):
    stock(milk, floor["bulk"], 30, lot=l42)
    response = api(boss).post("/api/v1/cycle-counts/", {"site": "DC1", "locations": ["B-01"]}, format="json")
    assert response.status_code == 201, response.content
    count = response.json()
    return count, CycleCountLine.objects.get(count_id=count["id"])


def test_a_count_is_entered_by_scanning_a_case_gtin_in_cases(api, make_user, site, milk_count):
    count, line = milk_count
    counter = api(make_user("operator", site, username="scan-counter"))
    url = f"/api/v1/cycle-counts/{count['id']}/lines/{line.pk}/count/"
    both = counter.post(url, {"item": CASE_GTIN, "quantity": 5, "unit": "CASE"}, format="json")
    refused(both, 400, "unit", "unit_and_barcode")
    other_lot = counter.post(url, {"item": f"(01){CASE_GTIN}(10)L43(37)5"}, format="json")
    assert "L43" in refused(other_lot, 422, "item", "wrong_lot")
    wrong = counter.post(url, {"item": OTHER_GTIN, "quantity": 5}, format="json")
    assert "OTHER" in refused(wrong, 422, "item", "wrong_item")
    line.refresh_from_db()
    assert line.first_quantity is None
    done = counter.post(url, {"item": CASE_GTIN, "quantity": 5}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["counted_quantity"] is None  # still blind
    line.refresh_from_db()
    assert line.first_quantity == 30


def test_stock_found_during_a_count_is_named_by_its_barcode(api, make_user, site, milk_count):
    count, _ = milk_count
    counter = api(make_user("operator", site, username="scan-finder"))
    url = f"/api/v1/cycle-counts/{count['id']}/found/"
    unknown = counter.post(url, {"location": "B-01", "item": UNKNOWN_UPC, "quantity": 1}, format="json")
    assert UNKNOWN_UPC in refused(unknown, 422, "item", "unknown_gtin")
    found = counter.post(url, {"location": "B-01", "item": f"(01){OTHER_GTIN}(37)3"}, format="json")
    assert found.status_code == 201, found.content
    assert found.json()["item"] == "OTHER"
    line = CycleCountLine.objects.get(count_id=count["id"], item__sku="OTHER")
    assert line.first_quantity == 3


def test_a_receipt_line_is_received_from_a_gs1_label(api, boss, milk_po):
    client = api(boss)

    def post(*lines):
        return client.post(
            "/api/v1/receipts/", {"purchase_order": milk_po.number, "final": False, "lines": list(lines)}, format="json"
        )

    label = f"(01){CASE_GTIN}(17)270131(10)L42(37)2"
    assert UNKNOWN_UPC in refused(post({"item": UNKNOWN_UPC, "quantity": 1}), 422, "lines[0].item", "unknown_gtin")
    refused(
        post({"item": "MILK", "quantity": 6, "lot": "L42"}, {"item": label, "lot": "L9"}),
        422,
        "lines[1].lot",
        "lot_mismatch",
    )
    mismatch = post({"item": label, "expiry_date": "2027-02-28"})
    assert "2027-01-31" in refused(mismatch, 422, "lines[0].expiry_date", "expiry_mismatch")
    refused(post({"item": "MILK", "lot": "L42"}), 400, "lines[0].quantity", "required")
    assert not milk_po.receipts.exists()
    # a label with a count, and a case GTIN with a quantity in cases
    response = post({"item": label}, {"item": CASE_GTIN, "quantity": 1, "lot": "L42"})
    assert response.status_code == 201, response.content
    lines = response.json()["lines"]
    assert [(x["item"], x["lot"], x["quantity"]) for x in lines] == [("MILK", "L42", 12), ("MILK", "L42", 6)]
    assert Lot.objects.get(item__sku="MILK", number="L42").expiry_date == dt.date(2027, 1, 31)


def test_a_transfer_is_received_by_scanning_a_case_gtin(api, make_user, site, other_site, floor, stock, milk, l42):
    from warehouse.services.transfers import create_transfer, ship_transfer

    user = make_user(["planner", "operator", "supervisor"], site, other_site, username="scan-mover")
    LocationFactory(site=other_site, code="DOCK", kind=Location.Kind.RECEIVING)
    stock(milk, floor["bulk"], 12, lot=l42)
    transfer = create_transfer(user=user, from_site=site, to_site=other_site, lines=[{"item": "MILK", "quantity": 12}])
    ship_transfer(user=user, transfer=transfer)  # released for picking
    client = api(user)
    for task in PickTask.objects.filter(transfer_line__transfer=transfer):
        picked = confirm(client, task, {"location": task.location.code, "item": CASE_GTIN, "lot": "L42", "quantity": 2})
        assert picked.status_code == 200, picked.content
    ship_transfer(user=user, transfer=transfer)
    url = f"/api/v1/transfer-orders/{transfer.pk}/receive/"
    wrong = client.post(url, {"lines": [{"item": "(01)14006381333937(37)2"}]}, format="json")
    assert "check digit" in refused(wrong, 422, "lines[0].item", "bad_label")
    received = client.post(url, {"lines": [{"item": CASE_GTIN, "quantity": 2}]}, format="json")
    assert received.status_code == 201, received.content
    assert [(x["item"], x["quantity"]) for x in received.json()["lines"]] == [("MILK", 12)]
    transfer.refresh_from_db()
    assert transfer.status == "RECEIVED"
