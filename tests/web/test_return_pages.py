"""Returns in the browser (issue 15): the list of the site's returns, a return's page, authorizing a return against
an order's shipped lines and receiving / inspecting one with a line split between dispositions. Every post goes
through the returns services (the API's); their refusals are shown in their words and change nothing; a return of
a site the user does not see is a 404; a read-only user sees no action and a post of theirs is refused."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from governance.models import ApprovalRequest
from inventory.models import StockMove
from inventory.selectors import find_inventory_drift
from orders.models import ReturnAuthorization, ReturnDisposition
from tests.inventory.test_counts import set_rule
from tests.orders.test_returns import approver, boss, floor, receiver, rma_for, shipped, snapshot  # noqa: F401
from warehouse.models import PutawayTask

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(shipped, item):  # noqa: F811
    return shipped([("WIDGET", 10, "12.50")])


@pytest.fixture
def auditor(make_user, site):
    return make_user("auditor", site, username="auditor1")


@pytest.fixture
def stranger(make_user, other_site):
    return make_user(["coordinator", "supervisor", "operator"], other_site, username="stranger")


def login(client, user):
    client.force_login(user)
    return client


def authorize_post(order, quantity, reason="DAMAGED", note=""):
    return {
        "order": order.number,
        "line-TOTAL_FORMS": "1",
        "line-INITIAL_FORMS": "1",
        "line-0-line": "1",
        "line-0-quantity": str(quantity),
        "line-0-reason": reason,
        "rma-note": note,
    }


def receive_post(*parts, rows=2):
    """parts: (quantity, inspection, disposition) per row of line 1 (``rows`` rows drawn)."""
    data = {"parts": str(rows), "part-TOTAL_FORMS": str(rows), "part-INITIAL_FORMS": str(rows), "rma-arrived_at": ""}
    for i in range(rows):
        quantity, inspection, disposition = parts[i] if i < len(parts) else ("", "GOOD", "")
        data.update(
            {
                f"part-{i}-line": "1",
                f"part-{i}-quantity": str(quantity),
                f"part-{i}-inspection": inspection,
                f"part-{i}-disposition": disposition,
                f"part-{i}-lot": "",
                f"part-{i}-note": "",
            }
        )
    return data


# --- list and page ----------------------------------------------------------------------------------------------


def test_the_list_shows_the_sites_returns_with_labels(client, boss, order, item):  # noqa: F811
    rma = rma_for(order, boss, 4, reason="DAMAGED")
    response = login(client, boss).get(reverse("web:return-list"))
    body = response.content.decode()
    assert response.status_code == 200
    assert rma.number in body and "Authorized" in body and "Not computed yet" in body
    assert 'data-testid="authorize-return"' in body
    csv = client.get(reverse("web:return-list") + "?format=csv")
    assert rma.number in b"".join(csv.streaming_content).decode()
    assert rma.number not in client.get(reverse("web:return-list") + "?status=RECEIVED").content.decode()


def test_the_return_page_shows_its_lines_and_the_receive_button(client, boss, order):  # noqa: F811
    rma = rma_for(order, boss, 4, reason="DAMAGED")
    body = login(client, boss).get(reverse("web:return-detail", args=[rma.number])).content.decode()
    assert "Arrived damaged" in body and 'data-testid="receive-return"' in body


def test_a_read_only_user_sees_no_action_and_their_posts_are_refused(client, boss, auditor, order):  # noqa: F811
    rma = rma_for(order, boss, 4)
    login(client, auditor)
    listing = client.get(reverse("web:return-list")).content.decode()
    assert rma.number in listing and 'data-testid="authorize-return"' not in listing
    page = client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    assert 'data-testid="receive-return"' not in page and 'data-testid="rma-decide"' not in page
    before = snapshot()
    assert client.get(reverse("web:return-new")).status_code == 403
    assert client.post(reverse("web:return-new"), authorize_post(order, 1)).status_code == 403
    response = client.post(reverse("web:return-receive", args=[rma.number]), receive_post((4, "GOOD", "RESTOCK")))
    assert response.status_code == 403
    assert snapshot() == before


def test_another_sites_return_and_order_are_not_found(client, boss, stranger, order):  # noqa: F811
    rma = rma_for(order, boss, 4)
    login(client, stranger)
    before = snapshot()
    for url in (
        reverse("web:return-detail", args=[rma.number]),
        reverse("web:return-receive", args=[rma.number]),
        reverse("web:return-new") + f"?order={order.number}",
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("web:return-receive", args=[rma.number]), receive_post((4, "GOOD", "RESTOCK"))).status_code
        == 404
    )
    assert client.post(reverse("web:return-decide", args=[rma.number, "approve"])).status_code == 404
    assert rma.number not in client.get(reverse("web:return-list")).content.decode()
    assert snapshot() == before


# --- authorize ------------------------------------------------------------------------------------------------


def test_choosing_an_order_lists_the_shipped_orders_by_customer(client, boss, order):  # noqa: F811
    body = login(client, boss).get(reverse("web:return-new")).content.decode()
    assert order.number in body and f"?order={order.number}" in body
    form = client.get(reverse("web:return-new") + f"?order={order.number}").content.decode()
    assert 'data-testid="authorize-row-1"' in form and "Arrived damaged" in form


def test_authorizing_a_return_through_the_form(client, boss, order):  # noqa: F811
    response = login(client, boss).post(reverse("web:return-new"), authorize_post(order, 4, note="box crushed"))
    rma = ReturnAuthorization.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("web:return-detail", args=[rma.number])
    assert (rma.status, rma.note, rma.requested_by) == ("AUTHORIZED", "box crushed", boss)
    line = rma.lines.get()
    assert (line.quantity, line.reason) == (4, "DAMAGED")


def test_more_than_may_be_returned_is_shown_on_the_line_and_changes_nothing(client, boss, order):  # noqa: F811
    rma_for(order, boss, 8)
    before = snapshot()
    response = login(client, boss).post(reverse("web:return-new"), authorize_post(order, 3))
    body = response.content.decode()
    assert response.status_code == 422
    assert "at most 2 may be returned" in body and 'data-testid="refused"' in body
    assert snapshot() == before


def test_a_quantity_without_a_reason_is_refused_by_the_form(client, boss, order):  # noqa: F811
    before = snapshot()
    response = login(client, boss).post(reverse("web:return-new"), authorize_post(order, 2, reason=""))
    assert response.status_code == 400 and "Give the reason for the return." in response.content.decode()
    assert snapshot() == before


def test_an_authorization_above_the_site_value_is_decided_by_another_approver(
    client,
    make_user,
    boss,  # noqa: F811
    approver,  # noqa: F811
    site,
    order,
):
    set_rule(site, "returns.authorization_value", "20")
    login(client, boss).post(reverse("web:return-new"), authorize_post(order, 4))
    rma = ReturnAuthorization.objects.get()
    assert rma.status == "PENDING_APPROVAL"
    mine = client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    assert 'data-testid="rma-decide"' not in mine and "another approver decides it" in mine
    client.post(reverse("web:return-decide", args=[rma.number, "approve"]))  # the requester: refused
    assert ReturnAuthorization.objects.get().status == "PENDING_APPROVAL"
    login(client, make_user("auditor", site, username="auditor-rma"))
    page = client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    assert 'data-testid="rma-approval"' in page and 'data-testid="rma-decide"' not in page
    client.post(reverse("web:return-decide", args=[rma.number, "approve"]))  # read only: refused
    assert ReturnAuthorization.objects.get().status == "PENDING_APPROVAL"
    login(client, approver)
    assert 'data-testid="rma-decide"' in client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    client.post(reverse("web:return-decide", args=[rma.number, "approve"]))
    assert ReturnAuthorization.objects.get().status == "AUTHORIZED"
    assert ApprovalRequest.objects.get(kind="RETURN_AUTHORIZATION").status == "APPROVED"


# --- receive / inspect ----------------------------------------------------------------------------------------


def test_a_line_split_between_restock_and_scrap(client, boss, receiver, order, floor):  # noqa: F811
    rma = rma_for(order, boss, 4, reason="DAMAGED")
    login(client, receiver)
    form = client.get(reverse("web:return-receive", args=[rma.number])).content.decode()
    assert 'data-testid="part-1-1"' in form and 'data-testid="part-1-2"' in form
    response = client.post(
        reverse("web:return-receive", args=[rma.number]),
        receive_post((3, "GOOD", "RESTOCK"), (1, "DAMAGED", "SCRAP")),
    )
    assert response.status_code == 302
    rma.refresh_from_db()
    assert (rma.status, rma.received_by) == ("RECEIVED", receiver)
    assert sorted(ReturnDisposition.objects.values_list("disposition", "quantity")) == [("RESTOCK", 3), ("SCRAP", 1)]
    assert PutawayTask.objects.get(status="OPEN").quantity == 3
    assert StockMove.objects.get(kind="SCRAP").quantity == 1
    page = client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    assert "3 × Restock (putaway to available)" in page and "1 × Scrap" in page
    assert 'data-testid="receive-return"' not in page  # received: nothing more to receive
    assert find_inventory_drift() == []


def test_a_refused_receipt_is_shown_on_its_row_and_changes_nothing(client, boss, receiver, order):  # noqa: F811
    rma = rma_for(order, boss, 4)
    login(client, receiver)
    before = snapshot()
    response = client.post(
        reverse("web:return-receive", args=[rma.number]),
        receive_post((3, "GOOD", "RESTOCK"), (1, "DAMAGED", "RESTOCK")),  # a damaged unit back to stock
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "only units inspected good (resaleable) go back to stock" in body
    assert snapshot() == before and not ReturnDisposition.objects.exists()
    response = client.post(
        reverse("web:return-receive", args=[rma.number]), receive_post((4, "GOOD", "RESTOCK"), (1, "DAMAGED", "SCRAP"))
    )
    assert response.status_code == 400 and "4 authorized; 5 cannot be received" in response.content.decode()
    assert snapshot() == before


def test_more_rows_per_line_can_be_asked_for(client, boss, receiver, order):  # noqa: F811
    rma = rma_for(order, boss, 4)
    body = login(client, receiver).get(reverse("web:return-receive", args=[rma.number]) + "?parts=3").content.decode()
    assert 'data-testid="part-1-3"' in body and 'data-testid="part-1-4"' not in body


def test_a_received_return_cannot_be_received_again(client, boss, receiver, order):  # noqa: F811
    rma = rma_for(order, boss, 4)
    login(client, receiver)
    client.post(reverse("web:return-receive", args=[rma.number]), receive_post((4, "GOOD", "RESTOCK")))
    before = snapshot()
    response = client.post(reverse("web:return-receive", args=[rma.number]), receive_post((4, "GOOD", "RESTOCK")))
    assert response.status_code == 302 and snapshot() == before


def test_a_coordinator_who_authorizes_may_not_receive(client, make_user, site, boss, order):  # noqa: F811
    coordinator = make_user("coordinator", site, username="coord-only")
    rma = rma_for(order, boss, 4)
    login(client, coordinator)
    assert (
        'data-testid="receive-return"'
        not in client.get(reverse("web:return-detail", args=[rma.number])).content.decode()
    )
    assert client.get(reverse("web:return-receive", args=[rma.number])).status_code == 403


def test_the_return_pages_show_labels_not_raw_values(client, boss, receiver, order, site):  # noqa: F811
    """The demo has no returns (tests/web/test_no_raw_enums.py cannot reach these pages), so they are checked here:
    a pending, an authorized and a received split return, on every page of returns."""
    from tests.web.test_no_raw_enums import page_text, raw_values

    values = raw_values()
    values.pop("DC")  # the test site is named "Central DC" (a name, shown in the site switcher)
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(sorted(map(re.escape, values), key=len, reverse=True)) + r")(?![\w-])"
    )
    split = rma_for(order, boss, 4, reason="WRONG_ITEM")
    login(client, receiver).post(
        reverse("web:return-receive", args=[split.number]),
        receive_post((3, "GOOD", "RESTOCK"), (1, "NOT_INSPECTED", "RETURN_TO_VENDOR")),
    )
    waiting = rma_for(order, boss, 2, reason="NOT_NEEDED")
    set_rule(site, "returns.authorization_value", "1")
    pending = rma_for(order, boss, 1, reason="EXPIRED")
    assert pending.status == "PENDING_APPROVAL"
    pages = [
        reverse("web:return-list"),
        reverse("web:return-new"),
        reverse("web:return-new") + f"?order={order.number}",
        *(reverse("web:return-detail", args=[r.number]) for r in (split, waiting, pending)),
    ]
    shown = []
    for user, urls in ((boss, pages), (receiver, [reverse("web:return-receive", args=[waiting.number])])):
        login(client, user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            text, _ = page_text(response.content.decode())
            shown += [(url, m.group(1)) for m in pattern.finditer(text)]
    assert shown == [], shown
