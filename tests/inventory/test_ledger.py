"""The ledger engine (post_moves): allocated within available, append-only moves, the stock_available signal
after commit, and locks taken in a fixed order before any write."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core.errors import InsufficientStock, ValidationFailed
from inventory.models import StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from inventory.services import (
    MoveLine,
    change_allocated,
    change_status,
    move_stock,
    post_moves,
    receive_stock,
    reserve_stock,
    virtual_location,
)
from inventory.signals import stock_available
from tests.factories import ItemFactory

from .helpers import inventory_state, level_of, quant_of

pytestmark = pytest.mark.django_db


def _ship_line(item, location, quantity, site):
    return MoveLine(item.pk, None, quantity, location, "AVAILABLE", virtual_location(site.pk, "CUSTOMER"), "")


# --- allocated never above available ---------------------------------------------------------------------------


def test_a_shipment_may_consume_its_allocation(site, item, storage, stock):
    stock(item, storage, 10)
    with transaction.atomic():
        change_allocated(deltas={(item.pk, site.pk): 6})
    post_moves(
        lines=[_ship_line(item, storage, 6, site)],
        kind="SHIP",
        user=None,
        allocated_deltas={(item.pk, site.pk): -6},
    )
    assert level_of(item, site)["available"] == 4
    assert level_of(item, site)["allocated"] == 0
    assert find_inventory_drift() == []


def test_a_move_that_would_leave_less_available_than_allocated_is_refused(site, item, storage, stock):
    stock(item, storage, 10)
    with transaction.atomic():
        change_allocated(deltas={(item.pk, site.pk): 8})
    before = inventory_state()
    with pytest.raises(InsufficientStock, match="allocated"):
        post_moves(lines=[_ship_line(item, storage, 3, site)], kind="SHIP", user=None)
    with pytest.raises(InsufficientStock, match="allocated"):
        change_status(
            user=None,
            item=item,
            location=storage,
            quantity=3,
            from_status="AVAILABLE",
            to_status="HOLD",
            check_permission=False,
        )
    assert inventory_state() == before


def test_allocating_more_than_available_through_post_moves_is_refused(site, item, storage, stock):
    stock(item, storage, 10)
    before = inventory_state()
    with pytest.raises(InsufficientStock, match="allocated"):
        post_moves(
            lines=[_ship_line(item, storage, 3, site)],
            kind="SHIP",
            user=None,
            allocated_deltas={(item.pk, site.pk): 8},
        )
    assert inventory_state() == before
    post_moves(
        lines=[_ship_line(item, storage, 3, site)], kind="SHIP", user=None, allocated_deltas={(item.pk, site.pk): 7}
    )
    assert (level_of(item, site)["available"], level_of(item, site)["allocated"]) == (7, 7)


def test_releasing_more_allocation_than_exists_is_refused(site, item, storage, stock):
    stock(item, storage, 10)
    before = inventory_state()
    with pytest.raises(InsufficientStock):
        post_moves(
            lines=[_ship_line(item, storage, 1, site)],
            kind="SHIP",
            user=None,
            allocated_deltas={(item.pk, site.pk): -1},
        )
    assert inventory_state() == before


# --- the engine's own checks ------------------------------------------------------------------------------------


def test_several_lines_post_as_one_all_or_nothing_batch(site, item, storage, storage2, stock):
    stock(item, storage, 10)
    before = inventory_state()
    good = MoveLine(item.pk, None, 4, storage, "AVAILABLE", storage2, "AVAILABLE")
    too_much = MoveLine(item.pk, None, 7, storage, "AVAILABLE", storage2, "HOLD")  # 4 + 7 > 10
    with pytest.raises(InsufficientStock):
        post_moves(lines=[good, too_much], kind="MOVE", user=None)
    assert inventory_state() == before

    back = MoveLine(item.pk, None, 4, storage2, "AVAILABLE", storage, "AVAILABLE")
    moves = post_moves(lines=[good, back], kind="MOVE", user=None, reference="SWAP-1")  # nets to nothing
    assert [m.reference for m in moves] == ["SWAP-1", "SWAP-1"]
    assert quant_of(item, storage) == (10, 0)
    assert quant_of(item, storage2) == (0, 0)
    assert find_inventory_drift() == []


def test_an_unknown_move_kind_is_refused(item, storage, stock):
    stock(item, storage, 10)
    before = inventory_state()
    with pytest.raises(ValidationFailed):
        post_moves(
            lines=[MoveLine(item.pk, None, 1, storage, "AVAILABLE", storage, "HOLD")], kind="TELEPORT", user=None
        )
    assert inventory_state() == before


@pytest.mark.parametrize("quantity", [0, -3, 2.5, True, 1_000_000_001])
def test_the_engine_refuses_a_line_without_a_positive_whole_quantity(item, storage, storage2, stock, quantity):
    stock(item, storage, 10)
    before = inventory_state()
    with pytest.raises(ValidationFailed):
        post_moves(
            lines=[MoveLine(item.pk, None, quantity, storage, "AVAILABLE", storage2, "AVAILABLE")],
            kind="MOVE",
            user=None,
        )
    assert inventory_state() == before


def test_the_engine_refuses_a_status_on_a_virtual_end_and_none_on_a_physical_one(site, item, storage, stock):
    stock(item, storage, 10)
    supplier = virtual_location(site.pk, "SUPPLIER")
    before = inventory_state()
    with pytest.raises(ValidationFailed):
        post_moves(
            lines=[MoveLine(item.pk, None, 1, supplier, "AVAILABLE", storage, "AVAILABLE")], kind="RECEIPT", user=None
        )
    with pytest.raises(ValidationFailed):
        post_moves(lines=[MoveLine(item.pk, None, 1, supplier, "", storage, "")], kind="RECEIPT", user=None)
    with pytest.raises(ValidationFailed, match="IN_TRANSIT"):
        post_moves(
            lines=[MoveLine(item.pk, None, 1, storage, "AVAILABLE", storage, "IN_TRANSIT")], kind="STATUS", user=None
        )
    assert inventory_state() == before


# --- the ledger is append-only ----------------------------------------------------------------------------------


def test_a_ledger_move_is_never_updated_or_deleted(item, storage, stock):
    move = stock(item, storage, 10)
    move.quantity = 11
    with pytest.raises(RuntimeError, match="append-only"):
        move.save()
    with pytest.raises(RuntimeError, match="append-only"):
        move.delete()
    fresh = StockMove.objects.get(pk=move.pk)
    assert fresh.quantity == 10
    assert find_inventory_drift() == []


def test_a_mistake_is_corrected_by_a_reversing_move(supervisor, site, item, storage, storage2, stock):
    stock(item, storage, 10)
    move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=4)
    move_stock(user=supervisor, item=item, from_location=storage2, to_location=storage, quantity=4, reason_code="UNDO")
    assert StockMove.objects.count() == 3
    assert quant_of(item, storage) == (10, 0)


# --- stock_available: in the posting transaction (receivers write outbox rows), only when AVAILABLE grew ---------


@pytest.fixture
def signals():
    received: list[dict] = []

    def receiver(sender, site_id, item_ids, **kwargs):
        received.append({"site_id": site_id, "item_ids": item_ids})

    stock_available.connect(receiver, dispatch_uid="test-ledger-signal")
    yield received
    stock_available.disconnect(dispatch_uid="test-ledger-signal")


def test_stock_available_is_sent_in_the_transaction_when_available_stock_grows(
    supervisor, site, item, storage, signals
):
    other = ItemFactory(sku="GADGET")
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            receive_stock(user=supervisor, item=item, location=storage, quantity=5, status="AVAILABLE")
            assert signals == [{"site_id": site.pk, "item_ids": [item.pk]}]  # before commit: receivers write in it
            raise ZeroDivisionError("the business transaction fails")
    signals.clear()
    receive_stock(user=supervisor, item=item, location=storage, quantity=5, status="AVAILABLE")
    receive_stock(user=supervisor, item=other, location=storage, quantity=5, status="AVAILABLE")
    assert signals == [{"site_id": site.pk, "item_ids": [item.pk]}, {"site_id": site.pk, "item_ids": [other.pk]}]


def test_stock_available_is_sent_when_held_stock_is_released(
    supervisor, site, item, storage, stock, signals, django_capture_on_commit_callbacks
):
    stock(item, storage, 5, status="HOLD")
    with django_capture_on_commit_callbacks(execute=True):
        change_status(
            user=supervisor, item=item, location=storage, quantity=5, from_status="HOLD", to_status="AVAILABLE"
        )
    assert signals == [{"site_id": site.pk, "item_ids": [item.pk]}]


def test_stock_available_is_not_sent_when_available_stock_did_not_grow(
    supervisor, item, storage, storage2, stock, signals, django_capture_on_commit_callbacks
):
    stock(item, storage, 10)
    signals.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        receive_stock(user=supervisor, item=item, location=storage, quantity=5)  # RECEIVED
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=3)
        change_status(
            user=supervisor, item=item, location=storage, quantity=2, from_status="AVAILABLE", to_status="HOLD"
        )
        with pytest.raises(InsufficientStock):
            move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=99)
    assert callbacks == []
    assert signals == []


def test_a_refused_receipt_sends_nothing(supervisor, item, storage, signals, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationFailed):
            receive_stock(user=supervisor, item=item, location=storage, quantity=0, status="AVAILABLE")
    assert callbacks == [] and signals == []


# --- locks before writes, levels before quants, each in primary-key order --------------------------------------


def _first(queries: list[str], pattern: str) -> int:
    for index, sql in enumerate(queries):
        if re.search(pattern, sql):
            return index
    raise AssertionError(f"no query matches {pattern!r}:\n" + "\n".join(queries))


LOCK_LEVELS = r'FROM "inventory_stocklevel".*ORDER BY "inventory_stocklevel"\."id" ASC.*FOR NO KEY UPDATE'
LOCK_QUANTS = r'FROM "inventory_stockquant".*ORDER BY "inventory_stockquant"\."id" ASC.*FOR NO KEY UPDATE'
UPDATE_LEVELS = r'^UPDATE "inventory_stocklevel"'
UPDATE_QUANTS = r'^UPDATE "inventory_stockquant"'
INSERT_MOVES = r'^INSERT INTO "inventory_stockmove"'


def test_post_moves_locks_levels_then_quants_in_pk_order_before_writing(supervisor, item, storage, storage2, stock):
    stock(item, storage, 10)
    stock(item, storage2, 10)
    with CaptureQueriesContext(connection) as ctx:
        move_stock(user=supervisor, item=item, from_location=storage, to_location=storage2, quantity=3)
    queries = [q["sql"] for q in ctx.captured_queries]

    lock_levels = _first(queries, LOCK_LEVELS)
    lock_quants = _first(queries, LOCK_QUANTS)
    assert lock_levels < lock_quants < _first(queries, UPDATE_QUANTS)
    assert lock_quants < _first(queries, UPDATE_LEVELS)
    assert lock_quants < _first(queries, INSERT_MOVES)
    # no write to a balance row happens before its lock
    assert not any(re.search(UPDATE_QUANTS + "|" + UPDATE_LEVELS, sql) for sql in queries[:lock_quants])


def test_reserve_locks_the_quant_before_updating_it(supervisor, item, storage, stock):
    stock(item, storage, 10)
    quant = StockQuant.objects.get(item=item, location=storage)
    with CaptureQueriesContext(connection) as ctx:
        reserve_stock(user=supervisor, quant=quant, quantity=2)
    queries = [q["sql"] for q in ctx.captured_queries]
    assert _first(queries, LOCK_QUANTS) < _first(queries, UPDATE_QUANTS)
