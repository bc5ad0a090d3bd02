"""stock/move/, stock/hold/, stock/release/ and lots/{item}/{lot}/recall/ (issue 15): the services through the API,
refusals (nothing written), Idempotency-Key, token scope."""

from __future__ import annotations

import pytest

from governance.api.authentication import generate_token
from inventory.models import Location, StockMove
from inventory.selectors import find_inventory_drift
from tests.factories import ItemFactory, LocationFactory, UserFactory
from tests.inventory.helpers import inventory_state, quant_of
from tests.warehouse.recall_floor import make_recall_floor

from .helpers import field_errors, problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def bins(site, item, storage, storage2, stock):
    stock(item, storage, 40)
    return storage, storage2


def test_move_between_bins_of_a_site(api, operator, item, bins):
    a, b = bins
    response = api(operator).post(
        "/api/v1/stock/move/",
        {
            "site": "DC1",
            "item": "WIDGET",
            "quantity": 1,
            "unit": "CASE",
            "from_location": a.code,
            "to_location": b.code,
            "reason_code": "CONSOLIDATE",
            "note": "tidy",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["quantity"], body["from_location"], body["to_location"]) == ("MOVE", 12, a.code, b.code)
    assert quant_of(item, a) == (28, 0) and quant_of(item, b) == (12, 0)
    assert StockMove.objects.get(pk=body["id"]).reason_code == "CONSOLIDATE"


def test_move_refusals_write_nothing(api, operator, outsider, item, bins, other_site):
    a, b = bins
    elsewhere = LocationFactory(site=other_site, code="X-1")
    client = api(operator)
    before = inventory_state()
    base = {"site": "DC1", "item": "WIDGET", "quantity": 5, "from_location": a.code, "to_location": b.code}
    assert "to_location" in field_errors(
        client.post("/api/v1/stock/move/", {**base, "to_location": "NOPE"}, format="json")
    )
    assert "to_location" in field_errors(
        client.post("/api/v1/stock/move/", {**base, "to_location": elsewhere.code}, format="json")
    )
    assert "quantity" in field_errors(client.post("/api/v1/stock/move/", {**base, "quantity": 0}, format="json"))
    assert "quantity" in field_errors(client.post("/api/v1/stock/move/", {**base, "quantity": 1.5}, format="json"))
    assert "to_location" in field_errors(
        client.post("/api/v1/stock/move/", {**base, "to_location": a.code}, format="json")
    )
    problem(client.post("/api/v1/stock/move/", {**base, "quantity": 41}, format="json"), 422)
    assert "site" in field_errors(api(outsider).post("/api/v1/stock/move/", base, format="json"))
    assert inventory_state() == before


def test_move_with_an_idempotency_key_moves_once(api, operator, item, bins):
    a, b = bins
    client = api(operator)
    body = {"site": "DC1", "item": "WIDGET", "quantity": 3, "from_location": a.code, "to_location": b.code}
    first = client.post("/api/v1/stock/move/", body, format="json", HTTP_IDEMPOTENCY_KEY="mv-1")
    second = client.post("/api/v1/stock/move/", body, format="json", HTTP_IDEMPOTENCY_KEY="mv-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert quant_of(item, b) == (3, 0)
    problem(
        client.post("/api/v1/stock/move/", {**body, "quantity": 4}, format="json", HTTP_IDEMPOTENCY_KEY="mv-1"), 422
    )


def test_hold_and_release_through_the_api(api, supervisor, item, bins):
    a, _ = bins
    client = api(supervisor)
    held = client.post(
        "/api/v1/stock/hold/",
        {
            "site": "DC1",
            "item": "WIDGET",
            "location": a.code,
            "quantity": 10,
            "reason_code": "QUALITY",
            "note": "mould",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="hold-1",
    )
    assert held.status_code == 201, held.content
    assert held.json()["held_total"] == 10 and held.json()["sites"][0]["held"] == [
        {"location": a.code, "from_status": "AVAILABLE", "quantity": 10}
    ]
    again = client.post(
        "/api/v1/stock/hold/",
        {
            "site": "DC1",
            "item": "WIDGET",
            "location": a.code,
            "quantity": 10,
            "reason_code": "QUALITY",
            "note": "mould",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="hold-1",
    )
    assert again.json() == held.json() and quant_of(item, a, "HOLD") == (10, 0)

    released = client.post(
        "/api/v1/stock/release/",
        {"site": "DC1", "item": "WIDGET", "location": a.code, "quantity": 4, "reason_code": "QUALITY_OK"},
        format="json",
    )
    assert released.status_code == 201, released.content
    assert (released.json()["from_status"], released.json()["to_status"]) == ("HOLD", "AVAILABLE")
    assert quant_of(item, a, "HOLD") == (6, 0) and quant_of(item, a) == (34, 0)


def test_hold_refusals(api, supervisor, operator, item, bins):
    a, _ = bins
    before = inventory_state()
    body = {"site": "DC1", "item": "WIDGET", "location": a.code, "quantity": 5, "reason_code": "QUALITY"}
    problem(api(operator).post("/api/v1/stock/hold/", body, format="json"), 403)
    assert "reason_code" in field_errors(
        api(supervisor).post("/api/v1/stock/hold/", {**body, "reason_code": "NAP"}, format="json")
    )
    assert "lot" in field_errors(api(supervisor).post("/api/v1/stock/hold/", {**body, "lot": "L1"}, format="json"))
    problem(api(supervisor).post("/api/v1/stock/hold/", {**body, "quantity": 41}, format="json"), 422)
    problem(
        api(supervisor).post("/api/v1/stock/release/", {**body, "reason_code": "QUALITY_OK"}, format="json"),
        422,
    )  # nothing on hold there
    problem(api(operator).post("/api/v1/stock/release/", {**body, "reason_code": "QUALITY_OK"}, format="json"), 403)
    assert inventory_state() == before


def test_a_token_without_the_inventory_scope_may_not_hold(supervisor, item, bins):
    from rest_framework.test import APIClient

    _, key = generate_token(user=supervisor, scopes=["read", "warehouse"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    body = {"site": "DC1", "item": "WIDGET", "quantity": 5, "reason_code": "QUALITY"}
    problem(client.post("/api/v1/stock/hold/", body, format="json"), 403)
    problem(client.post("/api/v1/lots/WIDGET/L1/recall/", {"reason": "x"}, format="json"), 403)


# --- recall ---------------------------------------------------------------------------------------------------


@pytest.fixture
def recall_floor(site, other_site):
    boss = UserFactory(username="recall-boss")
    return make_recall_floor(site, other_site, boss) | {"boss": boss}


def test_recall_preview_shows_where_the_lot_is_and_where_it_went(api, recall_floor):
    body = api(recall_floor["boss"]).get("/api/v1/lots/JAM/L-RECALL/recall/").json()
    assert sorted((s["site"], s["location"], s["status"], s["quantity"], s["reserved"]) for s in body["stock"]) == [
        ("DC1", "B-01", "AVAILABLE", 45, 4),
        ("DC2", "B-01", "AVAILABLE", 30, 0),
    ]
    (shipment,) = body["shipments"]
    assert (shipment["customer_code"], shipment["quantity"], shipment["status"]) == ("ACME", 5, "SHIPPED")
    assert [(t["kind"], t["quantity"], t["document"]) for t in body["open_tasks"]] == [
        ("PICK", 4, recall_floor["open_order"].number)
    ]


def test_recall_holds_every_site_and_reports_reserved_and_shipped(api, recall_floor):
    client = api(recall_floor["boss"])
    response = client.post(
        "/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "Supplier recall"}, format="json", HTTP_IDEMPOTENCY_KEY="rc-1"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    recall = body["recall"]
    assert recall["held_total"] == 41 + 30 and recall["reserved_total"] == 4
    sites = {s["site"]: s for s in recall["sites"]}
    assert sites["DC1"]["reserved_not_held"] == {"B-01": 4} and sites["DC1"]["held_total"] == 41
    assert sites["DC2"]["held_total"] == 30
    assert body["customers"] == ["ACME"] and body["shipped_units"] == 5
    assert quant_of(recall_floor["item"], recall_floor["bin1"], "HOLD", recall_floor["lot"]) == (41, 0)
    assert quant_of(recall_floor["item"], recall_floor["bin1"], "AVAILABLE", recall_floor["lot"]) == (4, 4)
    moves = StockMove.objects.count()
    replay = client.post(
        "/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "Supplier recall"}, format="json", HTTP_IDEMPOTENCY_KEY="rc-1"
    )
    assert replay.json() == body and StockMove.objects.count() == moves
    fresh = client.post("/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "Supplier recall"}, format="json").json()
    assert fresh["recall"]["held_total"] == 0 and StockMove.objects.count() == moves
    assert find_inventory_drift() == []


def test_recall_refusals(api, recall_floor, site, make_user):
    before = inventory_state()
    operator = make_user("operator", site, username="op-rc")
    problem(api(operator).post("/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "x"}, format="json"), 403)
    problem(api(recall_floor["boss"]).post("/api/v1/lots/JAM/NOPE/recall/", {"reason": "x"}, format="json"), 404)
    problem(api(recall_floor["boss"]).post("/api/v1/lots/NOPE/L-RECALL/recall/", {"reason": "x"}, format="json"), 404)
    assert "reason" in field_errors(
        api(recall_floor["boss"]).post("/api/v1/lots/JAM/L-RECALL/recall/", {"reason": ""}, format="json")
    )
    assert "reason" in field_errors(
        api(recall_floor["boss"]).post("/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "   "}, format="json")
    )
    assert inventory_state() == before


def test_recall_of_a_lot_with_a_slash(api, supervisor, site, stock):
    from tests.factories import LotFactory

    item = ItemFactory(sku="OIL", lot_tracked=True)
    lot = LotFactory(item=item, number="2026/12-A")
    stock(item, LocationFactory(site=site, code="B-9", kind=Location.Kind.STORAGE), 3, lot=lot)
    body = api(supervisor).post("/api/v1/lots/OIL/2026/12-A/recall/", {"reason": "x"}, format="json").json()
    assert body["recall"]["held_total"] == 3


def test_move_and_hold_take_a_scanned_gtin_or_gs1_label_as_the_scanner_endpoints_do(api, supervisor, site, stock):
    from django.db import transaction

    from inventory.services import set_item_barcodes
    from tests.factories import LotFactory

    item = ItemFactory(sku="TEA", lot_tracked=True, units={"CASE": 12})
    with transaction.atomic():
        set_item_barcodes(user=None, item=item, barcodes=[{"gtin": "04006381333931", "unit": "CASE"}])
    lot = LotFactory(item=item, number="L7")
    a = LocationFactory(site=site, code="T-1", kind=Location.Kind.STORAGE)
    b = LocationFactory(site=site, code="T-2", kind=Location.Kind.STORAGE)
    stock(item, a, 48, lot=lot)
    client = api(supervisor)
    label = "0104006381333931" + "372" + "\x1d" + "10L7"  # GTIN of a case, 2 cases (37), lot L7 (10)
    moved = client.post(
        "/api/v1/stock/move/",
        {"site": "DC1", "item": label, "from_location": "T-1", "to_location": "T-2"},
        format="json",
    )
    assert moved.status_code == 201, moved.content
    assert (moved.json()["quantity"], moved.json()["lot"]) == (24, "L7")
    held = client.post(
        "/api/v1/stock/hold/",
        {
            "site": "DC1",
            "item": "04006381333931",
            "lot": "L7",
            "location": "T-2",
            "quantity": 1,
            "reason_code": "QUALITY",
        },
        format="json",
    )
    assert held.status_code == 201 and held.json()["held_total"] == 12  # one case
    before = inventory_state()
    other_lot = "0104006381333931" + "10L8"
    problem(
        client.post(
            "/api/v1/stock/move/",
            {
                "site": "DC1",
                "item": other_lot,
                "lot": "L7",
                "quantity": 1,
                "from_location": "T-1",
                "to_location": "T-2",
            },
            format="json",
        ),
        422,
    )
    assert "item" in field_errors(
        client.post(
            "/api/v1/stock/move/",
            {"site": "DC1", "item": "NOPE", "quantity": 1, "from_location": "T-1", "to_location": "T-2"},
            format="json",
        )
    )
    assert quant_of(item, b, "AVAILABLE", lot) == (12, 0) and inventory_state() == before


def test_recall_preview_shows_another_sites_stock_and_shipments_to_no_one_outside(
    api, recall_floor, make_user, other_site
):
    west = make_user("supervisor", other_site, username="west-only")
    body = api(west).get("/api/v1/lots/JAM/L-RECALL/recall/").json()
    assert {s["site"] for s in body["stock"]} == {"DC2"}
    assert body["shipments"] == [] and body["open_tasks"] == []
    recall = api(west).post("/api/v1/lots/JAM/L-RECALL/recall/", {"reason": "x"}, format="json").json()
    assert [s["site"] for s in recall["recall"]["sites"]] == ["DC2"] and recall["recall"]["unseen_sites"] == 1
    assert recall["customers"] == []
