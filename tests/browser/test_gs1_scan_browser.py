"""An operator scans a GS1-128 case label on the pick screen: the label fills the lot and the quantity, and the
pick is confirmed with them (real Chromium; htmx checks each scan, app.js fills the fields)."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Location, Lot
from inventory.services import create_item
from tests.factories import CustomerFactory, LocationFactory
from warehouse.models import PickTask
from warehouse.services import plan_wave, release_wave

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_gs1_case_label_fills_lot_and_quantity_and_confirms_the_pick(open_page, log_in, make_user, site, stock):
    from orders.services import allocate_orders, create_order, release_order

    pick = LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK)
    LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING)
    boss = make_user(["coordinator", "supervisor", "operator", "planner"], site, username="boss")
    milk = create_item(
        user=boss,
        sku="MILK",
        description="Milk 1l",
        lot_tracked=True,
        units=[{"code": "CASE", "factor": 6}],
        barcodes=[{"gtin": "14006381333938", "unit": "CASE"}],
    )
    lot = Lot.objects.create(item=milk, number="L42", expiry_date=dt.date(2027, 1, 31))
    stock(milk, pick, 30, lot=lot)
    order = create_order(
        user=boss,
        customer=CustomerFactory(code="SHOP", home_site=site),
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": "MILK", "quantity": 12}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = PickTask.objects.get()

    page = open_page(width=600, height=1024)
    log_in(page, boss.username)
    page.goto(f"/scan/pick/{task.pk}/")
    page.fill("#f-location", "P-01")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .good")
    assert page.evaluate("document.activeElement.id") == "f-item"
    page.keyboard.type("(01)14006381333938(17)270131(10)L42(37)2")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    assert "GS1 label: lot L42, expiry 2027-01-31, 12 units" in page.inner_text("#fb-item")
    assert page.input_value("#f-lot") == "L42" and page.input_value("#f-quantity") == "12"
    page.shot("label-scanned")
    with page.expect_navigation():
        page.click("button:has-text('Confirm pick')")
    page.shot("after-confirm")
    page.wait_for_selector("text=12 MILK picked")
    page.shot("picked")
    task.refresh_from_db()
    assert (task.status, task.picked_quantity, task.scanned_lot) == (PickTask.Status.PICKED, 12, "L42")
