"""Browser tests: what coordinators, operators and users of another site actually do, in a real Chromium."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import ExceptionCase
from inventory.models import Location
from orders.models import SalesOrder
from tests.factories import CustomerFactory, LocationFactory
from warehouse.models import PickTask
from warehouse.services import plan_wave, release_wave

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def floor(site):
    return {
        "pick": LocationFactory(site=site, code="P-01", kind=Location.Kind.PICK),
        "stage": LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING),
    }


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_coordinator_fixes_a_wrong_line_releases_the_order_and_sees_it_allocated(
    open_page, log_in, make_user, site, item, floor, stock
):
    coordinator = make_user("coordinator", site, username="coord1")
    CustomerFactory(code="ACME", name="Acme Stores", home_site=site, credit_limit=5000)
    stock(item, floor["pick"], 40)
    page = open_page()
    log_in(page, coordinator.username)
    page.click("text=New order")
    page.fill("#customer", "ACME")
    page.wait_for_selector("[data-testid=credit-status]")
    assert "5000.00 available" in page.inner_text("[data-testid=credit-status]")
    page.fill("input[name=promised_date]", (timezone.localdate() + timedelta(days=3)).isoformat())
    page.fill("input[name=item-0]", item.sku)
    page.fill("input[name=quantity-0]", "2")
    page.fill("input[name=unit-0]", "CASE")
    page.wait_for_selector("#atp-0 >> text=24 EA")  # ATP per site, shown as the line is typed
    assert "DC1\tATP 40\tnow" in page.inner_text("#atp-0")
    page.fill("input[name=item-1]", "NO-SUCH-SKU")
    page.fill("input[name=quantity-1]", "1")
    page.wait_for_selector("#atp-1 >> text=No item")
    page.shot("entered-with-a-wrong-line")
    page.click("button:has-text('Enter order')")
    page.wait_for_selector("[data-testid=refused]")
    row_error = page.inner_text("#line-1 .field-error")
    assert row_error == "No item 'NO-SUCH-SKU'."
    assert page.get_attribute("input[name=item-1]", "aria-invalid") == "true"
    assert SalesOrder.objects.count() == 0
    page.shot("refused-inline")
    page.fill("input[name=item-1]", item.sku)
    page.fill("input[name=quantity-1]", "5")
    page.fill("input[name=unit-1]", "EA")
    page.click("button:has-text('Enter order')")
    page.wait_for_selector("[data-testid=order-status]")
    order = SalesOrder.objects.get()
    assert page.inner_text("[data-testid=order-status]") == "Draft"
    assert order.lines.count() == 2
    page.shot("draft")
    page.click("button:has-text('Release')")
    page.wait_for_selector("text=released.")
    assert page.inner_text("[data-testid=order-status]") == "Allocated"
    lines = page.inner_text("[data-testid=order-lines]")
    assert "DC1 24" in lines and "DC1 5" in lines
    assert "DC1" in page.inner_text("[data-testid=decisions]")
    page.shot("allocated")
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.ALLOCATED


def test_operator_scans_a_wrong_location_then_confirms_a_short_pick_seen_on_the_dashboard(
    open_page, log_in, make_user, site, item, floor, stock
):
    from orders.services import allocate_orders, create_order, release_order

    boss = make_user(["coordinator", "supervisor", "operator"], site, username="boss")
    customer = CustomerFactory(code="SHOP", home_site=site)
    stock(item, floor["pick"], 10)
    order = create_order(
        user=boss,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 4}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    task = PickTask.objects.get()
    page = open_page(width=600, height=1024)  # a 7-inch handheld
    log_in(page, boss.username)
    page.goto(f"/scan/pick/{task.pk}/")
    page.fill("#f-location", "B-99")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .bad")
    assert "Wrong location: scanned B-99, go to P-01." in page.inner_text("#fb-location")
    page.shot("wrong-location")
    page.fill("#f-location", "P-01")
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .good")
    assert page.evaluate("document.activeElement.id") == "f-item"  # Enter moved on to the next scan
    page.keyboard.type(item.sku)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    page.keyboard.type("3")
    page.shot("scanned")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=short-pick-confirm]")  # a short pick asks why, and to confirm
    page.shot("short-pick-asks-why")
    page.check("input[name=short_reason][value=NOT_FOUND]")
    page.click("text=Confirm short pick")
    page.wait_for_selector("text=short pick reported")
    page.shot("short-pick-confirmed")
    task.refresh_from_db()
    assert (task.status, task.picked_quantity) == (PickTask.Status.SHORT, 3)
    assert ExceptionCase.objects.filter(code__code="SHORT_PICK").exists()
    desk = open_page()
    log_in(desk, boss.username)
    desk.goto("/dashboard/")
    assert desk.inner_text("[data-testid=tile-short]") == "1"
    assert "Short pick" in desk.inner_text("[data-testid=exception-queue]")
    desk.shot("dashboard")


def test_a_user_of_one_site_cannot_reach_another_sites_pages(
    open_page, log_in, make_user, site, other_site, item, floor, stock
):
    from orders.services import create_order

    coordinator = make_user("coordinator", site, username="coord1")
    stranger = make_user(["coordinator", "supervisor"], other_site, username="stranger")
    customer = CustomerFactory(code="ACME", home_site=site)
    order = create_order(
        user=coordinator,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 1}],
    )
    page = open_page()
    log_in(page, stranger.username)
    options = page.eval_on_selector_all("[data-testid=site-switcher] option", "els => els.map(e => e.textContent)")
    assert options == ["DC2 · West DC"]
    response = page.goto(f"/orders/{order.number}/")
    assert response.status == 404
    page.shot("other-sites-order-404")
    page.goto("/orders/")
    assert order.number not in page.content()
    page.goto(f"/search/?q={order.number}")
    assert "Nothing matches" in page.content()
    status = page.evaluate(
        """async (siteId) => {
            const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
            const body = new URLSearchParams({site: siteId, csrfmiddlewaretoken: token});
            const r = await fetch('/site/', {method: 'POST', body});
            return r.status;
        }""",
        str(site.pk),
    )
    assert status == 404
    page.goto("/orders/")
    assert "Orders at DC2" in page.content()
    page.shot("still-at-own-site")


def _tiles(page) -> dict[str, str]:
    """The dashboard's tiles: {testid or label: value}; KPI tiles as {"kpi-<key>": "<value> <num> / <den>"}."""
    return page.evaluate(
        """() => {
            const out = {};
            for (const el of document.querySelectorAll('.kpi-tile [data-testid^="kpi-"]')) {
                out[el.dataset.testid] = el.innerText.trim();
            }
            for (const tile of document.querySelectorAll('.tile')) {
                const n = tile.querySelector('.n'), l = tile.querySelector('.l');
                if (n && l) out[(n.dataset.testid || l.innerText).trim()] = n.innerText.trim();
            }
            return out;
        }"""
    )


