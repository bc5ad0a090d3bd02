"""Receiving in the browser: the purchase order list and page, the desktop receive page and the scan-receive
screen. Every post goes through ``warehouse.services.receive`` (the API's service): its discrepancies are shown,
its refusals are shown in its words and change nothing; receiving needs a receiving role at the PO's site, and a
PO of a site the user does not see is a 404."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from governance.models import ExceptionCase, SiteMembership
from governance.services import set_rule_value
from inventory.models import Location, Lot, StockMove, StockQuant
from inventory.services import create_item
from orders.models import PurchaseOrder, PurchaseOrderLine
from orders.services import add_ship_notice, create_purchase_order, create_supplier
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import Discrepancy, PutawayTask, Receipt, ReceiptLine
from warehouse.services import receive

pytestmark = pytest.mark.django_db

GS1_MILK = "(01)14006381333938(17)270131(10)L42(37)2"  # 2 cases of 6 MILK, lot L42, expiry 2027-01-31


@pytest.fixture
def supplier(db):
    return create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)


@pytest.fixture
def new_po(site, supplier):
    """new_po([(sku, qty), ...], site=site) -> an OPEN purchase order."""

    def _make(lines, at=None, days=2):
        return create_purchase_order(
            user=None,
            supplier=supplier,
            site=at or site,
            expected_date=timezone.localdate() + timedelta(days=days),
            lines=[{"item": sku, "quantity": qty, "unit_cost": "5.00"} for sku, qty in lines],
        )

    return _make


@pytest.fixture
def milk(boss):
    return create_item(
        user=None,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        shelf_life_days=30,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "14006381333938", "unit": "CASE"}],
    )


@pytest.fixture
def receiver(make_user, site):
    return make_user("operator", site, username="dock1")


def _snapshot():
    return (
        Receipt.objects.count(),
        ReceiptLine.objects.count(),
        Discrepancy.objects.count(),
        StockMove.objects.count(),
        list(StockQuant.objects.order_by("pk").values_list("pk", "status", "quantity")),
        PutawayTask.objects.count(),
        ExceptionCase.objects.count(),
        list(PurchaseOrderLine.objects.order_by("pk").values_list("pk", "received_quantity", "rejected_quantity")),
        list(PurchaseOrder.objects.order_by("pk").values_list("pk", "status")),
        Lot.objects.count(),
    )


def _form(po, rows, final=True, note="", source="po"):
    """The POST of the desktop receive page: rows = [{item, quantity, damaged, lot, expiry}] in page order."""
    data = {
        "source": source,
        "line-TOTAL_FORMS": str(len(rows)),
        "line-INITIAL_FORMS": str(len(rows)),
        "line-MIN_NUM_FORMS": "0",
        "line-MAX_NUM_FORMS": "500",
        "receipt-note": note,
        "receipt-seen": PurchaseOrder.objects.get(pk=po.pk).updated_at.isoformat(),  # as the page draws it
    }
    if final:
        data["receipt-final"] = "on"
    for i, row in enumerate(rows):
        for key in ("item", "quantity", "damaged", "lot", "expiry"):
            data[f"line-{i}-{key}"] = str(row.get(key, ""))
    return data


# --- list and page ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["web:po-list", "web:scan-receive"])
def test_anonymous_users_go_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_po_list_shows_the_sites_orders_with_human_statuses_filters_and_pages(
    client, boss, item, floor, new_po, other_site, supplier
):
    first = new_po([("WIDGET", 10)], days=1)
    partial = new_po([("WIDGET", 10)], days=3)
    receive(user=boss, purchase_order=partial, lines=[{"item": "WIDGET", "quantity": 4}], final=False)
    elsewhere = new_po([("WIDGET", 10)], at=other_site)
    other_supplier = create_supplier(user=None, code="ACMEFOODS", name="Acme Foods")
    acme = create_purchase_order(
        user=None,
        supplier=other_supplier,
        site=floor["dock"].site,
        expected_date=timezone.localdate() + timedelta(days=9),
        lines=[{"item": "WIDGET", "quantity": 3, "unit_cost": "1.00"}],
    )
    client.force_login(boss)
    url = reverse("web:po-list")
    page = client.get(url).content.decode()
    assert first.number in page and partial.number in page and acme.number in page
    assert elsewhere.number not in page
    assert "Partially received" in page and "PARTIALLY_RECEIVED</td>" not in page
    assert page.index(first.number) < page.index(partial.number) < page.index(acme.number)  # soonest expected first

    page = client.get(url, {"status": "PARTIALLY_RECEIVED"}).content.decode()
    assert partial.number in page and first.number not in page
    page = client.get(url, {"status": "TO_RECEIVE"}).content.decode()
    assert partial.number in page and first.number in page
    page = client.get(url, {"supplier": "acme"}).content.decode()
    assert acme.number in page and first.number not in page
    page = client.get(url, {"number": first.number[-3:]}).content.decode()
    assert first.number in page and acme.number not in page
    rows = b"".join(client.get(url, {"format": "csv"}).streaming_content).decode().splitlines()
    assert rows[0].startswith("Purchase order,Supplier,Status,Expected")
    partial_row = next(r for r in rows if r.startswith(partial.number))
    assert ",Partially received," in partial_row and ",10,4,6," in partial_row  # ordered, received, open

    for _ in range(25):
        new_po([("WIDGET", 1)], days=30)
    page1 = client.get(url).content.decode()
    assert "Page 1 of 2" in page1 or "page=2" in page1
    assert first.number in page1
    assert first.number not in client.get(url, {"page": 2}).content.decode()


def test_po_page_shows_lines_ship_notice_receipts_and_status_history(client, boss, item, floor, new_po):
    po = new_po([("WIDGET", 10)])
    add_ship_notice(user=boss, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 10, "lot_number": ""}])
    receipt = receive(
        user=boss, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 3, "damaged_quantity": 1}], final=False
    )
    client.force_login(boss)
    page = client.get(reverse("web:po-detail", args=[po.number])).content.decode()
    assert 'data-testid="po-status">Partially received<' in page
    lines = page[page.index('data-testid="po-lines"') :]
    assert '<td class="num">10</td>' in lines and '<td class="num">3</td>' in lines  # ordered, good
    assert '<td class="num">1</td>' in lines and '<td class="num">6</td>' in lines  # damaged, open
    assert "Each" in lines  # the base unit, by its label
    assert reverse("web:receipt-detail", args=[receipt.number]) in page
    history = page[page.index('data-testid="po-history"') :]
    assert "Open → Partially received" in history and "Created: Open" in history
    assert 'data-testid="po-notices"' in page and "The supplier sent no ship notice" not in page
    assert reverse("web:po-receive", args=[po.number]) in page
    assert reverse("web:po-receive", args=[po.number]) + "?source=asn" in page
    assert reverse("web:scan-receive-po", args=[po.number]) in page
    # the receipt page links back to the PO, the receipt list and the dashboard to the PO list
    receipt_page = client.get(reverse("web:receipt-detail", args=[receipt.number])).content.decode()
    assert reverse("web:po-detail", args=[po.number]) in receipt_page
    receipt_list = client.get(reverse("web:receipt-list")).content.decode()
    assert f'<a href="{reverse("web:po-detail", args=[po.number])}">{po.number} · SUP1</a>' in receipt_list
    po_list = reverse("web:po-list") + "?status=TO_RECEIVE"
    assert po_list in client.get(reverse("web:receipt-list")).content.decode()
    assert po_list in client.get(reverse("web:dashboard")).content.decode()


def test_another_sites_po_is_404_everywhere_and_nothing_is_written(client, outsider, item, floor, new_po):
    po = new_po([("WIDGET", 10)])
    before = _snapshot()
    client.force_login(outsider)
    assert client.get(reverse("web:po-detail", args=[po.number])).status_code == 404
    assert client.get(reverse("web:po-receive", args=[po.number])).status_code == 404
    response = client.post(reverse("web:po-receive", args=[po.number]), _form(po, [{"item": "WIDGET", "quantity": 5}]))
    assert response.status_code == 404
    assert client.get(reverse("web:scan-receive-po", args=[po.number])).status_code == 404
    response = client.post(reverse("web:scan-receive-po", args=[po.number]), {"item": "WIDGET", "quantity": "5"})
    assert response.status_code == 404
    check = reverse("web:scan-receive-check", args=[po.number])
    assert client.get(check, {"field": "item", "item": "WIDGET"}).status_code == 404
    assert po.number not in client.get(reverse("web:po-list")).content.decode()
    # scanning another site's PO number says it is not here, without confirming it exists
    response = client.get(reverse("web:scan-receive"), {"po": po.number})
    assert response.status_code == 400 and f"No purchase order {po.number} at DC2" in response.content.decode()
    assert _snapshot() == before


@pytest.mark.parametrize("role", ["coordinator", "planner", "auditor"])
def test_roles_without_receiving_can_view_but_not_receive(client, make_user, site, item, floor, new_po, role):
    po = new_po([("WIDGET", 10)])
    before = _snapshot()
    client.force_login(make_user(role, site))
    assert client.get(reverse("web:po-list")).status_code == 200
    receive(user=None, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 1}], final=False)
    before = _snapshot()
    page = client.get(reverse("web:po-detail", args=[po.number])).content.decode()
    assert po.number in page and reverse("web:po-receive", args=[po.number]) not in page
    receipt = Receipt.objects.get()
    assert receipt.number in page and reverse("web:receipt-detail", args=[receipt.number]) not in page  # 403 there
    assert f'href="{reverse("web:scan-receive")}"' not in page  # no menu entry
    for url in (reverse("web:po-receive", args=[po.number]), reverse("web:scan-receive-po", args=[po.number])):
        response = client.get(url)
        assert response.status_code == 403 and b"does not allow receiving" in response.content
    response = client.post(reverse("web:po-receive", args=[po.number]), _form(po, [{"item": "WIDGET", "quantity": 5}]))
    assert response.status_code == 403
    response = client.post(reverse("web:scan-receive-po", args=[po.number]), {"item": "WIDGET", "quantity": "5"})
    assert response.status_code == 403
    assert client.get(reverse("web:scan-receive")).status_code == 403
    assert _snapshot() == before


def test_receiving_is_checked_at_the_pos_site_not_the_current_one(client, make_user, site, other_site, item, new_po):
    LocationFactory(site=other_site, code="DOCK-2", kind=Location.Kind.RECEIVING)
    user = make_user("operator", site, username="two-sites")
    SiteMembership.objects.create(user=user, site=other_site, role="auditor")
    po = new_po([("WIDGET", 10)], at=other_site)
    before = _snapshot()
    client.force_login(user)  # works at DC1 (operator), only audits DC2
    assert client.get(reverse("web:po-detail", args=[po.number])).status_code == 200
    assert client.get(reverse("web:po-receive", args=[po.number])).status_code == 403
    response = client.post(reverse("web:scan-receive-po", args=[po.number]), {"item": "WIDGET", "quantity": "5"})
    assert response.status_code == 403 and b"Your role at DC2 does not allow receiving" in response.content
    assert _snapshot() == before


def test_operators_have_the_scan_receive_and_po_menu_entries(client, receiver):
    client.force_login(receiver)
    page = client.get(reverse("web:scan-receive")).content.decode()
    assert f'href="{reverse("web:scan-receive")}"' in page and f'href="{reverse("web:po-list")}"' in page


# --- desktop receive -------------------------------------------------------------------------------------------


def test_receiving_a_po_with_a_damaged_line_records_the_discrepancy_and_opens_its_exception(
    client, receiver, item, floor, new_po
):
    other = ItemFactory(sku="GADGET")
    po = new_po([("WIDGET", 10), ("GADGET", 4)])
    client.force_login(receiver)
    page = client.get(reverse("web:po-receive", args=[po.number])).content.decode()
    assert 'name="line-0-quantity" value="10"' in page and 'name="line-1-quantity" value="4"' in page
    assert "not lot tracked" in page
    rows = [
        {"item": "WIDGET", "quantity": 8, "damaged": 2},
        {"item": "GADGET", "quantity": 4, "damaged": 0},
        {"item": "", "quantity": ""},
        {"item": "", "quantity": ""},
    ]
    response = client.post(reverse("web:po-receive", args=[po.number]), _form(po, rows, note="truck 7"))
    receipt = Receipt.objects.get()
    # an operator (no receipt pages) goes back to the PO; a supervisor to the receipt
    assert response.status_code == 302 and response["Location"] == reverse("web:po-detail", args=[po.number])
    assert receipt.received_by == receiver and receipt.note == "truck 7" and receipt.final
    got = {(x.item.sku, x.quantity, x.damaged_quantity) for x in receipt.lines.select_related("item")}
    assert got == {("WIDGET", 8, 2), ("GADGET", 4, 0)}
    damaged = receipt.discrepancies.get(code=Discrepancy.Code.DAMAGED)
    assert damaged.actual == 2 and ExceptionCase.objects.filter(code__code="DAMAGED_RECEIPT").count() == 1
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED
    assert StockQuant.objects.get(item=item, status="DAMAGED").quantity == 2
    follow = client.get(response["Location"]).content.decode()
    assert f"{receipt.number}: 14 units received against {po.number} (now received)." in follow
    assert "1 discrepancy" in follow and "Damaged — 2 WIDGET arrived damaged." in follow
    assert other.sku in follow and "Open → Received" in follow


def test_an_item_not_on_the_order_is_received_as_unexpected_and_held(client, boss, item, floor, new_po):
    ItemFactory(sku="STRAY")
    po = new_po([("WIDGET", 10)])
    client.force_login(boss)
    rows = [{"item": "WIDGET", "quantity": 10}, {"item": "STRAY", "quantity": 3}, {"item": ""}]
    response = client.post(reverse("web:po-receive", args=[po.number]), _form(po, rows))
    receipt = Receipt.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:receipt-detail", args=[receipt.number])
    disc = Discrepancy.objects.get(code=Discrepancy.Code.WRONG_ITEM)
    assert disc.item.sku == "STRAY" and disc.actual == 3
    assert StockQuant.objects.get(item__sku="STRAY").status == "HOLD"


def test_an_over_receipt_the_site_refuses_shows_the_services_words_and_changes_nothing(
    client, receiver, admin_user, site, item, floor, new_po
):
    set_rule_value(user=admin_user, key="receiving.over_receipt_action", value="REFUSE", site=site, reason="strict")
    po = new_po([("WIDGET", 100)])
    before = _snapshot()
    client.force_login(receiver)
    rows = [{"item": "WIDGET", "quantity": 110}, {"item": ""}, {"item": ""}]
    response = client.post(reverse("web:po-receive", args=[po.number]), _form(po, rows))
    assert response.status_code == 422
    page = response.content.decode()
    assert escape("beyond the site's 5% over-receipt tolerance (at most 105); the receipt is refused.") in page
    row = page[page.index('data-testid="receive-row-0"') : page.index('data-testid="receive-row-1"')]
    assert 'value="110"' in row and "field-error" in row  # the error is on the line, what was typed is kept
    assert _snapshot() == before


def test_a_bad_post_is_refused_by_the_form_and_writes_nothing(client, receiver, item, floor, new_po):
    po = new_po([("WIDGET", 10)])
    before = _snapshot()
    client.force_login(receiver)
    url = reverse("web:po-receive", args=[po.number])
    response = client.post(url, _form(po, [{"item": "WIDGET", "quantity": "ten", "damaged": "-1"}, {}, {}]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Check the highlighted fields." in page and "Enter a whole number." in page
    assert "Ensure this value is greater than or equal to 0." in page
    # a POST without the formset's management form, or with rows that are not the page's
    assert client.post(url, {"line-0-item": "WIDGET", "line-0-quantity": "5"}).status_code == 400
    assert client.post(url, _form(po, [{"item": "WIDGET", "quantity": 5}])).status_code == 400
    # nothing to receive: the service's own refusal
    response = client.post(url, _form(po, [{"item": "WIDGET", "quantity": 0}, {}, {}]))
    assert response.status_code == 400 and "A receipt needs lines." in response.content.decode()
    assert _snapshot() == before


def test_a_form_posted_twice_receives_once(client, receiver, item, floor, new_po):
    po = new_po([("WIDGET", 10)])
    client.force_login(receiver)
    url = reverse("web:po-receive", args=[po.number])
    assert 'name="receipt-seen"' in client.get(url).content.decode()
    data = _form(po, [{"item": "WIDGET", "quantity": 4}, {}, {}], final=False)
    assert client.post(url, data).status_code == 302
    before = _snapshot()
    response = client.post(url, data)  # a double click, or a second clerk with the same delivery
    assert response.status_code == 409
    assert "changed since this page was drawn (another receipt?): nothing was received" in response.content.decode()
    assert 'name="line-0-quantity" value="6"' in response.content.decode()  # drawn again from what is open now
    assert _snapshot() == before and Receipt.objects.count() == 1


def test_a_lot_tracked_line_needs_its_lot_and_expiry_and_the_ship_notice_fills_them(
    client, receiver, milk, floor, new_po, boss
):
    po = new_po([("MILK", 12)])
    add_ship_notice(
        user=boss,
        purchase_order=po,
        lines=[{"item": "MILK", "quantity": 12, "lot_number": "L42", "expiry_date": dt.date(2027, 1, 31)}],
    )
    before = _snapshot()
    client.force_login(receiver)
    url = reverse("web:po-receive", args=[po.number])
    response = client.post(url, _form(po, [{"item": "MILK", "quantity": 12}, {}, {}]))
    assert response.status_code == 400
    page = response.content.decode()
    assert "MILK is lot tracked." in page and "MILK has a shelf life; give the expiry date." in page
    assert _snapshot() == before

    page = client.get(url, {"source": "asn"}).content.decode()
    assert 'value="L42"' in page and 'value="2027-01-31"' in page and "ship notice: 12 lot L42" in page
    rows = [{"item": "MILK", "quantity": 12, "lot": "L42", "expiry": "2027-01-31"}, {}, {}]
    response = client.post(url, _form(po, rows, source="asn"))
    assert response.status_code == 302
    line = ReceiptLine.objects.select_related("lot").get()
    assert (line.lot.number, line.lot.expiry_date, line.quantity) == ("L42", dt.date(2027, 1, 31), 12)
    assert not Discrepancy.objects.filter(code=Discrepancy.Code.LOT_MISMATCH).exists()


def test_a_closed_po_has_no_receive_form_and_a_post_is_refused_in_the_services_words(
    client, receiver, item, floor, new_po
):
    po = new_po([("WIDGET", 10)])
    receive(user=receiver, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 10}])
    before = _snapshot()
    client.force_login(receiver)
    url = reverse("web:po-receive", args=[po.number])
    page = client.get(url).content.decode()
    assert 'data-testid="receive-form"' not in page and "it cannot be received against" in page
    response = client.post(url, _form(po, [{}, {}]))
    assert response.status_code == 409 and f"{po.number} is RECEIVED; it cannot be received against." in (
        response.content.decode()
    )
    assert _snapshot() == before


# --- scan-receive ----------------------------------------------------------------------------------------------


def test_scanning_a_po_number_opens_its_receive_screen(client, receiver, item, floor, new_po):
    po = new_po([("WIDGET", 10)])
    client.force_login(receiver)
    page = client.get(reverse("web:scan-receive")).content.decode()
    assert reverse("web:scan-receive-po", args=[po.number]) in page
    response = client.get(reverse("web:scan-receive"), {"po": f" {po.number}\r"})
    assert response.status_code == 302 and response["Location"] == reverse("web:scan-receive-po", args=[po.number])
    response = client.get(reverse("web:scan-receive"), {"po": "PO-NOPE"})
    assert response.status_code == 400 and "No purchase order PO-NOPE at DC1." in response.content.decode()


def test_the_suppliers_reference_on_the_delivery_note_finds_the_po_too(client, receiver, item, floor, supplier, site):
    def po(reference):
        return create_purchase_order(
            user=None,
            supplier=supplier,
            site=site,
            expected_date=timezone.localdate(),
            lines=[{"item": "WIDGET", "quantity": 1, "unit_cost": "1.00"}],
            supplier_reference=reference,
        )

    one, twin_a, twin_b = po("DN-1"), po("DN-2"), po("DN-2")
    client.force_login(receiver)
    url = reverse("web:scan-receive")
    response = client.get(url, {"po": "DN-1"})
    assert response.status_code == 302 and response["Location"] == reverse("web:scan-receive-po", args=[one.number])
    response = client.get(url, {"po": "DN-2"})
    page = response.content.decode()
    assert response.status_code == 400 and "supplier&#x27;s reference of several purchase orders" in page
    assert twin_a.number in page and twin_b.number in page and one.number not in page


def test_the_po_pages_run_a_fixed_number_of_queries(client, boss, item, floor, new_po, django_assert_max_num_queries):
    for _ in range(6):
        po = new_po([("WIDGET", 10)])
        receive(user=boss, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 2}], final=False)
    add_ship_notice(user=boss, purchase_order=po, lines=[{"item": "WIDGET", "quantity": 8, "lot_number": ""}])
    client.force_login(boss)
    client.get(reverse("web:po-list"))  # warm the session and the site
    with django_assert_max_num_queries(10):
        assert client.get(reverse("web:po-list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("web:po-detail", args=[po.number])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("web:po-receive", args=[po.number]), {"source": "asn"}).status_code == 200


def test_scan_checks_read_gs1_labels_and_warn_about_unexpected_items_and_over_receipt(
    client, receiver, milk, item, floor, new_po
):
    ItemFactory(sku="STRAY")
    po = new_po([("MILK", 12)])
    client.force_login(receiver)
    check = reverse("web:scan-receive-check", args=[po.number])
    page = client.get(check, {"field": "item", "item": GS1_MILK}).content.decode()
    assert "Item MILK (6 per unit scanned) ✓ — 12 still open." in page
    assert 'data-fill-lot="L42"' in page and 'data-fill-quantity="12"' in page
    assert 'data-fill-expiry="2027-01-31"' in page
    page = client.get(check, {"field": "item", "item": "MILK"}).content.decode()
    assert "Item MILK ✓ — 12 still open. Lot and expiry needed." in page
    page = client.get(check, {"field": "item", "item": "STRAY"}).content.decode()
    assert "STRAY is not on" in page and "unexpected item" in page and "warn" in page
    page = client.get(check, {"field": "item", "item": "NOTHING"}).content.decode()
    assert 'class="bad' in page and "No item &#x27;NOTHING&#x27;." in page
    page = client.get(check, {"field": "quantity", "quantity": "20", "item": "MILK"}).content.decode()
    assert "more than the 12 still open" in page
    page = client.get(check, {"field": "damaged", "damaged": "2"}).content.decode()
    assert "2 damaged: recorded as a discrepancy." in page
    page = client.get(check, {"field": "expiry", "expiry": "31/01/27"}).content.decode()
    assert "YYYY-MM-DD" in page and 'class="bad' in page
    assert client.get(check, {"field": "nope"}).status_code == 404


def test_scan_receive_with_a_gs1_label_and_damaged_units_posts_through_the_service(
    client, receiver, milk, floor, new_po
):
    po = new_po([("MILK", 18)])
    client.force_login(receiver)
    url = reverse("web:scan-receive-po", args=[po.number])
    response = client.post(url, {"item": GS1_MILK, "damaged": "2"})  # the label fills lot, expiry and 12 units
    assert response.status_code == 302 and response["Location"] == url
    line = ReceiptLine.objects.select_related("lot", "receipt").get()
    assert (line.quantity, line.damaged_quantity, line.lot.number) == (10, 2, "L42")
    assert line.lot.expiry_date == dt.date(2027, 1, 31) and not line.receipt.final
    assert Discrepancy.objects.get().code == Discrepancy.Code.DAMAGED  # partial: the 6 still open are not short
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.PARTIALLY_RECEIVED
    page = client.get(url).content.decode()
    assert "Damaged — 2 MILK arrived damaged." in page and '<span class="big">6</span>' in page

    # the last case, with "delivery complete"
    response = client.post(url, {"item": "MILK", "quantity": "6", "lot": "L43", "expiry": "2027-02-28", "final": "on"})
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED and Receipt.objects.filter(final=True).count() == 1


def test_scan_receive_refusals_are_the_services_and_change_nothing(
    client, receiver, admin_user, site, milk, floor, new_po
):
    set_rule_value(user=admin_user, key="receiving.over_receipt_action", value="REFUSE", site=site, reason="strict")
    po = new_po([("MILK", 6)])
    before = _snapshot()
    client.force_login(receiver)
    url = reverse("web:scan-receive-po", args=[po.number])
    response = client.post(url, {"item": GS1_MILK})  # 12 against 6 ordered
    assert response.status_code == 400
    page = response.content.decode()
    assert escape("MILK: 12 received against 6 ordered is beyond the site's 5% over-receipt tolerance") in page
    response = client.post(url, {"item": "MILK", "quantity": "3"})  # no lot, no expiry
    assert response.status_code == 400 and "MILK is lot tracked." in response.content.decode()
    response = client.post(url, {"item": GS1_MILK, "lot": "L99"})
    assert response.status_code == 400 and "The label is lot L42, not L99." in response.content.decode()
    response = client.post(url, {"item": "MILK", "quantity": "2", "damaged": "3", "lot": "L1", "expiry": "2027-01-01"})
    assert response.status_code == 400 and "at most 2 damaged" in response.content.decode()
    response = client.post(url, {"item": "MILK", "quantity": "3", "lot": "L" * 61, "expiry": "2027-01-01"})
    assert response.status_code == 400 and "A lot number has at most 60 characters." in response.content.decode()
    response = client.post(url, {"item": "MILK", "quantity": "x"})
    assert response.status_code == 400 and "Enter a whole number." in response.content.decode()
    assert _snapshot() == before
