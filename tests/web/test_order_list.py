"""The order list on the generic list: status tabs whose counts follow the other filters, filters kept across
tabs and sorting, CSV export of the filtered list, site isolation."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from orders.services import cancel_order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_tab_counts_follow_the_customer_filter_and_tabs_keep_it(client, coordinator, draft, site, item, tomorrow):
    from orders.services import create_order

    acme = [draft(1), draft(2)]
    cancel_order(user=coordinator, order=acme[1])
    other = CustomerFactory(code="ZED", name="Zed Ltd", home_site=site, region=site.region)
    zed = create_order(
        user=coordinator, customer=other, promised_date=tomorrow, lines=[{"item": item.sku, "quantity": 1}]
    )
    client.force_login(coordinator)
    url = reverse("web:order-list")
    page = client.get(url).content.decode()
    assert "All <b>3</b>" in page and "Draft <b>2</b>" in page and "Cancelled <b>1</b>" in page
    page = client.get(url, {"customer": "ZED"}).content.decode()
    assert "All <b>1</b>" in page and "Draft <b>1</b>" in page and "Cancelled" not in page
    assert zed.number in page and acme[0].number not in page
    tab = re.search(r'<a href="([^"]*status=DRAFT[^"]*)"', page).group(1)
    assert "customer=ZED" in tab  # the tab keeps the filter
    page = client.get(url, {"customer": "ACME", "status": "CANCELLED"}).content.decode()
    assert acme[1].number in page and acme[0].number not in page
    assert 'type="hidden" name="status" value="CANCELLED"' in page  # the filter form keeps the tab


def test_csv_exports_the_filtered_list_only(client, coordinator, draft, outsider, site):
    orders = [draft(1), draft(2)]
    cancel_order(user=coordinator, order=orders[0])
    client.force_login(coordinator)
    rows = _csv(client.get(reverse("web:order-list"), {"format": "csv", "status": "DRAFT"}))
    assert rows[0] == ["Number", "Customer", "Prio", "Promised", "Entered", "Status", "Channel", "Reference"]
    assert [r[0] for r in rows[1:]] == [orders[1].number]
    client.force_login(outsider)
    rows = _csv(client.get(reverse("web:order-list"), {"format": "csv"}))
    assert rows[1:] == []


def test_sorting_by_a_column_and_back(client, coordinator, draft):
    first, second = draft(1), draft(2)
    client.force_login(coordinator)
    url = reverse("web:order-list")
    page = client.get(url, {"sort": "number"}).content.decode()
    assert page.index(first.number) < page.index(second.number)
    page = client.get(url, {"sort": "-number"}).content.decode()
    assert page.index(second.number) < page.index(first.number)
