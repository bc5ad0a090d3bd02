"""The supervisor's workspace in a real Chromium (issue 15): the network KPI view draws each KPI's trend across the
network (uPlot, served locally) from the network's snapshots; the scan screens' "Menu" opens and closes again (a
second click, a click outside, Escape, and also when the page was opened on its #main-menu address); Enter in the
exception list's bulk note field submits nothing; on a tablet a wide list scrolls inside its panel instead of
squeezing its columns, and the wave page's tables scroll inside theirs on a handheld. Screenshots in
test-artifacts/<test>/."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from governance.models import ExceptionCase
from governance.services import open_exception
from reporting.kpis import KPIS
from reporting.models import KpiSnapshot
from reporting.services import local_yesterday, store_snapshots
from tests.factories import ItemFactory, LocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
MENU_SHOWN = "getComputedStyle(document.getElementById('main-menu')).display !== 'none'"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_network_kpi_view_draws_a_trend_per_kpi_from_the_network_snapshots(
    open_page, log_in, make_user, site, other_site
):
    admin = make_user("admin", site, other_site, username="net-admin")  # a site admin sees the network view
    yesterday = local_yesterday(None)
    days = [yesterday - timedelta(days=n) for n in range(4, -1, -1)]
    for day in days:
        store_snapshots(None, day)
    key = next(iter(KPIS))
    for n, day in enumerate(days):  # a line that moves: 10, 12, 14, ...
        KpiSnapshot.objects.filter(site__isnull=True, key=key, date=day).update(value=Decimal(10 + 2 * n))
    KpiSnapshot.objects.filter(site__isnull=True, key=key, date=days[2]).delete()  # a gap, not an invented value

    page = open_page()
    log_in(page, admin.username)
    page.goto("/kpis/network/")  # the default period: the 30 days up to yesterday (UTC)
    page.wait_for_selector(f"[data-testid=trend-{key}] .uplot")
    assert page.evaluate("typeof window.uPlot") == "function"  # the local copy was served and ran
    chart = page.evaluate(
        "k => { const u = document.querySelector(`[data-testid=trend-${k}]`)._uplot;"
        " return {x: u.data[0].length, y: u.data[1], w: u.width, h: u.height}; }",
        key,
    )
    assert chart["x"] == 4 and chart["y"] == [10.0, 12.0, 16.0, 18.0]
    assert chart["w"] >= 120 and chart["h"] == 48
    boxes = page.locator("[data-kpi-trend]")
    assert boxes.count() == len(KPIS)
    # every box is handled: a chart, a note that the stored days measured nothing, or (a KPI without snapshots)
    # that there are none
    for i in range(boxes.count()):
        box = boxes.nth(i)
        text = box.inner_text()
        if box.get_attribute("data-drawn") == "1":
            assert box.locator(".uplot").count() == 1 or "nothing measured" in text
        else:
            assert text == "no snapshots in the period", box.get_attribute("data-testid")
    assert page.locator("[data-kpi-trend] .uplot").count() >= 1
    page.shot("network-trends")

    # a period without network snapshots says so instead of an empty chart
    before = (days[0] - timedelta(days=10)).isoformat()
    page.goto(f"/kpis/network/?date_from={before}&date_to={before}")
    assert page.locator(".uplot").count() == 0
    assert page.inner_text(f"[data-testid=trend-{key}]") == "no snapshots in the period"


def test_the_scan_menu_closes_again(open_page, log_in, make_user, site):
    operator = make_user(["operator", "supervisor"], site, username="menu-op")
    page = open_page(width=600, height=1024)
    log_in(page, operator.username)
    page.goto("/scan/pick/")
    page.wait_for_selector("[data-testid=scan-header]")
    menu = page.locator("[data-testid=scan-menu]")
    assert not page.evaluate(MENU_SHOWN) and menu.get_attribute("aria-expanded") == "false"

    menu.click()
    assert page.locator("nav.menu").is_visible() and menu.get_attribute("aria-expanded") == "true"
    assert page.evaluate(NO_OVERFLOW)
    page.shot("menu-open")
    menu.click()  # the same button again closes it
    assert not page.evaluate(MENU_SHOWN) and menu.get_attribute("aria-expanded") == "false"

    menu.click()
    assert page.locator("nav.menu").is_visible()
    page.mouse.click(300, 950)  # a tap outside the menu
    assert not page.evaluate(MENU_SHOWN)
    page.shot("closed-by-a-tap-outside")

    menu.click()
    page.locator("nav.menu a").first.hover()  # inside the menu: stays open
    assert page.locator("nav.menu").is_visible()
    page.keyboard.press("Escape")
    assert not page.evaluate(MENU_SHOWN)

    # opened from its address (a bookmark, or the page before JavaScript ran): open, and it closes the same way
    page.goto("/scan/pick/#main-menu")
    page.wait_for_selector("nav.menu", state="visible")
    assert menu.get_attribute("aria-expanded") == "true"
    menu.click()
    assert not page.evaluate(MENU_SHOWN)
    assert "/scan/pick/" in page.url  # no navigation happened


def test_enter_in_the_bulk_note_field_submits_nothing(open_page, log_in, make_user, site):
    boss = make_user("supervisor", site, username="enter-boss")
    case = open_exception(
        site=site, code="LATE_RECEIPT", subject=LocationFactory(site=site, code="D-9"), summary="PO 9 late"
    )[0]
    page = open_page()
    log_in(page, boss.username)
    page.goto("/exceptions/")
    page.check(f"input[data-row-select][value='{case.pk}']")
    page.fill("[data-testid=bulk-note]", "on it")
    requests = []
    page.on("request", lambda r: requests.append(r) if r.method == "POST" else None)
    page.press("[data-testid=bulk-note]", "Enter")
    page.wait_for_timeout(500)
    assert requests == [] and page.url.endswith("/exceptions/")
    assert page.input_value("[data-testid=bulk-note]") == "on it"  # the page stayed, the text too
    assert ExceptionCase.objects.get(pk=case.pk).status == "OPEN"
    # the buttons still work: Resolve with the typed note
    page.click("[data-testid=bulk-resolve]")
    page.wait_for_selector("text=1 exception resolved.")
    case.refresh_from_db()
    assert (case.status, case.resolution_note) == ("RESOLVED", "on it")


def test_a_wide_list_scrolls_inside_its_panel_on_a_tablet_instead_of_squeezing(open_page, log_in, make_user, site):
    boss = make_user("supervisor", site, username="tablet-boss")
    for n in range(3):
        open_exception(
            site=site,
            code="STOCKOUT",
            subject=ItemFactory(sku=f"TABLET-SKU-{n}"),
            summary="A summary long enough to wrap on a tablet " * 3,
        )
    page = open_page(width=768, height=1024)
    log_in(page, boss.username)
    page.goto("/exceptions/")
    page.wait_for_selector("[data-testid=exception-list]")
    assert page.evaluate(NO_OVERFLOW)  # the page itself never scrolls sideways
    sizes = page.evaluate(
        """() => {
          const t = document.querySelector('[data-testid=exception-list]');
          const wrap = t.closest('.table-scroll');
          const heads = [...t.querySelectorAll('thead th')].filter(th => th.textContent.trim());
          const line = parseFloat(getComputedStyle(heads[0]).lineHeight) || 20;
          return {table: t.scrollWidth, wrap: wrap.clientWidth, scrolls: wrap.scrollWidth > wrap.clientWidth,
                  tallestHead: Math.max(...heads.map(th => th.clientHeight)), line,
                  narrowest: Math.min(...[...t.querySelectorAll('tbody tr:first-child td')].map(td => td.clientWidth))};
        }"""
    )
    page.shot("exceptions-768")
    assert sizes["scrolls"] and sizes["table"] > sizes["wrap"], sizes  # wider than its panel: it scrolls there
    assert sizes["tallestHead"] < 1.6 * sizes["line"] + 12, sizes  # every header on one line, not broken up
    page.evaluate("document.querySelector('[data-testid=exception-list]').closest('.table-scroll').scrollLeft = 400")
    page.shot("exceptions-768-scrolled")


def test_the_wave_pages_tables_scroll_inside_their_panels_on_a_handheld(
    open_page, log_in, make_user, site, item, stock
):
    from django.utils import timezone

    from inventory.models import Location
    from orders.services import allocate_orders, create_order, release_order
    from tests.factories import CustomerFactory
    from warehouse.services import plan_wave, release_wave

    boss = make_user(["coordinator", "supervisor", "operator"], site, username="wave-boss")
    pick = LocationFactory(site=site, code="P-LONG-LOCATION-CODE-01", kind=Location.Kind.PICK)
    LocationFactory(site=site, code="STAGE-1", kind=Location.Kind.STAGING)
    stock(item, pick, 20)
    customer = CustomerFactory(code="CUSTOMER-LONG-CODE-0001", home_site=site)
    order = create_order(
        user=boss,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=2),
        lines=[{"item": item.sku, "quantity": 2}],
    )
    release_order(user=boss, order=order)
    allocate_orders([order.pk])
    wave = release_wave(user=boss, wave=plan_wave(user=boss, site=site))
    page = open_page(width=360, height=800)
    log_in(page, boss.username)
    page.goto(f"/waves/{wave.pk}/")
    page.wait_for_selector("[data-testid=wave-tasks]")
    page.shot("wave-360")
    assert page.evaluate(NO_OVERFLOW)
    for testid in ("wave-lines", "wave-tasks"):
        assert page.evaluate(f"!!document.querySelector('[data-testid={testid}]').closest('.table-scroll')"), testid
