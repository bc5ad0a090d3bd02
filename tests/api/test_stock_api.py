"""stock-levels/, stock-quants/, stock-moves/: read-only balances and the ledger, per visible site."""

import pytest

from inventory.models import Location, StockLevel, StockMove, StockQuant
from inventory.services import change_status, receive_stock
from tests.factories import ItemFactory, LocationFactory, LotFactory

from .helpers import problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(item, storage, storage2, stock, other_site):
    stock(item, storage, 40)
    stock(item, storage2, 5, status="HOLD")
    stock(ItemFactory(sku="GADGET"), LocationFactory(site=other_site, code="W-1"), 7)


def test_stock_levels_show_every_balance_per_item_and_site(api, supervisor, stocked):
    rows = api(supervisor).get("/api/v1/stock-levels/?site=DC1&item=WIDGET").json()["results"]
    assert len(rows) == 1
    level = rows[0]
    assert {k: level[k] for k in level if k not in ("id", "updated_at")} == {
        "item": "WIDGET",
        "site": "DC1",
        "on_hand": 45,
        "available": 40,
        "allocated": 0,
        "available_to_promise": 40,
        "received": 0,
        "hold": 5,
        "damaged": 0,
        "in_transit": 0,
        "in_transit_out": 0,
    }


def test_stock_levels_of_another_site_are_hidden_and_404(api, supervisor, outsider, stocked):
    assert {r["site"] for r in api(supervisor).get("/api/v1/stock-levels/").json()["results"]} == {"DC1"}
    assert api(outsider).get("/api/v1/stock-levels/?site=DC1").json()["results"] == []
    dc1_level = StockLevel.objects.get(site__code="DC1")
    problem(api(outsider).get(f"/api/v1/stock-levels/{dc1_level.pk}/"), 404)


def test_stock_quants_per_location_lot_and_status(api, supervisor, stocked, site):
    lot_item = ItemFactory(sku="MILK", lot_tracked=True)
    lot = LotFactory(item=lot_item, number="L-1")
    receive_stock(
        user=None,
        item=lot_item,
        location=Location.objects.get(site=site, code="A-01-01"),
        quantity=3,
        status="AVAILABLE",
        lot=lot,
        check_permission=False,
    )
    client = api(supervisor)
    held = client.get("/api/v1/stock-quants/?site=DC1&status=HOLD").json()["results"]
    assert [(q["item"], q["location"], q["quantity"], q["reserved"], q["lot"]) for q in held] == [
        ("WIDGET", "A-01-02", 5, 0, None)
    ]
    lots = client.get("/api/v1/stock-quants/?lot=L-1").json()["results"]
    assert [(q["item"], q["lot"], q["quantity"]) for q in lots] == [("MILK", "L-1", 3)]
    assert {"item", "site", "location", "lot", "status", "quantity", "reserved", "last_counted_at"} <= set(lots[0])
    assert client.get("/api/v1/stock-quants/?location=A-01-01&item=WIDGET").json()["count"] == 1
    problem(client.get("/api/v1/stock-quants/?status=LOST"), 400)


def test_stock_quants_of_another_site_are_hidden_and_404(api, outsider, stocked):
    assert {q["site"] for q in api(outsider).get("/api/v1/stock-quants/").json()["results"]} == {"DC2"}
    quant = StockQuant.objects.filter(site__code="DC1").first()
    problem(api(outsider).get(f"/api/v1/stock-quants/{quant.pk}/"), 404)


def test_the_ledger_reads_newest_first_with_cursor_pages(api, supervisor, item, storage, stock):
    for quantity in range(1, 6):
        stock(item, storage, quantity)
    client = api(supervisor)
    first = client.get("/api/v1/stock-moves/?page_size=2").json()
    assert [m["quantity"] for m in first["results"]] == [5, 4] and first["previous"] is None
    second = client.get(first["next"]).json()
    assert [m["quantity"] for m in second["results"]] == [3, 2]
    move = first["results"][0]
    assert {
        "id",
        "created_at",
        "kind",
        "item",
        "lot",
        "quantity",
        "from_location",
        "from_status",
        "to_location",
        "to_status",
        "reference",
        "reason_code",
        "user",
    } <= set(move)
    assert (move["from_location"], move["from_status"], move["to_location"], move["to_status"]) == (
        "V-SUPPLIER",
        None,
        "A-01-01",
        "AVAILABLE",
    )


def test_the_ledger_filters_by_site_location_item_and_kind(api, supervisor, stocked, storage, item):
    change_status(
        user=None,
        item=item,
        location=storage,
        quantity=2,
        from_status="AVAILABLE",
        to_status="HOLD",
        check_permission=False,
    )
    client = api(supervisor)
    assert client.get("/api/v1/stock-moves/?kind=STATUS").json()["results"][0]["quantity"] == 2
    at_bin = client.get("/api/v1/stock-moves/?site=DC1&location=A-01-02").json()["results"]
    assert [m["to_location"] for m in at_bin] == ["A-01-02"]
    assert client.get("/api/v1/stock-moves/?item=GADGET").json()["results"] == []  # DC2 only
    problem(client.get("/api/v1/stock-moves/?kind=TELEPORT"), 400)


def test_the_ledger_of_another_site_is_hidden_and_404(api, outsider, stocked):
    assert {m["item"] for m in api(outsider).get("/api/v1/stock-moves/").json()["results"]} == {"GADGET"}
    move = StockMove.objects.filter(item__sku="WIDGET").first()
    problem(api(outsider).get(f"/api/v1/stock-moves/{move.pk}/"), 404)


def test_balances_and_the_ledger_are_read_only(api, admin_user, stocked):
    client = api(admin_user)
    moves = StockMove.objects.count()
    level = StockLevel.objects.first()
    problem(client.post("/api/v1/stock-levels/", {"item": "WIDGET", "site": "DC1", "available": 1}, format="json"), 405)
    problem(client.patch(f"/api/v1/stock-levels/{level.pk}/", {"available": 1}, format="json"), 405)
    problem(client.post("/api/v1/stock-moves/", {}, format="json"), 405)
    problem(client.delete(f"/api/v1/stock-moves/{StockMove.objects.first().pk}/"), 405)
    assert StockMove.objects.count() == moves and StockLevel.objects.get(pk=level.pk).available == level.available
