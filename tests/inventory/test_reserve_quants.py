"""reserve_quants: inventory's one writer of StockQuant.reserved for pick, refill and transfer tasks."""

import pytest
from django.db import transaction

from core.errors import InsufficientStock
from inventory.models import StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import reserve_quants

pytestmark = pytest.mark.django_db


@pytest.fixture
def quants(item, storage, storage2, stock):
    stock(item, storage, 10)
    stock(item, storage2, 4, status="HOLD")
    return StockQuant.objects.get(location=storage), StockQuant.objects.get(location=storage2)


def reserved(quant):
    quant.refresh_from_db()
    return quant.reserved


def test_claims_and_gives_back_many_quants_at_once(quants):
    free, _ = quants
    with transaction.atomic():
        reserve_quants({free.pk: 6})
    assert reserved(free) == 6
    with transaction.atomic():
        reserve_quants({free.pk: -2, 999_999_999: 0})  # zero deltas are skipped, even of unknown quants
    assert reserved(free) == 4 and find_inventory_drift() == []


def test_never_more_than_is_free_and_all_or_nothing(quants):
    free, held = quants
    with transaction.atomic():
        reserve_quants({free.pk: 8})
    with pytest.raises(InsufficientStock, match="Only 2 free"):
        with transaction.atomic():
            reserve_quants({free.pk: 3})
    with pytest.raises(InsufficientStock, match="Only AVAILABLE"):
        with transaction.atomic():
            reserve_quants({free.pk: -1, held.pk: 1})  # the give-back is rolled back with the refusal
    assert reserved(free) == 8 and reserved(held) == 0


def test_never_gives_back_more_than_is_reserved_and_refuses_unknown_quants(quants):
    free, _ = quants
    with transaction.atomic():
        reserve_quants({free.pk: 1})
    with pytest.raises(InsufficientStock, match="Only 1 reserved"):
        with transaction.atomic():
            reserve_quants({free.pk: -2})
    with pytest.raises(InsufficientStock, match="no longer exists"):
        with transaction.atomic():
            reserve_quants({999_999_999: 1})
    assert reserved(free) == 1


def test_runs_only_inside_the_callers_transaction(quants):
    free, _ = quants
    from django.db import connection

    # pytest-django's test transaction counts as one; outside any, the call refuses
    assert connection.in_atomic_block
    connection.in_atomic_block, was = False, connection.in_atomic_block
    try:
        with pytest.raises(RuntimeError, match="inside the caller's transaction"):
            reserve_quants({free.pk: 1})
    finally:
        connection.in_atomic_block = was
