"""A bulk acknowledge in a real Chromium (issue 15): a supervisor ticks every exception of the list with the header
checkbox, untick one, acknowledges the rest at once and reads what was done and what was refused. Screenshots in
test-artifacts/<test>/."""

from __future__ import annotations

import pytest

from governance.models import ExceptionCase
from governance.services import open_exception
from tests.factories import LocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_supervisor_acknowledges_exceptions_in_bulk(open_page, log_in, make_user, site):
    boss = make_user("supervisor", site, username="bulk-boss")
    cases = [
        open_exception(
            site=site, code="LATE_RECEIPT", subject=LocationFactory(site=site, code=f"D-{n}"), summary=f"PO {n} late"
        )[0]
        for n in range(4)
    ]
    page = open_page()
    log_in(page, boss.username)
    page.goto("/exceptions/")
    page.wait_for_selector("[data-testid=bulk-exceptions]")
    page.check("input[data-select-all=bulk-exceptions]")
    assert page.locator("input[data-row-select]:checked").count() == 4
    kept = cases[3]
    page.uncheck(f"input[data-row-select][value='{kept.pk}']")
    page.shot("three-ticked")
    page.click("[data-testid=bulk-acknowledge]")
    page.wait_for_selector("text=3 exceptions acknowledged.")
    page.shot("acknowledged")
    statuses = dict(ExceptionCase.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in cases] == ["ACKNOWLEDGED", "ACKNOWLEDGED", "ACKNOWLEDGED", "OPEN"]
    table = page.inner_text("[data-testid=exception-list]")
    assert table.count("Acknowledged") == 3 and "ACKNOWLEDGED" not in table

    # the same again with the one left open: three are refused by the service, one is done, all reported
    page.check("input[data-select-all=bulk-exceptions]")
    page.click("[data-testid=bulk-acknowledge]")
    page.wait_for_selector("text=1 exception acknowledged.")
    assert "3 not acknowledged" in page.inner_text("body")
    page.shot("refusals-reported")
    assert ExceptionCase.objects.filter(status="ACKNOWLEDGED").count() == 4
