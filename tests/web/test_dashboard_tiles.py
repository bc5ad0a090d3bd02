"""Dashboard tiles open their queue (issue 15): every tile of the site dashboard is a link to the list behind its
number, filtered the same way, and the list shows as many rows as the tile counts."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from governance.services import open_exception
from tests.factories import ItemFactory, LocationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_here(make_user, site):
    return make_user("supervisor", site, username="sup-tiles")


def tiles(body: str) -> dict[str, tuple[str, str]]:
    """label -> (number, href) of the dashboard's queue tiles."""
    out = {}
    for href, number, label in re.findall(
        r'<a class="tile tile-link" href="([^"]+)"[^>]*><div class="n"[^>]*>(?:<span[^>]*>)?(\d+)(?:</span>)?</div>'
        r'<div class="l">([^<]+)</div></a>',
        body,
    ):
        out[label] = (number, href.replace("&amp;", "&"))
    return out


def test_every_tile_links_to_its_filtered_list(client, supervisor_here, site, other_site):
    open_exception(site=site, code="STOCKOUT", subject=ItemFactory(sku="GONE-1"), summary="none left")
    open_exception(site=site, code="STOCKOUT", subject=ItemFactory(sku="GONE-2"), summary="none left")
    open_exception(site=site, code="LATE_RECEIPT", subject=LocationFactory(site=site, code="D-1"), summary="late")
    open_exception(site=other_site, code="STOCKOUT", subject=ItemFactory(sku="GONE-3"), summary="theirs")
    client.force_login(supervisor_here)
    found = tiles(client.get(reverse("web:dashboard")).content.decode())
    assert found["High exceptions"] == ("2", "/exceptions/?severity=HIGH")
    assert found["Low exceptions"] == ("1", "/exceptions/?severity=LOW")
    assert found["Putaway tasks open"][1] == "/putaway/?status=OPEN"
    assert found["Short picks open"][1] == "/exceptions/?code=SHORT_PICK"
    assert found["Orders at risk"][1] == "/exceptions/?code=LATE_SHIPMENT_RISK"
    assert found["Count lines to count"][1] == "/counts/?state=TO_COUNT"
    assert found["Count requests open"][1] == "/counts/requests/?status=OPEN"
    for label, (_number, href) in found.items():
        response = client.get(href)
        assert response.status_code == 200, (label, href)
    listed = client.get("/exceptions/?severity=HIGH").content.decode()
    table = listed[listed.index('data-testid="exception-list"') :]
    assert table.count("none left") == 2 and "late" not in table and "theirs" not in table


def test_kpi_tiles_open_the_kpi_page(client, supervisor_here, site):
    client.force_login(supervisor_here)
    body = client.get(reverse("web:dashboard")).content.decode()
    assert 'data-testid="kpi-tiles"' in body
    assert body.count('class="tile tile-link kpi-tile" href="/kpis/"') == body.count('data-kpi-trend="') > 0


def test_the_count_list_filters_counts_with_lines_to_count(client, supervisor_here, site):
    client.force_login(supervisor_here)
    body = client.get("/counts/?state=TO_COUNT").content.decode()
    assert 'value="TO_COUNT" selected' in body


def test_the_dashboard_shows_the_first_rows_of_the_exception_queue_and_links_to_all(client, make_user, site):
    from web.selectors import QUEUE_ROWS

    boss = make_user("supervisor", site)
    for n in range(QUEUE_ROWS + 3):
        open_exception(site=site, code="STOCKOUT", subject=ItemFactory(sku=f"OUT-{n}"), summary=f"OUT-{n} gone")
    client.force_login(boss)
    page = client.get(reverse("web:dashboard")).content.decode()
    queue = page[page.index('data-testid="exception-queue"') : page.index('data-testid="exception-queue-more"')]
    assert queue.count("<tr>") == QUEUE_ROWS + 1  # the header row and the first rows
    assert f"All {QUEUE_ROWS + 3} open exceptions in the queue" in page
