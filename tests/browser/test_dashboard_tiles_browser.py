"""A dashboard tile opens its queue, in a real Chromium (issue 15): the supervisor clicks the "High exceptions" tile
and lands on the exception list filtered to high-severity cases, as many as the tile said; the "Putaway tasks open"
tile opens the open putaway tasks. Screenshots in test-artifacts/<test>/."""

from __future__ import annotations

import pytest

from governance.services import open_exception
from tests.factories import ItemFactory, LocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_clicking_a_tile_opens_the_filtered_queue(open_page, log_in, make_user, site):
    boss = make_user("supervisor", site, username="tile-boss")
    for sku in ("GONE-1", "GONE-2", "GONE-3"):
        open_exception(site=site, code="STOCKOUT", subject=ItemFactory(sku=sku), summary=f"{sku} has none left")
    open_exception(site=site, code="LATE_RECEIPT", subject=LocationFactory(site=site, code="D-1"), summary="PO late")
    page = open_page()
    log_in(page, boss.username)
    page.goto("/dashboard/")
    high = page.locator("[data-testid=queue-tiles] a.tile-link", has=page.locator("[data-testid=tile-sev-HIGH]"))
    assert high.inner_text().split("\n")[0].strip() == "3"
    page.shot("dashboard")
    high.click()
    page.wait_for_url("**/exceptions/?severity=HIGH")
    table = page.locator("[data-testid=exception-list] tbody tr")
    assert table.count() == 3
    assert all("Stockout" in table.nth(i).inner_text() for i in range(3))
    assert "PO late" not in page.inner_text("[data-testid=exception-list]")
    assert page.locator("[data-testid=list-filters] select[name=severity]").input_value() == "HIGH"
    page.shot("high-exceptions-queue")

    page.go_back()
    page.click("[data-testid=queue-tiles] a.tile-link:has([data-testid=tile-putaway])")
    page.wait_for_url("**/putaway/?status=OPEN")
    assert page.locator("[data-testid=list-filters] select[name=status]").input_value() == "OPEN"
    page.shot("putaway-queue")
