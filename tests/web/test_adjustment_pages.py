"""The adjustments page (issue 15): a supervisor requests a stock adjustment, sees those waiting for approval and
approves or rejects them. Segregation of duties: the requester is never offered the decision and a decision they
post is refused; a read-only user sees no form and no buttons and their posts are refused; another site's
adjustments are not shown and are a 404. Every write through inventory.services.adjustments."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import ApprovalRequest
from inventory.models import Adjustment
from inventory.selectors import find_inventory_drift
from inventory.services import adjust_stock
from tests.factories import LocationFactory
from tests.inventory.helpers import inventory_state, quant_of

pytestmark = pytest.mark.django_db

URL = "/stock/adjustments/"


@pytest.fixture
def requester(make_user, site):
    return make_user("supervisor", site, username="sup-requester")


@pytest.fixture
def approver(make_user, site):
    return make_user("supervisor", site, username="sup-approver")


@pytest.fixture
def auditor(make_user, site):
    return make_user("auditor", site, username="auditor1")


@pytest.fixture
def on_shelf(item, storage, stock):
    stock(item, storage, 100)
    return storage


def big_adjustment(user, location, item, delta=-60):
    """60 units at 10.00 = 600.00, above the default approval value of 500.00: it waits."""
    return adjust_stock(
        user=user, location=location, item=item, quantity_delta=delta, reason_code="LOST", note="not found"
    )


def form(item, location, quantity, direction="remove", reason="LOST", **extra):
    return {
        "item": item.sku,
        "lot": "",
        "location": location.code,
        "stock_status": "AVAILABLE",
        "direction": direction,
        "quantity": str(quantity),
        "reason_code": reason,
        "note": "cycle count follow-up",
        **extra,
    }


def test_a_small_adjustment_applies_at_once(client, requester, item, on_shelf):
    client.force_login(requester)
    response = client.post(URL, form(item, on_shelf, 5))
    assert response.status_code == 302
    adjustment = Adjustment.objects.get()
    assert (adjustment.status, adjustment.quantity_delta, adjustment.reason_code) == ("APPLIED", -5, "LOST")
    assert quant_of(item, on_shelf) == (95, 0)
    page = client.get(URL).content.decode()
    assert adjustment.number in page and "Lost / missing" in page and "Applied" in page


def test_found_units_are_added(client, requester, item, on_shelf):
    client.force_login(requester)
    client.post(URL, form(item, on_shelf, 3, direction="add", reason="FOUND"))
    assert Adjustment.objects.get().quantity_delta == 3 and quant_of(item, on_shelf) == (103, 0)


def test_a_large_adjustment_waits_and_the_requester_is_not_offered_the_decision(client, requester, item, on_shelf):
    client.force_login(requester)
    client.post(URL, form(item, on_shelf, 60))
    adjustment = Adjustment.objects.get()
    assert adjustment.status == "PENDING_APPROVAL" and quant_of(item, on_shelf) == (100, 0)
    page = client.get(URL).content.decode()
    assert f'data-testid="pending-{adjustment.number}"' in page
    assert f'data-testid="decide-{adjustment.number}"' not in page
    assert "your request: another approver decides it" in page
    before = inventory_state()
    response = client.post(reverse("web:adjustment-decide", args=[adjustment.pk, "approve"]), follow=True)
    assert "another approver must" in response.content.decode()
    assert Adjustment.objects.get().status == "PENDING_APPROVAL" and inventory_state() == before


def test_another_supervisor_approves_and_the_stock_changes(client, requester, approver, item, on_shelf):
    adjustment = big_adjustment(requester, on_shelf, item)
    client.force_login(approver)
    page = client.get(URL).content.decode()
    assert f'data-testid="decide-{adjustment.number}"' in page and "Pending approval" in page
    response = client.post(reverse("web:adjustment-decide", args=[adjustment.pk, "approve"]), {"note": "checked"})
    assert response.status_code == 302
    adjustment.refresh_from_db()
    assert (adjustment.status, adjustment.decided_by) == ("APPLIED", approver)
    assert ApprovalRequest.objects.get(kind="ADJUSTMENT").decision_note == "checked"
    assert quant_of(item, on_shelf) == (40, 0)
    assert find_inventory_drift() == []


def test_a_rejected_adjustment_changes_no_stock(client, requester, approver, item, on_shelf):
    adjustment = big_adjustment(requester, on_shelf, item)
    client.force_login(approver)
    client.post(reverse("web:adjustment-decide", args=[adjustment.pk, "reject"]))
    adjustment.refresh_from_db()
    assert adjustment.status == "REJECTED" and quant_of(item, on_shelf) == (100, 0)
    assert f'data-testid="pending-{adjustment.number}"' not in client.get(URL).content.decode()


def test_a_refused_request_is_shown_on_the_form_and_changes_nothing(client, requester, item, on_shelf):
    client.force_login(requester)
    before = inventory_state()
    response = client.post(URL, form(item, on_shelf, 101))  # more than there is
    assert response.status_code == 400 and "cannot remove 101" in response.content.decode()
    response = client.post(URL, form(item, on_shelf, 5, reason=""))
    assert response.status_code == 400
    response = client.post(URL, {**form(item, on_shelf, 5), "location": "NOWHERE"})
    assert response.status_code == 400 and "No location NOWHERE" in response.content.decode()
    assert inventory_state() == before and not Adjustment.objects.exists()


def test_a_read_only_user_sees_no_form_or_buttons_and_is_refused(client, requester, auditor, item, on_shelf):
    adjustment = big_adjustment(requester, on_shelf, item)
    client.force_login(auditor)
    page = client.get(URL)
    body = page.content.decode()
    assert page.status_code == 200 and adjustment.number in body
    assert 'data-testid="adjustment-form"' not in body and f'data-testid="decide-{adjustment.number}"' not in body
    before = inventory_state()
    assert client.post(URL, form(item, on_shelf, 5)).status_code == 403
    client.post(reverse("web:adjustment-decide", args=[adjustment.pk, "approve"]))
    assert Adjustment.objects.get(pk=adjustment.pk).status == "PENDING_APPROVAL"
    assert inventory_state() == before and Adjustment.objects.count() == 1


def test_another_sites_adjustments_are_not_shown_and_not_found(
    client, make_user, requester, other_site, item, on_shelf
):
    adjustment = big_adjustment(requester, on_shelf, item)
    stranger = make_user("supervisor", other_site, username="sup-elsewhere")
    LocationFactory(site=other_site, code="X-01")
    client.force_login(stranger)
    assert adjustment.number not in client.get(URL).content.decode()
    assert client.post(reverse("web:adjustment-decide", args=[adjustment.pk, "approve"])).status_code == 404
    assert Adjustment.objects.get(pk=adjustment.pk).status == "PENDING_APPROVAL"


def test_the_page_shows_labels_not_raw_values(client, requester, approver, item, on_shelf):
    """The demo's pending adjustment is seen by tests/web/test_no_raw_enums.py; here every status and reason."""
    import re

    from tests.web.test_no_raw_enums import page_text, raw_values

    values = raw_values()
    values.pop("DC")  # the test site is named "Central DC"
    pattern = re.compile(
        r"(?<![\w-])(" + "|".join(sorted(map(re.escape, values), key=len, reverse=True)) + r")(?![\w-])"
    )
    adjust_stock(
        user=requester, location=on_shelf, item=item, quantity_delta=-2, reason_code="DATA_CORRECTION", note="typo"
    )
    rejected = big_adjustment(requester, on_shelf, item)
    from inventory.services import decide_adjustment

    decide_adjustment(user=approver, adjustment=rejected, approve=False)
    big_adjustment(requester, on_shelf, item, delta=-55)
    client.force_login(approver)
    text, _ = page_text(client.get(URL).content.decode())
    assert "Data correction" in text and "Rejected" in text and "Pending approval" in text
    assert pattern.findall(text) == []
