"""Issue 15 in a real Chromium: a coordinator enters an order with the SKU search (no ship-from preselected, the
promised date proposed), releases it, and watches the order page update by itself when the allocation runs; then
the page stops asking."""

from __future__ import annotations

import time

import pytest

from governance.services import outbox
from inventory.models import Location
from orders.models import SalesOrder
from orders.selectors import default_promised_date
from tests.factories import CustomerFactory, ItemFactory, LocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_coordinator_finds_the_sku_releases_and_the_page_follows_the_allocation(
    open_page, log_in, make_user, site, stock, monkeypatch
):
    coordinator = make_user("coordinator", site, username="coord1")
    CustomerFactory(code="ACME", name="Acme Stores", home_site=site, credit_limit=5000)
    widget = ItemFactory(sku="WIDGET-BLUE", description="Blue widget, boxed")
    ItemFactory(sku="WIDGET-RED", description="Red widget, boxed")
    ItemFactory(sku="GADGET-1", description="Gadget")
    stock(widget, LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK), 40)
    # the allocation worker is slow today: the release's outbox row waits for the relay (no fast path), as it does
    # while the broker is busy or down; the test runs the relay itself below, as the relay process would
    monkeypatch.setattr(outbox, "publish_now", lambda ids: None)

    page = open_page()
    log_in(page, coordinator.username)
    page.click("text=New order")
    assert page.input_value("select[name=ship_from]") == ""  # any site: the allocation rules decide
    assert page.input_value("input[name=promised_date]") == default_promised_date(site).isoformat()
    page.fill("#customer", "ACME")
    page.wait_for_selector("[data-testid=credit-status]")

    page.click("input[name=item-0]")
    page.keyboard.type("widg")
    page.wait_for_selector("#skus-0 option[value=WIDGET-RED]", state="attached")
    options = page.eval_on_selector_all("#skus-0 option", "els => els.map(e => e.value)")
    assert options == ["WIDGET-BLUE", "WIDGET-RED"]
    page.shot("sku-search")
    page.fill("input[name=item-0]", options[0])  # what choosing the suggestion does
    page.fill("input[name=quantity-0]", "3")
    page.wait_for_selector("#atp-0 >> text=Blue widget")
    page.shot("line-entered")
    page.click("button:has-text('Enter order')")
    page.wait_for_selector("[data-testid=order-status]")
    order = SalesOrder.objects.get()
    assert order.ship_from is None and order.promised_date == default_promised_date(site)

    live_requests = []
    page.on("request", lambda r: live_requests.append(time.monotonic()) if "/live/" in r.url else None)
    page.click("button:has-text('Release')")
    page.wait_for_selector("[data-testid=allocating]")
    assert page.inner_text("[data-testid=order-status]") == "Released"
    assert "No allocation yet." in page.inner_text("[data-testid=order-live]")
    deadline = time.monotonic() + 10
    while not live_requests and time.monotonic() < deadline:  # the page asks while it waits
        page.wait_for_timeout(200)
    assert live_requests, "the released order's page did not poll"
    page.shot("released-waiting")

    assert outbox.relay_outbox()["sent"] >= 1  # the relay hands the allocation to the (eager) worker
    page.wait_for_selector("[data-testid=order-status]:has-text('Allocated')", timeout=10_000)
    assert page.query_selector("[data-testid=allocating]") is None
    assert "DC1 3" in page.inner_text("[data-testid=order-lines]")
    assert "Home site fills it" in page.inner_text("[data-testid=decisions]")
    page.shot("allocated-by-itself")

    asked = len(live_requests)
    page.wait_for_timeout(4500)  # two more polling periods: the allocated answer had no trigger
    assert len(live_requests) == asked, "the page kept polling after the allocation"
