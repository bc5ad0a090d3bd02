"""The floor in a real Chromium (issue 15): a bin-to-bin move on the handheld scan screen, a hold and its release on
the desktop page, and a lot recall from search to report. Screenshots in test-artifacts/<test>/."""

from __future__ import annotations

import pytest

from inventory.models import Location
from tests.factories import LocationFactory, UserFactory
from tests.inventory.helpers import quant_of
from tests.warehouse.recall_floor import make_recall_floor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_operator_moves_stock_bin_to_bin_on_a_handheld(open_page, log_in, make_user, site, item, stock):
    a = LocationFactory(site=site, code="A-01", kind=Location.Kind.STORAGE)
    b = LocationFactory(site=site, code="A-02", kind=Location.Kind.STORAGE)
    stock(item, a, 40)
    operator = make_user("operator", site, username="mover1")
    page = open_page(width=600, height=1024)
    log_in(page, operator.username)
    page.goto("/scan/move/")
    page.wait_for_selector("[data-testid=move-scan]")
    assert page.evaluate("document.documentElement.scrollWidth") <= 600
    assert page.evaluate("document.activeElement.id") == "f-from_location"
    page.shot("move-screen")

    page.keyboard.type("A-99")
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-from_location .bad")
    assert "No location A-99" in page.inner_text("#fb-from_location")
    page.fill("#f-from_location", "A-01")
    page.press("#f-from_location", "Enter")
    page.wait_for_selector("#fb-from_location .good")
    assert page.evaluate("document.activeElement.id") == "f-item"
    page.keyboard.type(item.sku)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    assert "40 free at A-01" in page.inner_text("#fb-item")
    page.fill("#f-quantity", "15")
    page.fill("#f-to_location", "A-02")
    page.press("#f-to_location", "Tab")
    page.wait_for_selector("#fb-to_location .good")
    page.shot("scanned")
    page.click("button.primary")
    page.wait_for_selector("text=Moved 15 WIDGET from A-01 to A-02.")
    page.shot("moved")
    assert quant_of(item, a) == (25, 0) and quant_of(item, b) == (15, 0)


def test_supervisor_holds_stock_and_releases_it(open_page, log_in, make_user, site, item, stock):
    a = LocationFactory(site=site, code="A-01", kind=Location.Kind.STORAGE)
    stock(item, a, 40)
    boss = make_user("supervisor", site, username="holder1")
    page = open_page()
    log_in(page, boss.username)
    page.goto("/stock/holds/")
    page.fill("[data-testid=hold-form] input[name=item]", item.sku)
    page.fill("[data-testid=hold-form] input[name=location]", "A-01")
    page.fill("[data-testid=hold-form] input[name=quantity]", "41")
    page.select_option("[data-testid=hold-form] select[name=reason_code]", "QUALITY")
    page.click("[data-testid=hold-form] button.primary")
    page.wait_for_selector("[data-testid=hold-form] .bad")
    assert "can go on hold" in page.inner_text("[data-testid=hold-form]")
    page.shot("refused")
    page.fill("[data-testid=hold-form] input[name=quantity]", "8")
    page.fill("[data-testid=hold-form] input[name=note]", "dented cases")
    page.click("[data-testid=hold-form] button.primary")
    page.wait_for_selector("text=On hold: WIDGET 8 at A-01.")
    row = page.locator("[data-testid=held-row]")
    assert "Hold" in row.inner_text() and "8" in row.inner_text()
    page.shot("held")
    assert quant_of(item, a, "HOLD") == (8, 0)

    row.locator("input[name$=quantity]").fill("8")
    row.locator("select[name$=reason_code]").select_option("QUALITY_OK")
    row.locator("button").click()
    page.wait_for_selector("text=Released 8 WIDGET at A-01 to available.")
    assert "Nothing on hold" in page.inner_text("[data-testid=held-table]")
    page.shot("released")
    assert quant_of(item, a, "HOLD") == (0, 0) and quant_of(item, a) == (40, 0)


def test_supervisor_recalls_a_lot_at_every_site_and_sees_where_it_shipped(open_page, log_in, site, other_site):
    boss = UserFactory(username="recall-lead")
    floor = make_recall_floor(site, other_site, boss)
    page = open_page()
    log_in(page, boss.username)
    page.goto("/stock/recall/")
    page.fill("[data-testid=recall-search] input[name=item]", "JAM")
    page.fill("[data-testid=recall-search] input[name=lot]", "L-RECALL")
    page.click("[data-testid=recall-search] button")
    page.wait_for_selector("[data-testid=recall-form]")
    assert floor["shipment"].number in page.inner_text("[data-testid=recall-shipments]")
    assert "ACME" in page.inner_text("[data-testid=recall-shipments]")
    page.shot("preview")

    page.fill("[data-testid=recall-form] input[name=reason]", "Supplier recall: glass fragments")
    # the confirmation is required: the browser does not send the form without it
    assert page.get_attribute("[data-testid=recall-form] input[name=confirm]", "required") is not None
    assert quant_of(floor["item"], floor["bin1"], "HOLD", floor["lot"]) == (0, 0)
    page.check("[data-testid=recall-form] input[name=confirm]")
    page.click("[data-testid=recall-form] button.primary")
    page.wait_for_selector("[data-testid=recall-report]")
    report = page.inner_text("[data-testid=recall-report]")
    assert "71 units put on hold now" in report and "4 at B-01" in report and "ACME" in report
    page.shot("report")
    assert quant_of(floor["item"], floor["bin1"], "HOLD", floor["lot"]) == (41, 0)
    assert quant_of(floor["item"], floor["bin2"], "HOLD", floor["lot"]) == (30, 0)
