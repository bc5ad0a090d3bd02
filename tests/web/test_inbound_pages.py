"""Supervisor pages for inbound: receipts (list, page, inspection) and putaway tasks. Permissions for every page,
site isolation (404), each action through the service with its message, refusals in the service's words that
change nothing, and CSV export of each list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from inventory.models import StockMove, StockQuant
from orders.models import PurchaseOrderLine, Supplier
from warehouse.models import PutawayTask, Receipt, ReceiptLine
from warehouse.services import receive

pytestmark = pytest.mark.django_db

PAGES = ["web:receipt-list", "web:putaway-list"]


def _csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def received(boss, floor, item, purchase_order):
    """received(qty, damaged=0, inspect=False, got=None) -> a receipt of ``got`` (default qty) good units."""

    def _make(quantity=10, damaged=0, inspect=False, got=None):
        po = purchase_order(quantity)
        if inspect:
            Supplier.objects.filter(pk=po.supplier_id).update(requires_inspection=True)
        line = {"item": item.sku, "quantity": quantity if got is None else got}
        if damaged:
            line["damaged_quantity"] = damaged
        return receive(user=boss, purchase_order=po, lines=[line])

    return _make


def _snapshot():
    return (
        list(StockQuant.objects.order_by("pk").values_list("pk", "status", "quantity", "reserved")),
        StockMove.objects.count(),
        list(ReceiptLine.objects.order_by("pk").values_list("pk", "released_quantity", "rejected_quantity")),
        PutawayTask.objects.count(),
        list(PurchaseOrderLine.objects.order_by("pk").values_list("pk", "received_quantity", "rejected_quantity")),
    )


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_users_go_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


@pytest.mark.parametrize("role", ["coordinator", "operator", "planner", "auditor"])
def test_roles_without_warehouse_plan_get_403_and_no_menu_entry(client, make_user, site, role):
    client.force_login(make_user(role, site))
    for name in PAGES:
        response = client.get(reverse(name))
        assert response.status_code == 403 and b"does not allow" in response.content
    page = client.get(reverse("web:order-list")).content.decode()
    assert f'href="{reverse("web:receipt-list")}"' not in page


def test_supervisors_see_both_pages_in_the_menu(client, supervisor):
    client.force_login(supervisor)
    for name in PAGES:
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert f'href="{reverse(name)}"' in page.content.decode()


def test_another_sites_receipt_is_404_and_cannot_be_inspected(client, outsider, received):
    receipt = received(6, inspect=True)
    line = receipt.lines.get()
    before = _snapshot()
    client.force_login(outsider)
    assert client.get(reverse("web:receipt-detail", args=[receipt.number])).status_code == 404
    response = client.post(reverse("web:receipt-inspect", args=[receipt.number, line.pk]), {"release_quantity": "6"})
    assert response.status_code == 404
    assert receipt.number not in client.get(reverse("web:receipt-list")).content.decode()
    assert client.get(reverse("web:receipt-list"), {"format": "csv"}).status_code == 200
    assert _snapshot() == before


def test_receipt_list_puts_receipts_awaiting_putaway_first_and_filters(client, boss, received):
    done = received(4)
    PutawayTask.objects.filter(receipt_line__receipt=done).update(status=PutawayTask.Status.CANCELLED)
    waiting = received(5)
    held = received(3, inspect=True)
    Receipt.objects.filter(pk=held.pk).update(received_at=timezone.now() - timedelta(days=3))
    client.force_login(boss)
    url = reverse("web:receipt-list")
    page = client.get(url).content.decode()
    assert page.index(waiting.number) < page.index(done.number)
    assert page.index(waiting.number) < page.index(held.number)

    page = client.get(url, {"state": "AWAITING_PUTAWAY"}).content.decode()
    assert waiting.number in page and done.number not in page and held.number not in page
    page = client.get(url, {"state": "PENDING_INSPECTION"}).content.decode()
    assert held.number in page and waiting.number not in page
    page = client.get(url, {"supplier": "sup1"}).content.decode()
    assert waiting.number in page
    assert "Nothing matches" in client.get(url, {"supplier": "nobody"}).content.decode()
    today = timezone.localdate().isoformat()
    page = client.get(url, {"from": today}).content.decode()
    assert waiting.number in page and held.number not in page

    rows = _csv(client.get(url, {"state": "AWAITING_PUTAWAY", "format": "csv"}))
    assert rows[0][:3] == ["Receipt", "Purchase order / transfer", "Received"]
    assert [r[0] for r in rows[1:]] == [waiting.number]


def test_receipt_page_shows_lines_discrepancies_with_their_exceptions_and_putaway_tasks(client, boss, received):
    receipt = received(10, damaged=2, got=6)  # 6 good + 2 damaged of 10: damaged and short
    client.force_login(boss)
    response = client.get(reverse("web:receipt-detail", args=[receipt.number]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Damaged" in page and "Short receipt" in page
    assert "Damaged receipt" in page and "Short receipt" in page  # the exceptions, by name
    for disc in receipt.discrepancies.all():
        assert escape(disc.detail) in page
    task = PutawayTask.objects.get(receipt_line__receipt=receipt)
    assert f"PUT-{task.pk}" in page and reverse("web:scan-putaway-task", args=[task.pk]) in page
    assert 'data-testid="inspect-' not in page  # nothing on hold: no inspection form


def test_inspection_releases_and_returns_to_vendor_through_the_service(client, boss, received):
    receipt = received(8, inspect=True)
    line = receipt.lines.get()
    assert line.on_hold == 8 and not PutawayTask.objects.exists()
    client.force_login(boss)
    page = client.get(reverse("web:receipt-detail", args=[receipt.number])).content.decode()
    assert f'data-testid="inspect-{line.pk}"' in page
    url = reverse("web:receipt-inspect", args=[receipt.number, line.pk])

    response = client.post(url, {"release_quantity": "5", "reject_quantity": "0"}, follow=True)
    assert f"{receipt.number} WIDGET: 5 released to putaway." in response.content.decode()
    assert PutawayTask.objects.get().quantity == 5

    response = client.post(
        url, {"release_quantity": "0", "reject_quantity": "3", "reject_to": "RETURN_TO_VENDOR"}, follow=True
    )
    assert "3 returned to the vendor" in response.content.decode()
    line.refresh_from_db()
    assert (line.released_quantity, line.rejected_quantity, line.inspection) == (5, 3, "DONE")
    assert PurchaseOrderLine.objects.get().rejected_quantity == 3


def test_inspection_refusals_show_the_services_words_and_change_nothing(client, boss, make_user, site, received):
    receipt = received(4, inspect=True)
    line = receipt.lines.get()
    url = reverse("web:receipt-inspect", args=[receipt.number, line.pk])
    client.force_login(boss)
    before = _snapshot()
    cases = [
        ({"release_quantity": "9"}, "Only 4 units of this line are on hold; cannot inspect 9."),
        ({"release_quantity": "0", "reject_quantity": "0"}, "Release or reject at least one unit."),
        ({"release_quantity": "-1"}, "Give a whole number of units, 0 or more."),
        ({"reject_quantity": "1", "reject_to": "BIN"}, "Rejected units go to DAMAGED or RETURN_TO_VENDOR."),
    ]
    for data, message in cases:
        page = client.post(url, data, follow=True).content.decode()
        assert escape(message) in page, message
    assert _snapshot() == before
    client.force_login(make_user("operator", site))
    assert client.post(url, {"release_quantity": "1"}).status_code == 403
    assert _snapshot() == before


def test_putaway_list_filters_ages_and_exports(client, boss, received):
    first = received(4)
    second = received(6)
    old = PutawayTask.objects.get(receipt_line__receipt=first)
    PutawayTask.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(hours=5))
    client.force_login(boss)
    url = reverse("web:putaway-list")
    page = client.get(url).content.decode()
    assert page.index(first.number) < page.index(second.number)  # oldest first
    assert "5\xa0hours" in page
    PutawayTask.objects.filter(pk=old.pk).update(status=PutawayTask.Status.CONFIRMED)
    page = client.get(url, {"status": "OPEN"}).content.decode()
    assert second.number in page and first.number not in page
    rows = _csv(client.get(url, {"status": "CONFIRMED", "format": "csv"}))
    assert rows[0][:3] == ["Task", "Receipt", "Item"]
    assert [r[1] for r in rows[1:]] == [first.number]
    assert client.get(url, {"sort": "bogus", "status": "NOPE"}).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_lists_run_a_fixed_number_of_queries(client, boss, received, name, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    received(4, damaged=1)
    client.force_login(boss)
    client.get(reverse(name))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(name)).status_code == 200
    for n in range(5):
        received(3 + n, damaged=1, inspect=n % 2 == 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse(name)).status_code == 200
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = _csv(client.get(reverse(name) + "?format=csv"))  # the CSV streams every row in chunks
    model = Receipt if name == "web:receipt-list" else PutawayTask
    assert len(rows) == model.objects.count() + 1
