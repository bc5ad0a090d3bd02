"""Handheld and tablet layouts in a real Chromium (issue 15).

On a 600x1024 handheld a scan screen has a one-line header (site, user, sound switch, "Menu") instead of the
big menu, fits the width, and a wrong scan calls the scan feedback (a tone and a vibration; the test counts the
calls and reads whether sound was played or muted, it does not listen). At 768x1024 (a tablet) the dashboard and
the lists never make the page scroll sideways: a wide table scrolls inside its own wrapper. Screenshots in
test-artifacts/<test>/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.services import open_exception
from inventory.models import Location
from tests.factories import CustomerFactory, ItemFactory, LocationFactory
from warehouse.models import PickTask
from warehouse.services import plan_wave, release_wave

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# headless Chromium has no vibration motor: a stand-in for navigator.vibrate records the calls
STUB_VIBRATE = "() => { window.vibrated = []; navigator.vibrate = (ms) => { window.vibrated.push(ms); return true; }; }"
NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def released_pick(site, item, stock, make_user):
    from orders.services import allocate_orders, create_order, release_order

    boss = make_user(["coordinator", "supervisor", "operator"], site, username="floor-boss")
    pick = LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK)
    LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING)
    stock(item, pick, 10)
    customer = CustomerFactory(code="SHOP", home_site=site)
    orders = []
    for n in range(3):
        order = create_order(
            user=boss,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": 2}],
            customer_reference=f"A-rather-long-customer-reference-{n}-that-makes-columns-wide",
        )
        release_order(user=boss, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    return boss, PickTask.objects.order_by("pk").first()


def _feedback(page) -> dict:
    return page.evaluate("({...window.erpScanFeedback.counts, last: window.erpScanFeedback.last})")


def test_a_pick_on_a_handheld_has_a_compact_header_and_a_wrong_scan_beeps_and_vibrates(
    open_page, log_in, released_pick, item
):
    boss, task = released_pick
    page = open_page(width=600, height=1024)
    log_in(page, boss.username)
    page.goto(f"/scan/pick/{task.pk}/")
    page.wait_for_selector("[data-testid=pick-task]")
    assert page.evaluate(NO_OVERFLOW)
    header = page.locator("[data-testid=scan-header]")
    assert header.is_visible()
    assert boss.username in header.inner_text() and "Menu" in header.inner_text()
    assert page.evaluate("document.querySelector('.topbar').getBoundingClientRect().height") < 60  # one line
    assert not page.locator("nav.menu").is_visible()  # the big menu is not on the scan screen
    # the whole task fits on the screen: the confirm button is above the bottom edge without scrolling
    assert page.evaluate("document.querySelector('form button[type=submit]').getBoundingClientRect().bottom") <= 1024
    page.shot("pick-compact-header")

    page.evaluate(STUB_VIBRATE)
    page.fill("#f-location", "B-99")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .bad")
    fb = _feedback(page)
    assert (fb["bad"], fb["good"]) == (1, 0)
    assert fb["last"] == {"good": False, "sound": True, "vibrated": True}
    assert page.evaluate("window.vibrated") == [200]
    assert page.get_attribute("body", "data-scan-feedback") == "bad"
    page.shot("wrong-scan")
    page.fill("#f-location", "P-01")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .good")
    fb = _feedback(page)
    assert (fb["bad"], fb["good"]) == (1, 1)
    assert fb["last"] == {"good": True, "sound": True, "vibrated": False}  # a softer tone, no vibration
    assert page.evaluate("window.vibrated") == [200]

    # the operator mutes the sound: kept in localStorage for the next screens; a wrong scan still vibrates
    page.uncheck("[data-testid=scan-sound]")
    assert page.evaluate("localStorage.getItem('erp.scanSound')") == "off"
    page.reload()
    page.evaluate(STUB_VIBRATE)
    assert not page.is_checked("[data-testid=scan-sound]")
    page.fill("#f-location", "B-98")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .bad")
    assert _feedback(page)["last"] == {"good": False, "sound": False, "vibrated": True}
    assert page.evaluate("window.vibrated") == [200]
    page.shot("muted-wrong-scan")

    # "Menu" opens the full menu on the scan screen
    page.click("[data-testid=scan-header] a:has-text('Menu')")
    assert page.locator("nav.menu").is_visible()
    assert page.evaluate(NO_OVERFLOW)  # the open menu wraps within the screen
    page.shot("menu-open")


def test_dashboard_and_lists_do_not_overflow_a_tablet(open_page, log_in, released_pick, site):
    boss, _task = released_pick
    for n in range(4):
        open_exception(
            site=site,
            code="STOCKOUT",
            subject=ItemFactory(sku=f"A-VERY-LONG-SKU-CODE-{n:03d}-WITHOUT-SPACES"),
            summary="A summary long enough to wrap on a tablet " * 3,
        )
    page = open_page(width=768, height=1024)
    log_in(page, boss.username)
    for path, name in [
        ("/dashboard/", "dashboard"),
        ("/orders/", "orders"),
        ("/exceptions/", "exceptions"),
        ("/waves/", "waves"),
    ]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        page.shot(f"{name}-768")
        assert page.evaluate(NO_OVERFLOW), (path, widths)
        # a wide table scrolls inside its own wrapper, never the page
        for table in page.locator("table.data").all():
            assert table.evaluate("t => !!t.closest('.table-scroll')"), (path, "a table without a scroll wrapper")


def test_counting_keeps_the_location_for_the_next_item_on_a_handheld(
    open_page, log_in, make_user, site, supervisor, item, storage, storage2, stock
):
    from inventory.services.counts import create_cycle_count

    gadget = ItemFactory(sku="GADGET")
    for it, loc in ((item, storage), (gadget, storage), (item, storage2)):
        stock(it, loc, 40)
    count = create_cycle_count(user=supervisor, site=site, locations=[storage, storage2])
    operator = make_user("operator", site, username="counter7")
    page = open_page(width=600, height=1024)
    log_in(page, operator.username)
    page.goto(f"/scan/count/{count.pk}/")
    for field, value in (("location", storage.code), ("item", item.sku)):
        page.fill(f"#f-{field}", value)
        page.press(f"#f-{field}", "Enter")
        page.wait_for_selector(f"#fb-{field} .good")
    page.keyboard.type("40")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=counted.")
    # the next item at the same location: the location is kept and the cursor is in the item field
    assert page.input_value("#f-location") == storage.code
    assert page.evaluate("document.activeElement.id") == "f-item"
    assert storage.code in page.inner_text("[data-testid=kept-location]")
    assert page.evaluate(NO_OVERFLOW)
    page.shot("location-kept")
    page.keyboard.type(gadget.sku)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    page.keyboard.type("40")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=GADGET: 40 counted.")
    assert page.input_value("#f-location") == storage.code
    # "Next location": an empty location field with the cursor in it
    page.click("[data-testid=next-location]")
    page.wait_for_load_state()
    assert page.input_value("#f-location") == "" and page.evaluate("document.activeElement.id") == "f-location"
    page.shot("next-location")
    page.keyboard.type(storage2.code)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-location .good")
    assert page.evaluate("document.activeElement.id") == "f-item"
