"""Issue 15, order entry: no ship-from by default (the allocation rules decide), a default promised date (the next
working day), SKU search for the line rows, the order page that follows allocation after release, and the
all-sites order list. Plus the error summary's field paths in words and the 404 / 500 pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import SalesOrder
from orders.policy.lifecycle import default_promised_date
from orders.services import allocate_orders, create_order, release_order
from tests.factories import CustomerFactory, ItemFactory

pytestmark = pytest.mark.django_db


def _selected(html: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    chosen = re.search(r'<option value="([^"]*)" selected', select)
    return chosen.group(1) if chosen else None


def test_next_working_day_skips_the_weekend():
    assert default_promised_date(date(2026, 12, 3)) == date(2026, 12, 4)  # Thursday -> Friday
    assert default_promised_date(date(2026, 12, 4)) == date(2026, 12, 7)  # Friday -> Monday
    assert default_promised_date(date(2026, 12, 5)) == date(2026, 12, 7)  # Saturday -> Monday
    assert default_promised_date(date(2026, 12, 4), working_days=3) == date(2026, 12, 9)


def test_a_new_order_ships_from_any_site_and_is_promised_for_the_next_working_day(client, coordinator, site):
    from orders.selectors import default_promised_date as proposed

    client.force_login(coordinator)
    html = client.get(reverse("web:order-new")).content.decode()

    assert _selected(html, "ship_from") in (None, "")  # not the current site: the allocation rules decide
    assert "Any site (allocation rules decide)" in html
    assert f'name="promised_date" value="{proposed(site).isoformat()}"' in html
    assert proposed(site).weekday() < 5


def test_an_order_entered_with_the_defaults_has_no_ship_from(client, coordinator, customer, item, site):
    from orders.selectors import default_promised_date as proposed

    client.force_login(coordinator)
    response = client.post(
        reverse("web:order-new"),
        {
            "customer": customer.code,
            "promised_date": proposed(site).isoformat(),
            "ship_from": "",
            "channel": "PHONE",
            "item-0": item.sku,
            "quantity-0": "3",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order = SalesOrder.objects.get()
    assert order.ship_from is None and order.site == site


def test_the_sku_search_offers_items_by_sku_and_by_description(client, coordinator):
    ItemFactory(sku="BOLT-10", description="Hex bolt M10")
    ItemFactory(sku="BOLT-12", description="Hex bolt M12")
    ItemFactory(sku="NUT-10", description="Hex nut for bolts")
    ItemFactory(sku="BOLT-99", description="Old bolt", active=False)
    client.force_login(coordinator)
    url = reverse("web:order-item-search")

    by_sku = client.get(url, {"row": "2", "item-2": "bolt"}).content.decode()
    assert re.findall(r'<option value="([^"]+)"', by_sku) == ["BOLT-10", "BOLT-12", "NUT-10"]  # SKU first
    assert "Hex bolt M10" in by_sku and "BOLT-99" not in by_sku

    by_text = client.get(url, {"row": "0", "item-0": "nut for"}).content.decode()
    assert re.findall(r'<option value="([^"]+)"', by_text) == ["NUT-10"]
    assert "<option" not in client.get(url, {"row": "0", "item-0": "b"}).content.decode()  # two letters at least


def test_each_line_row_searches_skus_into_its_own_datalist(client, coordinator):
    client.force_login(coordinator)
    html = client.get(reverse("web:order-new")).content.decode()
    assert 'list="skus-0"' in html and '<datalist id="skus-0"' in html
    assert f'hx-get="{reverse("web:order-item-search")}"' in html
    row = client.get(reverse("web:order-line-row"), {"index": "7"}).content.decode()
    assert 'list="skus-7"' in row and 'hx-target="#skus-7"' in row


def test_line_errors_are_summarised_in_words(client, coordinator, customer, tomorrow):
    client.force_login(coordinator)
    response = client.post(
        reverse("web:order-new"),
        {"customer": customer.code, "promised_date": tomorrow.isoformat(), "channel": "PHONE"},
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "lines[" not in html


def test_a_released_order_page_polls_until_allocation_is_done(client, boss, customer, tomorrow, item):
    order = create_order(
        user=boss, customer=customer, promised_date=tomorrow, lines=[{"item": item.sku, "quantity": 2}]
    )
    release_order(user=boss, order=order)
    client.force_login(boss)
    live_url = reverse("web:order-live", args=[order.number])

    page = client.get(reverse("web:order-detail", args=[order.number])).content.decode()
    assert f'hx-get="{live_url}" hx-trigger="every 2s"' in page
    assert "waiting for allocation" in page

    allocate_orders([order.pk])
    order.refresh_from_db()
    assert order.status != SalesOrder.Status.RELEASED
    fragment = client.get(live_url).content.decode()
    assert "hx-trigger" not in fragment  # the answer stops the polling
    assert 'id="order-status"' in fragment and 'hx-swap-oob="true"' in fragment
    assert order.get_status_display() in fragment
    assert "waiting for allocation" not in fragment


def test_releasing_on_the_page_says_allocation_follows_and_the_page_polls(client, boss, draft):
    order = draft(user=boss)
    client.force_login(boss)
    response = client.post(reverse("web:order-action", args=[order.number, "release"]), follow=True)
    page = response.content.decode()
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.RELEASED  # the allocation runs after commit (not in this test)
    assert "Allocation runs in the background" in page and "every 2s" in page


def test_a_draft_order_page_does_not_poll(client, coordinator, draft):
    order = draft()
    client.force_login(coordinator)
    page = client.get(reverse("web:order-detail", args=[order.number])).content.decode()
    assert "every 2s" not in page


def test_the_all_sites_list_shows_the_orders_of_every_site_the_user_sees(
    client, make_user, site, other_site, item, tomorrow
):
    user = make_user("coordinator", site, other_site, username="both")
    third = make_user("coordinator", site, username="one")
    here = CustomerFactory(code="HERE", home_site=site, region=site.region)
    there = CustomerFactory(code="THERE", home_site=other_site, region=other_site.region)
    a = create_order(user=user, customer=here, promised_date=tomorrow, lines=[{"item": item.sku, "quantity": 1}])
    b = create_order(
        user=user, customer=there, promised_date=tomorrow, lines=[{"item": item.sku, "quantity": 1}], ship_from=None
    )
    assert a.site != b.site or a.site == site  # the owning site comes from the user's choice / customer

    client.force_login(user)
    listing = client.get(reverse("web:order-list")).content.decode()
    assert reverse("web:order-list-all") in listing
    html = client.get(reverse("web:order-list-all")).content.decode()
    assert "<th" in html and ">Site<" in html
    assert a.number in html and b.number in html
    filtered = client.get(reverse("web:order-list-all"), {"site": b.site.code}).content.decode()
    assert b.number in filtered and (a.number not in filtered or a.site == b.site)

    client.force_login(third)  # one site: no link to the all-sites list
    assert reverse("web:order-list-all") not in client.get(reverse("web:order-list")).content.decode()
    assert b.number not in client.get(reverse("web:order-list-all")).content.decode() or b.site == site


# --- 404 and 500 ----------------------------------------------------------------------------------------------


def test_the_404_page_is_the_apps_own_with_debug_off(client, coordinator, settings):
    settings.DEBUG = False
    client.force_login(coordinator)
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'data-testid="error-404"' in html and "Page not found" in html
    assert "/static/web/app.css" in html and "cdn" not in html.lower()
    assert "/no/such/page/" in html


def test_the_500_page_is_the_apps_own_with_debug_off(settings):
    settings.DEBUG = False
    from django.urls import path

    def broken(request):
        raise RuntimeError("boom")

    import distribution_erp.urls as root

    settings.ROOT_URLCONF = type("Urls", (), {"urlpatterns": [path("boom/", broken), *root.urlpatterns]})
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    html = response.content.decode()
    assert response.status_code == 500
    assert 'data-testid="error-500"' in html and "Something went wrong" in html
    assert "/static/web/app.css" in html and "cdn" not in html.lower()
    assert "boom" not in html  # no traceback, no exception text