def _scan_pick(page, task, quantity):
    """On the pick scan screen of ``task``: scan location and item like a keyboard-wedge scanner, key the quantity."""
    page.fill("#f-location", task.location.code)
    page.press("#f-location", "Enter")
    page.wait_for_selector("#fb-location .good")
    page.keyboard.type(task.item.sku)
    page.keyboard.press("Enter")
    page.wait_for_selector("#fb-item .good")
    page.keyboard.type(str(quantity))
    page.keyboard.press("Enter")
    if quantity < task.quantity:  # a short pick asks why, and to confirm
        page.wait_for_selector("[data-testid=short-pick-confirm]")
        page.check("input[name=short_reason][value=NOT_FOUND]")
        page.click("text=Confirm short pick")


def test_supervisor_plans_a_wave_picks_one_short_sees_the_exception_ships_and_the_tiles_change(
    open_page, log_in, make_user, site, item, floor, stock
):
    from orders.services import allocate_orders, create_order, release_order
    from warehouse.models import Shipment, Wave

    boss = make_user(["coordinator", "supervisor", "operator"], site, username="boss")
    customer = CustomerFactory(code="SHOP", home_site=site)
    stock(item, floor["pick"], 10)
    orders = []
    for quantity in (4, 2):
        order = create_order(
            user=boss,
            customer=customer,
            promised_date=timezone.localdate() + timedelta(days=2),
            lines=[{"item": item.sku, "quantity": quantity}],
        )
        release_order(user=boss, order=order)
        orders.append(order)
    allocate_orders([o.pk for o in orders])

    from reporting.services import store_snapshots

    for days in (3, 2, 1):  # daily KPI snapshots: the tiles draw their trend lines from them
        store_snapshots(site, timezone.localdate() - timedelta(days=days))
    desk = open_page()
    log_in(desk, boss.username)
    desk.goto("/dashboard/")
    desk.wait_for_selector("[data-kpi-trend='trend-backorders'] canvas")  # uPlot drew the trend line (0 units)
    assert desk.locator("[data-kpi-trend][data-drawn]").count() == 8  # nothing measured yet: said in words
    # the dashboard refreshes its panels through htmx: the trend lines are drawn again in the new content
    desk.evaluate("document.querySelector('[data-testid=kpi-tiles]').dataset.stale = '1'")
    desk.evaluate("htmx.ajax('GET', '/dashboard/', {target: '#dashboard', swap: 'innerHTML'})")
    desk.wait_for_function(
        "document.querySelector('[data-testid=kpi-tiles]') && "
        "!document.querySelector('[data-testid=kpi-tiles]').dataset.stale"
    )  # swapped in
    desk.wait_for_selector("[data-kpi-trend='trend-backorders'] canvas")
    assert desk.locator("[data-kpi-trend][data-drawn]").count() == 8
    tiles_before = _tiles(desk)
    assert tiles_before["tile-short"] == "0"
    desk.shot("dashboard-before")

    # plan and release the wave from the waves page
    desk.goto("/waves/")
    desk.click("button:has-text('Plan wave')")
    desk.wait_for_selector("[data-testid=wave-status]")
    assert desk.inner_text("[data-testid=wave-status]") == "Planned"
    assert "planned with 2 line(s)" in desk.inner_text(".messages")
    desk.shot("wave-planned")
    desk.click("button:has-text('Release wave')")
    desk.wait_for_selector("text=pick task(s)")
    assert desk.inner_text("[data-testid=wave-status]").startswith("Released")
    wave = Wave.objects.get()
    desk.shot("wave-released")

    # confirm the picks on the handheld scan screen: the 4-unit pick comes up 1 short
    hand = open_page(width=600, height=1024)
    log_in(hand, boss.username)
    hand.goto("/scan/pick/")
    hand.click(f"text={wave.number}")
    for n in range(2):
        hand.wait_for_selector("[data-testid=pick-task]")
        task = PickTask.objects.select_related("item", "location").get(pk=int(hand.url.rstrip("/").split("/")[-1]))
        short = task.quantity == 4
        _scan_pick(hand, task, task.quantity - 1 if short else task.quantity)
        hand.wait_for_selector("text=short pick reported" if short else "text=picked.")
        hand.shot(f"pick-{n + 1}-{'short' if short else 'full'}")
    assert sorted(PickTask.objects.values_list("status", flat=True)) == ["PICKED", "SHORT"]

    # the exception appears on the dashboard and in the exception queue
    desk.goto("/dashboard/")
    assert desk.inner_text("[data-testid=tile-short]") == "1"
    assert "Short pick" in desk.inner_text("[data-testid=exception-queue]")
    tiles_picked = _tiles(desk)
    assert tiles_picked["kpi-short_pick_rate"] != tiles_before["kpi-short_pick_rate"]
    assert "1 / 2" in tiles_picked["kpi-short_pick_rate"]  # one of the two picks came up short
    desk.shot("dashboard-short-pick")
    desk.goto("/exceptions/")
    assert "Short pick" in desk.inner_text("[data-testid=exception-list]")
    desk.click("[data-testid=exception-list] a:has-text('Short pick')")
    desk.wait_for_selector("[data-testid=exception-status]")
    assert desk.inner_text("[data-testid=exception-status]") == "Open"
    desk.shot("exception-page")

    # pack what was picked and ship it
    desk.goto(f"/waves/{wave.pk}/")
    desk.click("button:has-text('Pack picked lines')")
    desk.wait_for_selector("[data-testid=shipment-status]")
    shipment = Shipment.objects.get()
    assert desk.inner_text("[data-testid=shipment-status]") == "Packed"
    contents = desk.inner_text("[data-testid=shipment-lines]")
    assert "3 EA" in contents and "2 EA" in contents  # the short line ships what was picked, consolidated
    desk.shot("packed")
    desk.fill("input[name=tracking_number]", "")
    desk.click("button:has-text('Confirm shipment')")
    desk.wait_for_selector("[data-testid=refused]")
    assert desk.inner_text("[data-testid=refused]") == "Give the carrier and the tracking number."
    desk.fill("input[name=carrier]", "UPS")
    desk.fill("input[name=tracking_number]", "1Z-TEST-1")
    desk.click("button:has-text('Confirm shipment')")
    desk.wait_for_selector("text=shipped with UPS, tracking 1Z-TEST-1")
    assert desk.inner_text("[data-testid=shipment-status]") == "Shipped"
    desk.shot("shipped")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED
    statuses = {o.number: SalesOrder.objects.get(pk=o.pk).status for o in orders}
    assert sorted(statuses.values()) == [SalesOrder.Status.PARTIALLY_SHIPPED, SalesOrder.Status.SHIPPED]

    # the KPI tiles after shipping: the fill rate now counts the two shipped orders, one of them filled complete
    desk.goto("/dashboard/")
    tiles_shipped = _tiles(desk)
    desk.shot("dashboard-after-shipping")
    assert tiles_picked["kpi-order_fill_rate"].startswith("—")
    assert tiles_shipped["kpi-order_fill_rate"] != tiles_picked["kpi-order_fill_rate"]
    assert "1 / 2" in tiles_shipped["kpi-order_fill_rate"]


