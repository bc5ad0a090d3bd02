"""Keyboard shortcuts on the busiest pages, in a real Chromium (issue 15): "?" lists what works on the page, "g e"
goes to the exceptions, "/" puts the cursor in the list's filter, "v" validates the order on its page, and nothing
fires while typing in a field. Screenshots in test-artifacts/<test>/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import SalesOrder
from orders.services import create_order
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_shortcuts_list_navigate_search_and_act_but_never_while_typing(open_page, log_in, make_user, site, item):
    user = make_user(["coordinator", "supervisor"], site, username="keys-boss")
    customer = CustomerFactory(code="KEYS", home_site=site)
    order = create_order(
        user=user,
        customer=customer,
        promised_date=timezone.localdate() + timedelta(days=3),
        lines=[{"item": item.sku, "quantity": 2}],
    )
    page = open_page()
    log_in(page, user.username)
    page.goto("/orders/")
    page.keyboard.press("?")
    page.wait_for_selector("[data-testid=shortcut-help]")
    help_text = page.inner_text("[data-testid=shortcut-help]")
    assert "g e" in help_text and "Exceptions" in help_text and "New order" in help_text
    page.shot("shortcut-help")
    page.keyboard.press("Escape")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.name") == "q"  # the list's first filter (Number)
    page.keyboard.type("ge")  # typed into the field: no navigation
    assert page.url.endswith("/orders/")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("g")
    page.keyboard.press("e")
    page.wait_for_url("**/exceptions/")
    page.goto(f"/orders/{order.number}/")
    page.keyboard.press("v")
    page.wait_for_selector("text=validated")
    page.shot("validated-by-key")
    order.refresh_from_db()
    assert order.status == SalesOrder.Status.VALIDATED
