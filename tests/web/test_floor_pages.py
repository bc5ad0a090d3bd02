"""The floor pages (issue 15): item page, move, hold / release, lot recall, and the move and refill scan screens —
who may open them, that each POST calls the service through a form, and that a refusal changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from inventory.models import Location, StockMove
from orders.services.replenishment import create_pick_face_policy
from tests.factories import LocationFactory, UserFactory
from tests.inventory.helpers import inventory_state, quant_of
from tests.warehouse.recall_floor import make_recall_floor
from warehouse.models import ReplenishmentTask
from warehouse.services.replenishment import sweep_pick_faces

pytestmark = pytest.mark.django_db

PAGES = {
    "web:move": "inventory.move",
    "web:holds": "inventory.hold",
    "web:recall": "inventory.hold",
    "web:scan-move": "inventory.move",
    "web:scan-refill": "warehouse.execute",
}


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def bins(site, item, stock):
    a = LocationFactory(site=site, code="A-01", kind=Location.Kind.STORAGE)
    b = LocationFactory(site=site, code="A-02", kind=Location.Kind.STORAGE)
    stock(item, a, 40)
    return a, b


@pytest.mark.parametrize("name", list(PAGES))
def test_anonymous_users_go_to_the_login_page(client, name):
    assert client.get(reverse(name)).status_code == 302


@pytest.mark.parametrize(
    "role, allowed",
    [
        ("supervisor", set(PAGES)),
        ("admin", set(PAGES)),
        ("operator", {"web:move", "web:scan-move", "web:scan-refill"}),
        ("coordinator", set()),
        ("auditor", set()),
    ],
)
def test_who_may_open_each_floor_page(login, make_user, site, role, allowed):
    client = login(make_user(role, site))
    for name in PAGES:
        status = client.get(reverse(name)).status_code
        assert status == (200 if name in allowed else 403), (role, name, status)


def test_menu_shows_the_floor_pages_for_the_roles_that_may(login, make_user, site):
    body = login(make_user("supervisor", site)).get(reverse("web:holds")).content.decode()
    for label in ("Move stock", "Hold / release", "Lot recall", "Scan: move", "Scan: refill"):
        assert label in body
    body = login(make_user("operator", site)).get(reverse("web:scan-move")).content.decode()
    assert "Lot recall" not in body and "Hold / release" not in body and "Scan: move" in body


# --- item page ------------------------------------------------------------------------------------------------


def test_item_page_shows_stock_by_location_lot_and_status_moves_orders_and_links(login, site, other_site):
    boss = UserFactory(username="item-boss")
    floor = make_recall_floor(site, other_site, boss)
    body = login(boss).get(reverse("web:item-detail", args=["JAM"])).content.decode()
    assert 'data-testid="item-stock"' in body and "L-RECALL" in body and "Available" in body
    assert floor["open_order"].number in body  # an open order of the item
    assert "Recall lot L-RECALL" in body and reverse("web:move") in body
    assert "Ship" in body  # the recent moves list the shipment's move with its human label


def test_item_page_of_an_unknown_item_is_404(login, supervisor):
    assert login(supervisor).get(reverse("web:item-detail", args=["NOPE"])).status_code == 404


def test_order_lines_and_held_stock_link_the_item_page(login, supervisor, site, item, bins, draft):
    order = draft()
    body = login(supervisor).get(reverse("web:order-detail", args=[order.number])).content.decode()
    assert reverse("web:item-detail", args=[item.sku]) in body


# --- move -----------------------------------------------------------------------------------------------------


def test_move_page_moves_through_the_service(login, operator, item, bins):
    a, b = bins
    response = login(operator).post(
        reverse("web:move"),
        {"item": "WIDGET", "quantity": 2, "from_location": "A-01", "to_location": "A-02", "status": "AVAILABLE"},
    )
    assert response.status_code == 302
    assert quant_of(item, a) == (38, 0) and quant_of(item, b) == (2, 0)


def test_move_page_shows_a_refusal_and_changes_nothing(login, operator, item, bins):
    before = inventory_state()
    client = login(operator)
    response = client.post(
        reverse("web:move"),
        {"item": "WIDGET", "quantity": 99, "from_location": "A-01", "to_location": "A-02", "status": "AVAILABLE"},
    )
    assert response.status_code == 400 and "Only 40" in response.content.decode()
    response = client.post(
        reverse("web:move"),
        {"item": "WIDGET", "quantity": 1, "from_location": "A-01", "to_location": "NOWHERE", "status": "AVAILABLE"},
    )
    assert response.status_code == 400 and "No location NOWHERE" in response.content.decode()
    assert inventory_state() == before


# --- hold / release -------------------------------------------------------------------------------------------


def test_hold_page_holds_lists_and_releases(login, supervisor, item, bins):
    a, _ = bins
    client = login(supervisor)
    response = client.post(
        reverse("web:holds"),
        {
            "item": "WIDGET",
            "location": "A-01",
            "quantity": 6,
            "to_status": "HOLD",
            "reason_code": "QUALITY",
            "note": "dented",
        },
    )
    assert response.status_code == 302 and quant_of(item, a, "HOLD") == (6, 0)
    page = client.get(reverse("web:holds")).content.decode()
    assert 'data-testid="held-row"' in page and "Hold" in page and "Quality check: dented" in page
    held = StockMove.objects.get(kind="STATUS").to_location  # the quant's location
    from inventory.models import StockQuant

    quant = StockQuant.objects.get(item=item, location=held, status="HOLD")
    response = client.post(
        reverse("web:hold-release", args=[quant.pk]),
        {f"r{quant.pk}-quant": quant.pk, f"r{quant.pk}-quantity": 6, f"r{quant.pk}-reason_code": "QUALITY_OK"},
    )
    assert response.status_code == 302 and quant_of(item, a, "HOLD") == (0, 0) and quant_of(item, a) == (40, 0)


def test_hold_page_refusals_change_nothing(login, supervisor, operator, item, bins, outsider):
    before = inventory_state()
    response = login(supervisor).post(
        reverse("web:holds"),
        {"item": "WIDGET", "location": "A-01", "quantity": 41, "to_status": "HOLD", "reason_code": "QUALITY"},
    )
    assert response.status_code == 400 and "can go on hold" in response.content.decode()
    assert (
        login(operator)
        .post(reverse("web:holds"), {"item": "WIDGET", "quantity": 1, "to_status": "HOLD", "reason_code": "QUALITY"})
        .status_code
        == 403
    )
    assert inventory_state() == before


def test_releasing_stock_of_another_site_is_404(login, supervisor, outsider, item, bins):
    a, _ = bins
    from inventory.services.holds import hold_stock

    hold_stock(user=supervisor, item=item, site=a.site, location=a, quantity=3, reason_code="QUALITY")
    from inventory.models import StockQuant

    quant = StockQuant.objects.get(status="HOLD")
    response = login(outsider).post(
        reverse("web:hold-release", args=[quant.pk]),
        {f"r{quant.pk}-quant": quant.pk, f"r{quant.pk}-quantity": 3, f"r{quant.pk}-reason_code": "QUALITY_OK"},
    )
    assert response.status_code == 404 and quant_of(item, a, "HOLD") == (3, 0)


# --- lot recall -----------------------------------------------------------------------------------------------


@pytest.fixture
def recall_floor(site, other_site):
    boss = UserFactory(username="page-boss")
    return make_recall_floor(site, other_site, boss) | {"boss": boss}


def test_recall_page_previews_then_recalls_and_reports(login, recall_floor):
    client = login(recall_floor["boss"])
    preview = client.get(reverse("web:recall"), {"item": "JAM", "lot": "L-RECALL"})
    body = preview.content.decode()
    assert preview.status_code == 200 and 'data-testid="recall-form"' in body
    assert recall_floor["shipment"].number in body and "ACME" in body
    response = client.post(
        reverse("web:recall"), {"item": "JAM", "lot": "L-RECALL", "reason": "Supplier recall", "confirm": "on"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'data-testid="recall-report"' in body
    assert "71</b> units put on hold" in body and "4 at B-01" in body
    assert quant_of(recall_floor["item"], recall_floor["bin1"], "HOLD", recall_floor["lot"]) == (41, 0)


def test_recall_page_needs_a_reason_and_the_confirmation(login, recall_floor):
    before = inventory_state()
    client = login(recall_floor["boss"])
    response = client.post(reverse("web:recall"), {"item": "JAM", "lot": "L-RECALL", "reason": "x"})
    assert response.status_code == 400
    response = client.post(reverse("web:recall"), {"item": "JAM", "lot": "L-RECALL", "reason": "", "confirm": "on"})
    assert response.status_code == 400
    assert client.get(reverse("web:recall"), {"item": "JAM", "lot": "NOPE"}).status_code == 400
    assert inventory_state() == before


# --- scan screens ---------------------------------------------------------------------------------------------


def test_scan_move_takes_a_gtin_label_and_moves(login, operator, item, bins):
    from django.db import transaction

    from inventory.services import set_item_barcodes

    with transaction.atomic():
        set_item_barcodes(user=None, item=item, barcodes=[{"gtin": "04006381333931", "unit": "CASE"}])
    a, b = bins
    response = login(operator).post(
        reverse("web:scan-move"),
        {"from_location": "A-01", "item": "04006381333931", "quantity": "2", "to_location": "A-02"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert quant_of(item, b) == (24, 0)  # two cases of 12


def test_scan_move_refuses_a_wrong_scan_and_changes_nothing(login, operator, item, bins):
    before = inventory_state()
    client = login(operator)
    response = client.post(
        reverse("web:scan-move"), {"from_location": "A-01", "item": "WIDGET", "quantity": "2", "to_location": "A-01"}
    )
    assert response.status_code == 400
    response = client.post(
        reverse("web:scan-move"), {"from_location": "A-01", "item": "NOTHING", "quantity": "2", "to_location": "A-02"}
    )
    assert response.status_code == 400 and "No item" in response.content.decode()
    assert inventory_state() == before
    check = client.get(reverse("web:scan-move-check"), {"field": "item", "item": "WIDGET", "from_location": "A-01"})
    assert "40 free at A-01" in check.content.decode()


@pytest.fixture
def refill(site, item, stock):
    face = LocationFactory(site=site, code="P-09", kind="PICK", capacity=100)
    bulk = LocationFactory(site=site, code="B-09", kind="STORAGE")
    create_pick_face_policy(user=None, location=face, item=item, min_quantity=5, max_quantity=40)
    stock(item, face, 5)
    stock(item, bulk, 100)
    sweep_pick_faces()
    return ReplenishmentTask.objects.get()


def test_scan_refill_lists_and_confirms_a_task(login, operator, item, refill):
    client = login(operator)
    assert f"REPL-{refill.pk}" in client.get(reverse("web:scan-refill")).content.decode()
    url = reverse("web:scan-refill-task", args=[refill.pk])
    wrong = client.post(url, {"location": "P-09", "item": "WIDGET", "quantity": str(refill.quantity)})
    assert wrong.status_code == 400 and "Wrong location" in wrong.content.decode()
    response = client.post(url, {"location": "B-09", "item": "WIDGET", "quantity": str(refill.quantity)})
    assert response.status_code == 302
    refill.refresh_from_db()
    assert refill.status == "DONE" and refill.moved_quantity == refill.quantity
    check = client.get(reverse("web:scan-refill-check", args=[refill.pk]), {"field": "location", "location": "X"})
    assert "Wrong location" in check.content.decode()


def test_refill_task_of_another_site_is_404(login, outsider, refill):
    assert login(outsider).get(reverse("web:scan-refill-task", args=[refill.pk])).status_code == 404


def test_recall_page_finds_the_lot_from_a_scanned_gs1_label(login, recall_floor):
    from django.db import transaction

    from inventory.services import set_item_barcodes

    with transaction.atomic():
        set_item_barcodes(user=None, item=recall_floor["item"], barcodes=[{"gtin": "04006381333931", "unit": ""}])
    response = login(recall_floor["boss"]).get(reverse("web:recall"), {"item": "0104006381333931" + "10L-RECALL"})
    assert response.status_code == 200 and 'data-testid="recall-form"' in response.content.decode()
