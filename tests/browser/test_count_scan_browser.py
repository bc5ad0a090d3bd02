"""The count entry scan screen in a real Chromium at a 7-inch handheld's width: a wrong scan is refused at once,
Enter moves from scan to scan, the count is entered, and the expected quantity is never on the screen."""

from __future__ import annotations

import pytest

from inventory.models import CycleCountLine
from inventory.services.counts import create_cycle_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXPECTED = 7919


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_operator_counts_blind_on_a_handheld(open_page, log_in, make_user, site, supervisor, item, storage, stock):
    stock(item, storage, EXPECTED)
    count = create_cycle_count(user=supervisor, site=site, locations=[storage])
    operator = make_user("operator", site, username="counter1")
    page = open_page(width=600, height=1024)  # a 7-inch handheld
    log_in(page, operator.username)
    page.goto("/scan/count/")
    page.click(f"text={count.number}")
    page.wait_for_selector("[data-testid=count-task]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 600  # nothing wider than the screen
    assert page.evaluate("document.querySelector('button.primary').getBoundingClientRect().height") >= 44
    assert page.evaluate("document.activeElement.id") == "f-location"
    page.shot("count-screen")

    page.keyboard.type("B-77")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-location .bad")
    assert f"B-77 is not on {count.number}" in page.inner_text("#fb-location")
    page.shot("wrong-location")
    page.fill("#f-location", storage.code)
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .good")
    assert page.evaluate("document.activeElement.id") == "f-item"
    page.keyboard.type("NOPE")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .bad")
    assert "No item NOPE." in page.inner_text("#fb-item")
    page.fill("#f-item", item.sku)
    page.press("#f-item", "Enter")
    page.wait_for_selector("#fb-item .good")
    assert page.evaluate("document.activeElement.id") == "f-quantity"
    assert str(EXPECTED) not in page.content()
    page.keyboard.type(str(EXPECTED))
    page.shot("scanned")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=counted.")
    page.shot("counted")
    line = count.lines.get()
    assert (line.status, line.counted_quantity, line.first_counted_by) == (
        CycleCountLine.Status.POSTED,
        EXPECTED,
        operator,
    )


def test_supervisor_inspects_a_held_receipt_and_sees_its_putaway_task(open_page, log_in, make_user, site, item):
    from datetime import timedelta

    from django.utils import timezone

    from inventory.models import Location
    from orders.services import create_purchase_order, create_supplier
    from tests.factories import LocationFactory
    from warehouse.models import PutawayTask
    from warehouse.services import receive

    LocationFactory(site=site, code="DOCK-1", kind=Location.Kind.RECEIVING)
    LocationFactory(site=site, code="B-01", kind=Location.Kind.STORAGE)
    boss = make_user(["supervisor", "operator"], site, username="boss")
    supplier = create_supplier(user=None, code="SUP1", name="Supplier One", lead_time_days=5)
    supplier.requires_inspection = True
    supplier.save()
    po = create_purchase_order(
        user=None,
        supplier=supplier,
        site=site,
        expected_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 10, "unit_cost": "5.00"}],
    )
    receipt = receive(user=boss, purchase_order=po, lines=[{"item": item.sku, "quantity": 8, "damaged_quantity": 1}])
    page = open_page()
    log_in(page, boss.username)
    page.goto("/receipts/?state=PENDING_INSPECTION")
    page.click(f"text={receipt.number}")
    page.wait_for_selector("[data-testid=receipt-discrepancies]")
    assert "Damaged receipt" in page.inner_text("[data-testid=receipt-discrepancies]")
    page.shot("receipt-on-hold")
    form = page.locator("form[data-testid^=inspect-]")
    form.locator("input[name=release_quantity]").fill("20")
    form.locator("button").click()
    page.wait_for_selector(".msg-error")
    assert "Only 8 units of this line are on hold; cannot inspect 20." in page.inner_text(".messages")
    page.shot("inspection-refused")
    form = page.locator("form[data-testid^=inspect-]")
    form.locator("input[name=release_quantity]").fill("8")
    form.locator("button").click()
    page.wait_for_selector(".msg-success")
    task = PutawayTask.objects.get()
    assert f"PUT-{task.pk}" in page.inner_text("[data-testid=receipt-putaway]")
    page.shot("released-to-putaway")
    page.goto("/putaway/")
    assert f"PUT-{task.pk}" in page.inner_text("[data-testid=putaway-table]")
    page.shot("putaway-tasks")
