"""Bulk actions on the orders and approvals lists (issue 15): the ticked documents go through their services one
by one; a refusal is reported by name and the others are still done; another site's document, a read-only user
and an unreadable selection change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import ApprovalRequest
from inventory.models import Adjustment
from inventory.services import adjust_stock
from orders.models import SalesOrder
from orders.services import cancel_order

pytestmark = pytest.mark.django_db


def _messages(response) -> str:
    return " | ".join(str(m) for m in response.context["messages"])


def test_orders_ticked_on_the_list_are_released_one_by_one_and_refusals_named(
    client, coordinator, draft, make_user, other_site, django_capture_on_commit_callbacks
):
    a, b, c = draft(1), draft(2), draft(3)
    cancel_order(user=coordinator, order=c)
    client.force_login(coordinator)
    page = client.get(reverse("web:order-list")).content.decode()
    assert 'data-testid="bulk-orders"' in page and f'name="selected" value="{a.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("web:order-bulk"), {"action": "release", "selected": [a.pk, b.pk, c.pk, 999999]}, follow=True
        )
    text = _messages(response)
    assert "2 orders released." in text and c.number in text and "#999999: no such order at DC1" in text
    statuses = dict(SalesOrder.objects.values_list("pk", "status"))
    assert statuses[a.pk] not in ("DRAFT", "VALIDATED") and statuses[b.pk] not in ("DRAFT", "VALIDATED")
    assert statuses[c.pk] == "CANCELLED"


def test_a_bad_selection_or_a_read_only_user_changes_nothing(client, coordinator, draft, make_user, site):
    order = draft(1)
    client.force_login(coordinator)
    response = client.post(reverse("web:order-bulk"), {"action": "release", "selected": ["x1"]}, follow=True)
    assert "A selected row is not a row of the list." in _messages(response)
    response = client.post(reverse("web:order-bulk"), {"action": "release"}, follow=True)
    assert "Select the orders first" in _messages(response)
    viewer = make_user("auditor", site)
    client.force_login(viewer)
    assert 'data-testid="bulk-orders"' not in client.get(reverse("web:order-list")).content.decode()
    assert client.post(reverse("web:order-bulk"), {"action": "release", "selected": [order.pk]}).status_code == 403
    order.refresh_from_db()
    assert order.status == "DRAFT"


def test_approvals_ticked_are_decided_except_ones_own(client, make_user, site, item, storage, stock):
    stock(item, storage, 200)
    first, second = make_user("supervisor", site), make_user("supervisor", site)
    theirs = adjust_stock(user=first, location=storage, item=item, quantity_delta=-60, reason_code="LOST", note="a")
    mine = adjust_stock(user=second, location=storage, item=item, quantity_delta=-70, reason_code="LOST", note="b")
    pending = {a.object_id: a for a in ApprovalRequest.objects.filter(status="PENDING")}
    client.force_login(second)
    page = client.get(reverse("web:approval-list")).content.decode()
    assert 'data-testid="bulk-approvals"' in page
    assert "your request: another approver decides it" in page  # no buttons on one's own request
    response = client.post(
        reverse("web:approval-bulk"),
        {"action": "approve", "note": "checked", "selected": [pending[theirs.pk].pk, pending[mine.pk].pk]},
        follow=True,
    )
    text = _messages(response)
    assert "1 request approved." in text and "1 not approved" in text and "yourself" in text
    assert dict(ApprovalRequest.objects.values_list("object_id", "status")) == {
        theirs.pk: "APPROVED",
        mine.pk: "PENDING",
    }
    assert Adjustment.objects.get(pk=theirs.pk).status != Adjustment.objects.get(pk=mine.pk).status
