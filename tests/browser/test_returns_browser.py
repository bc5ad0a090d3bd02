"""Returns in a real Chromium (issue 15): a coordinator authorizes a return of 4 units against a shipped order
(customer, order, line, quantity, reason), then a dock operator receives it and splits the line: 3 good units
restocked, 1 damaged unit scrapped. Screenshots in test-artifacts/<test>/."""

from __future__ import annotations

import pytest

from inventory.models import StockMove
from inventory.selectors import find_inventory_drift
from orders.models import ReturnAuthorization, ReturnDisposition
from tests.orders.test_returns import boss, floor, shipped  # noqa: F401  (fixtures)
from warehouse.models import PutawayTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_return_is_authorized_then_received_split_between_restock_and_scrap(
    open_page,
    log_in,
    make_user,
    site,
    item,
    shipped,  # noqa: F811
):
    order = shipped([("WIDGET", 10, "12.50")])
    coordinator = make_user("coordinator", site, username="returns-desk")
    operator = make_user("operator", site, username="returns-dock")

    page = open_page()
    log_in(page, coordinator.username)
    page.goto("/returns/")
    page.click("[data-testid=authorize-return]")
    page.select_option("[data-testid=list-filters] select[name=customer]", "SHOP")
    page.click("[data-testid=list-filters] button[type=submit]")
    page.shot("shipped-orders-of-the-customer")
    page.click(f"[data-testid=returnable-orders] a:text('{order.number}')")
    page.wait_for_selector("[data-testid=authorize-form]")
    row = "[data-testid=authorize-row-1]"
    page.fill(f"{row} input[aria-label^='Units of']", "11")
    page.select_option(f"{row} select", "DAMAGED")
    page.click("[data-testid=authorize-form] button.primary")
    page.wait_for_selector("[data-testid=refused]")
    assert "at most 10 may be returned" in page.inner_text("[data-testid=authorize-lines]")
    page.shot("more-than-shipped-refused")
    page.fill(f"{row} input[aria-label^='Units of']", "4")
    page.fill("input[aria-label='Return note']", "two cases crushed in transit")
    page.click("[data-testid=authorize-form] button.primary")
    page.wait_for_selector("[data-testid=rma-status]")
    rma = ReturnAuthorization.objects.get()
    assert page.inner_text("[data-testid=rma-status]") == "Authorized"
    assert "Arrived damaged" in page.inner_text("[data-testid=rma-lines]")
    assert page.locator("[data-testid=receive-return]").count() == 0  # coordinators do not receive
    page.shot("authorized")

    dock = open_page()
    log_in(dock, operator.username)
    dock.goto(f"/returns/{rma.number}/")
    dock.click("[data-testid=receive-return]")
    dock.wait_for_selector("[data-testid=receive-return-form]")
    dock.fill("[data-testid=part-1-1] input[aria-label^='Units']", "3")
    dock.select_option("[data-testid=part-1-1] select[aria-label^='Inspection']", "GOOD")
    dock.select_option("[data-testid=part-1-1] select[aria-label^='Disposition']", "RESTOCK")
    dock.fill("[data-testid=part-1-2] input[aria-label^='Units']", "1")
    dock.select_option("[data-testid=part-1-2] select[aria-label^='Inspection']", "DAMAGED")
    dock.select_option("[data-testid=part-1-2] select[aria-label^='Disposition']", "RESTOCK")
    dock.shot("split-entered")
    dock.click("[data-testid=receive-return-form] button.primary")
    dock.wait_for_selector("[data-testid=refused]")
    assert "only units inspected good (resaleable) go back to stock" in dock.inner_text(
        "[data-testid=receive-return-lines]"
    )
    dock.shot("damaged-to-stock-refused")
    assert not ReturnDisposition.objects.exists()
    dock.select_option("[data-testid=part-1-2] select[aria-label^='Disposition']", "SCRAP")
    dock.fill("[data-testid=part-1-2] input[aria-label^='Note']", "crushed")
    dock.click("[data-testid=receive-return-form] button.primary")
    dock.wait_for_selector("text=4 units received")
    assert dock.inner_text("[data-testid=rma-status]") == "Received and disposed"
    disposition = dock.inner_text("[data-testid=rma-line-1-disposition]")
    assert "3 × Restock (putaway to available)" in disposition and "1 × Scrap" in disposition
    dock.shot("received-split")

    assert sorted(ReturnDisposition.objects.values_list("disposition", "quantity")) == [("RESTOCK", 3), ("SCRAP", 1)]
    assert PutawayTask.objects.get(status="OPEN").quantity == 3
    assert StockMove.objects.get(kind="SCRAP").quantity == 1
    assert find_inventory_drift() == []
