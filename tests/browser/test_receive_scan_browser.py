"""An operator receives a purchase order at the dock by scanning (real Chromium; htmx checks each scan, app.js
fills lot, expiry and quantity from a GS1-128 label): the PO number, a case label of lot-tracked milk with two
units damaged, then the last item with "delivery complete". Each confirm posts through
``warehouse.services.receive``: the damaged units become a discrepancy with its exception, and the PO ends
received."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import ExceptionCase
from inventory.models import Location, StockQuant
from inventory.services import create_item
from orders.models import PurchaseOrder
from orders.services import create_purchase_order, create_supplier
from tests.factories import ItemFactory, LocationFactory
from warehouse.models import Discrepancy, Receipt, ReceiptLine

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LABEL = "(01)14006381333938(17)270131(10)L42(37)2"  # 2 cases of 6, lot L42, expiry 2027-01-31


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_receiving_a_po_by_scan_with_a_damaged_line(open_page, log_in, make_user, site):
    LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING)
    LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    operator = make_user("operator", site, username="dock1")
    create_item(
        user=None,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        shelf_life_days=30,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "14006381333938", "unit": "CASE"}],
    )
    ItemFactory(sku="WIDGET")
    po = create_purchase_order(
        user=None,
        supplier=create_supplier(user=None, code="DAIRY", name="Dairy Co"),
        site=site,
        expected_date=timezone.localdate() + timedelta(days=1),
        lines=[
            {"item": "MILK", "quantity": 12, "unit_cost": "0.80"},
            {"item": "WIDGET", "quantity": 5, "unit_cost": "2.00"},
        ],
    )

    page = open_page(width=600, height=1024)
    log_in(page, operator.username)
    page.goto("/scan/receive/")
    page.shot("po-list")
    page.fill("#f-po", po.number)
    with page.expect_navigation():
        page.press("#f-po", "Enter")
    assert page.url.endswith(f"/scan/receive/{po.number}/")
    assert page.evaluate("document.activeElement.id") == "f-item"

    # the case label: htmx checks it, app.js fills lot, expiry and quantity; 2 of the 12 arrived damaged
    page.keyboard.type(LABEL)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    assert "Item MILK (6 per unit scanned) ✓ — 12 still open." in page.inner_text("#fb-item")
    assert "GS1 label: lot L42, expiry 2027-01-31, 12 units" in page.inner_text("#fb-item")
    assert page.input_value("#f-quantity") == "12"
    assert (page.input_value("#f-lot"), page.input_value("#f-expiry")) == ("L42", "2027-01-31")
    assert page.evaluate("document.activeElement.id") == "f-quantity"
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-quantity .good")
    assert page.evaluate("document.activeElement.id") == "f-damaged"
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-damaged .good")
    assert "2 damaged: recorded as a discrepancy." in page.inner_text("#fb-damaged")
    page.shot("case-label-scanned")
    with page.expect_navigation():
        page.click("button:has-text('Confirm receipt')")
    page.wait_for_selector("text=Damaged — 2 MILK arrived damaged.")
    assert "Partially received" in page.inner_text("[data-testid=po-status]")
    page.shot("damaged-line-received")

    # the widgets, typed by SKU, and the delivery is complete
    page.fill("#f-item", "WIDGET")
    page.press("#f-item", "Enter")
    page.wait_for_selector("#fb-item .good")
    assert "Item WIDGET ✓ — 5 still open." in page.inner_text("#fb-item")
    page.keyboard.type("5")
    page.check("#f-final")
    page.shot("last-item")
    with page.expect_navigation():
        page.click("button:has-text('Confirm receipt')")
    page.wait_for_selector("text=5 units received against")
    assert "nothing more to receive" in page.inner_text("main")
    page.shot("po-received")

    po.refresh_from_db()
    assert po.status == PurchaseOrder.Status.RECEIVED
    milk = ReceiptLine.objects.select_related("lot").get(item__sku="MILK")
    assert (milk.quantity, milk.damaged_quantity, milk.lot.number) == (10, 2, "L42")
    assert milk.lot.expiry_date == dt.date(2027, 1, 31)
    assert Receipt.objects.count() == 2 and Receipt.objects.filter(final=True).count() == 1
    assert list(Discrepancy.objects.values_list("code", flat=True)) == [Discrepancy.Code.DAMAGED]
    assert ExceptionCase.objects.filter(code__code="DAMAGED_RECEIPT").count() == 1
    assert StockQuant.objects.get(item__sku="MILK", status="DAMAGED").quantity == 2

    page.goto(f"/purchase-orders/{po.number}/")
    assert "Open → Partially received" in page.inner_text("[data-testid=po-history]")
    assert "Partially received → Received" in page.inner_text("[data-testid=po-history]")
    page.shot("po-page")