def test_supervisor_makes_a_transfer_it_is_picked_on_the_scan_screen_shipped_and_received(
    open_page, log_in, make_user, site, other_site, item, stock
):
    from orders.models import TransferOrder

    planner = make_user(["planner", "operator", "supervisor"], site, other_site, username="netboss")
    for s in (site, other_site):
        LocationFactory(site=s, code="DOCK", kind=Location.Kind.RECEIVING)
        LocationFactory(site=s, code="STAGE", kind=Location.Kind.STAGING)
    bin_ = LocationFactory(site=site, code="BIN-1", kind=Location.Kind.STORAGE)
    stock(item, bin_, 30)

    desk = open_page()
    log_in(desk, planner.username)
    desk.goto("/transfers/")
    desk.click("text=New transfer")
    desk.select_option("select[name=to_site]", "DC2")
    desk.fill("input[name=item-0]", item.sku)
    desk.fill("input[name=quantity-0]", "7")
    desk.click("button:has-text('Create transfer')")
    desk.wait_for_selector("[data-testid=transfer-status]")
    transfer = TransferOrder.objects.get()
    assert desk.inner_text("[data-testid=transfer-status]") == "Approved"
    desk.shot("transfer-created")
    desk.click("button:has-text('Release for picking at DC1')")
    desk.wait_for_selector("[data-testid=transfer-picks]")
    assert "released for picking at DC1: 1 pick task(s)" in desk.inner_text(".messages")
    desk.shot("released-for-picking")

    hand = open_page(width=600, height=1024)
    log_in(hand, planner.username)
    hand.goto("/scan/pick/")
    hand.click(f"text={transfer.number}")
    hand.wait_for_selector("[data-testid=pick-task]")
    assert f"transfer to {other_site.code}" in hand.inner_text("[data-testid=pick-task]")
    task = PickTask.objects.select_related("item", "location").get(transfer_line__transfer=transfer)
    _scan_pick(hand, task, 7)
    hand.wait_for_selector("text=7 WIDGET picked.")
    hand.shot("transfer-picked")

    desk.reload()
    desk.click("button:has-text('Ship from DC1')")
    desk.wait_for_selector("text=shipped. Now shipped (in transit).")
    desk.shot("transfer-shipped")
    desk.fill("input[name=quantity-1]", "6")
    desk.fill("input[name=damaged-1]", "1")
    desk.click("button:has-text('Receive at DC2')")
    desk.wait_for_selector("text=received as RCV-")
    assert desk.inner_text("[data-testid=transfer-status]") == "Received"
    desk.shot("transfer-received")
    transfer.refresh_from_db()
    assert transfer.status == TransferOrder.Status.RECEIVED
    assert list(transfer.lines.values_list("shipped_quantity", "received_quantity")) == [(7, 6)]
