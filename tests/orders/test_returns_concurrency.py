"""RMAs for the same shipped line created at once, on real PostgreSQL threads: never more than shipped minus
already returned is authorized, whichever transaction wins; the losers change nothing."""

from __future__ import annotations

import pytest

from core.errors import RuleViolation
from orders.models import ReturnAuthorization, ReturnLine
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.orders.test_returns import boss, floor, rma_for, shipped  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _try(order, user, quantity):
    try:
        return rma_for(order, user, quantity).number
    except RuleViolation:
        return None


def test_two_rmas_at_once_for_the_same_line_never_exceed_what_was_shipped(boss, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])

    results, errors = run_threads(lambda: _try(order, boss, 6), [()] * 2)

    assert errors == []
    assert sum(1 for r in results if r) == 1  # 6 + 6 > 10: exactly one is authorized
    assert ReturnAuthorization.objects.count() == 1 and ReturnLine.objects.get().quantity == 6


def test_many_rmas_at_once_authorize_exactly_the_returnable_units(boss, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])

    results, errors = run_threads(lambda: _try(order, boss, 3), [()] * 6)

    assert errors == []
    assert sum(1 for r in results if r) == 3  # 3 x 3 = 9 of 10; a fourth would make 12
    assert sum(ReturnLine.objects.values_list("quantity", flat=True)) == 9
    assert len({r for r in results if r}) == 3  # three distinct RMA numbers
    with pytest.raises(RuleViolation, match="at most 1"):
        rma_for(order, boss, 2)
