"""verify_inventory / find_inventory_drift read one snapshot (issue 11, finding 6): its checks are several
statements, and under READ COMMITTED a move committed between two of them showed as drift under load."""

import threading

import pytest
from django.db import connection, connections

from inventory import selectors
from inventory.models import StockMove
from inventory.selectors import find_inventory_drift

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_checks_run_in_one_repeatable_read_snapshot_blind_to_moves_committed_meanwhile(
    item, storage, stock, monkeypatch
):
    stock(item, storage, 10)
    seen = {}

    def receive_elsewhere():
        try:
            stock(item, storage, 5)  # its own connection, its own committed transaction
        finally:
            connections.close_all()

    def probe():
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            seen["isolation"] = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM inventory_stockmove")
            seen["before"] = cursor.fetchone()[0]
            worker = threading.Thread(target=receive_elsewhere)
            worker.start()
            worker.join()
            cursor.execute("SELECT count(*) FROM inventory_stockmove")
            seen["after"] = cursor.fetchone()[0]
        return []

    monkeypatch.setattr(selectors, "EXTRA_CHECKS", [*selectors.EXTRA_CHECKS, probe])
    assert find_inventory_drift() == []
    assert seen["isolation"] == "repeatable read"
    assert seen["before"] == seen["after"] == 1  # the receipt committed meanwhile is not in the snapshot
    assert StockMove.objects.count() == 2 and find_inventory_drift() == []
