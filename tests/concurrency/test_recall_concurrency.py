"""A lot recall racing the floor on real PostgreSQL: a pick confirmation of the same lot, a hold of the same bin and a
second recall. Whatever the order, nothing goes negative, no reservation is taken by the hold and the ledger and
the balances agree (find_inventory_drift)."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from inventory.models import StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services.holds import hold_stock, recall_lot
from tests.concurrency.test_allocation_concurrency import run_threads
from tests.factories import SiteFactory, UserFactory
from tests.warehouse.recall_floor import make_recall_floor
from warehouse.models import PickTask
from warehouse.services import confirm_pick

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def floor():
    site = SiteFactory(code="DC1", region="EAST")
    other = SiteFactory(code="DC2", region="WEST")
    boss = UserFactory(username="race-boss")
    return make_recall_floor(site, other, boss) | {"boss": boss, "site": site}


def _lot_units(floor, status):
    return (
        StockQuant.objects.filter(item=floor["item"], lot=floor["lot"], status=status).aggregate(n=Sum("quantity"))["n"]
        or 0
    )


def test_a_recall_racing_a_pick_confirmation_of_the_lot_neither_corrupts_the_other(floor):
    boss, task = floor["boss"], floor["open_task"]

    def pick():
        return confirm_pick(user=boss, task=task, quantity=4, location_code="B-01", lot_number="L-RECALL")

    def recall():
        return recall_lot(user=boss, item=floor["item"], lot=floor["lot"], reason="race")

    results, errors = run_threads(lambda fn: fn(), [(pick,), (recall,)])

    assert errors == []
    task.refresh_from_db()
    assert task.status == PickTask.Status.PICKED and task.picked_quantity == 4
    assert results[1].held_total == 41 + 30  # every free unit; the picked 4 stay with their order either way
    assert _lot_units(floor, "HOLD") == 71
    assert not StockQuant.objects.filter(quantity__lt=0).exists()
    assert not StockQuant.objects.filter(reserved__gt=0, status="HOLD").exists()
    assert find_inventory_drift() == []


def test_two_recalls_and_a_hold_at_once_hold_each_unit_once(floor):
    boss = floor["boss"]

    def recall():
        return recall_lot(user=boss, item=floor["item"], lot=floor["lot"], reason="twice")

    def hold():
        try:
            return hold_stock(
                user=boss, item=floor["item"], site=floor["site"], lot=floor["lot"], quantity=10, reason_code="QUALITY"
            )
        except Exception as exc:  # the recall may have held everything first: a clean refusal
            return exc

    results, errors = run_threads(lambda fn: fn(), [(recall,), (recall,), (hold,)])

    assert errors == []
    assert _lot_units(floor, "HOLD") == 71
    held_by_recalls = results[0].held_total + results[1].held_total
    held_by_hold = results[2].held_total if hasattr(results[2], "held_total") else 0
    assert held_by_recalls + held_by_hold == 71
    assert find_inventory_drift() == []
