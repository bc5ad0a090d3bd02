"""The count scan screen keeps the location for the next item (issue 15): after a count at a location the next
scan starts there (pre-filled, shown as the current location, the item field focused) until the counter scans
another location or presses "Next location". Blind as before: no page shows the system's quantity."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from inventory.models import CycleCountLine
from inventory.services.counts import create_cycle_count
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db

EXPECTED = 7919


@pytest.fixture
def counter(make_user, site):
    return make_user("operator", site, username="counter1")


@pytest.fixture
def count(site, supervisor, item, storage, storage2, stock):
    """A-01-01 holds WIDGET and GADGET, A-01-02 holds WIDGET: three lines on two locations."""
    gadget = ItemFactory(sku="GADGET")
    stock(item, storage, EXPECTED)
    stock(gadget, storage, EXPECTED)
    stock(item, storage2, EXPECTED)
    return create_cycle_count(user=supervisor, site=site, locations=[storage, storage2])


def _input(page: str, name: str) -> str:
    tag = re.search(rf'<input id="f-{name}"[^>]*>', page, re.S)
    assert tag, name
    return tag.group(0)


def _value(page: str, name: str) -> str:
    found = re.search(r'value="([^"]*)"', _input(page, name))
    return found.group(1) if found else ""


def _focused(page: str) -> list[str]:
    return [n for n in ("location", "item", "lot", "quantity") if " autofocus" in _input(page, n)]


def test_a_count_keeps_its_location_for_the_next_item_until_another_location_is_scanned(client, counter, count):
    client.force_login(counter)
    url = reverse("web:scan-count-task", args=[count.pk])
    page = client.get(url).content.decode()
    assert _value(page, "location") == "" and _focused(page) == ["location"]
    assert 'data-testid="kept-location"' not in page

    response = client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": str(EXPECTED)})
    assert response.status_code == 302 and response["Location"] == f"{url}?location=A-01-01"
    page = client.get(response["Location"]).content.decode()
    assert "A-01-01 WIDGET: 7919 counted." in page
    assert _value(page, "location") == "A-01-01" and "data-kept" in _input(page, "location")
    assert _focused(page) == ["item"]  # the next scan is the item, at the same location
    kept = page.split('data-testid="kept-location"')[1].split("</div>")[0]
    assert "A-01-01" in kept and "1 item(s) left to count here" in kept
    assert f'href="{url}" data-testid="next-location"' in page  # "Next location": the screen without a location
    assert "Location A-01-01 kept: scan the next item here, or scan another location." in page

    # a refused item keeps the location too
    response = client.post(url, {"location": "A-01-01", "item": "NOPE", "quantity": "3"})
    page = response.content.decode()
    assert response.status_code == 400 and "No item &#x27;NOPE&#x27;." in page
    assert _value(page, "location") == "A-01-01" and _focused(page) == ["item"]

    # the last item there: still kept, saying nothing listed is left
    response = client.post(url, {"location": "A-01-01", "item": "GADGET", "quantity": str(EXPECTED)})
    page = client.get(response["Location"]).content.decode()
    assert _value(page, "location") == "A-01-01"
    assert "nothing listed left here" in page.split('data-testid="kept-location"')[1].split("</div>")[0]

    # a location label scanned into the item field is answered as a location, not as an unknown item
    check = reverse("web:scan-count-check", args=[count.pk])
    answer = client.get(check, {"field": "item", "item": "A-01-02", "location": "A-01-01"}).content.decode()
    assert "A-01-02 is a location: press Next location, or scan it in the location field." in answer
    assert 'role="alert"' in answer

    # the counter scans another location: the last line there; nothing left, so back to the counts
    response = client.post(url, {"location": "A-01-02", "item": "WIDGET", "quantity": str(EXPECTED)}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("web:scan-count")
    assert set(count.lines.values_list("status", flat=True)) == {CycleCountLine.Status.POSTED}


def test_another_scanned_location_replaces_the_kept_one(client, counter, count):
    client.force_login(counter)
    url = reverse("web:scan-count-task", args=[count.pk])
    client.post(url, {"location": "A-01-01", "item": "WIDGET", "quantity": str(EXPECTED)})
    response = client.post(url, {"location": "A-01-02", "item": "WIDGET", "quantity": str(EXPECTED)})
    assert response["Location"] == f"{url}?location=A-01-02"
    page = client.get(response["Location"]).content.decode()
    assert _value(page, "location") == "A-01-02" and _focused(page) == ["item"]
    assert "nothing listed left here" in page.split('data-testid="kept-location"')[1].split("</div>")[0]
    assert str(EXPECTED) not in re.sub(r"[A-Za-z0-9]{32,}", "", page.replace("7919 counted", ""))


def test_a_location_that_is_not_on_the_count_is_not_kept(client, counter, count):
    client.force_login(counter)
    url = reverse("web:scan-count-task", args=[count.pk])
    for value in ("B-77", "", "<script>"):
        page = client.get(url, {"location": value}).content.decode()
        assert _value(page, "location") == "" and _focused(page) == ["location"]
        assert 'data-testid="kept-location"' not in page
    page = client.get(url, {"location": " A-01-02\t"}).content.decode()  # as a scanner may send it
    assert _value(page, "location") == "A-01-02"
    # a refused location is not kept: the location field is scanned again
    response = client.post(url, {"location": "B-77", "item": "WIDGET", "quantity": "1"})
    page = response.content.decode()
    assert response.status_code == 400 and _focused(page) == ["location"]
    assert 'data-testid="kept-location"' not in page
