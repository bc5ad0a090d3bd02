"""A returned line split between dispositions (issue 15): 4 units of one RMA line come back as 3 good units
restocked and 1 damaged unit scrapped. Each part goes its own way through the ledger and is recorded as a
ReturnDisposition; the line keeps the totals; the parts together never exceed what was authorized."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from inventory.models import StockMove, StockQuant
from inventory.selectors import find_inventory_drift
from orders.models import ReturnDisposition
from orders.services.returns import ReturnOutcome, line_summary
from tests.orders.test_returns import boss, floor, receiver, rma_for, shipped, snapshot  # noqa: F401  (fixtures)
from warehouse.models import PutawayTask
from warehouse.services.returns import receive_return

pytestmark = pytest.mark.django_db

RESTOCK = {"quantity": 3, "inspection": "GOOD", "disposition": "RESTOCK"}
SCRAP = {"quantity": 1, "inspection": "DAMAGED", "disposition": "SCRAP", "note": "crushed corner"}


def split(rma, user, *parts):
    line = rma.lines.get()
    return receive_return(user=user, rma=rma, lines=[{"line": line, **part} for part in parts])


def test_a_line_split_between_restock_and_scrap_goes_both_ways(boss, receiver, item, floor, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])
    rma = split(rma_for(order, boss, 4), receiver, RESTOCK, SCRAP)

    line = rma.lines.get()
    assert (line.received_quantity, line.disposition, line.inspection) == (4, "", "DAMAGED")
    assert (line.scrap_value, line.credit_amount) == (Decimal("10.00"), Decimal("50.00"))
    parts = sorted(line.dispositions.values_list("disposition", "inspection", "quantity", "scrap_value", "note"))
    assert parts == [
        ("RESTOCK", "GOOD", 3, Decimal("0.00"), ""),
        ("SCRAP", "DAMAGED", 1, Decimal("10.00"), "crushed corner"),
    ]
    (task,) = PutawayTask.objects.filter(status="OPEN")
    assert (task.quantity, task.from_location) == (3, floor["dock"])
    (scrap,) = StockMove.objects.filter(kind="SCRAP")
    assert (scrap.quantity, scrap.to_location.kind) == (1, "SCRAP")
    assert StockQuant.objects.get(item=item, location=floor["dock"], status="RECEIVED").quantity == 3
    assert (rma.status, rma.credit_amount) == ("RECEIVED", Decimal("50.00"))
    assert find_inventory_drift() == []


def test_an_unsplit_line_has_one_part(boss, receiver, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])
    rma = split(rma_for(order, boss, 3), receiver, RESTOCK)
    line = rma.lines.get()
    assert (line.disposition, line.inspection) == ("RESTOCK", "GOOD")
    assert list(line.dispositions.values_list("disposition", "quantity")) == [("RESTOCK", 3)]


def test_parts_together_never_exceed_what_was_authorized_and_change_nothing(boss, receiver, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 3)
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        split(rma, receiver, RESTOCK, SCRAP)  # 3 + 1 of 3 authorized
    assert [e["field"] for e in refused.value.errors] == ["lines[1].quantity"]
    assert "3 authorized; 4 cannot be received" in refused.value.message
    assert snapshot() == before and not ReturnDisposition.objects.exists()


def test_the_same_part_twice_is_refused(boss, receiver, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 4)
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        split(rma, receiver, {**RESTOCK, "quantity": 2}, {**RESTOCK, "quantity": 2})
    assert [e["code"] for e in refused.value.errors] == ["duplicate"]
    assert snapshot() == before


def test_a_refused_part_refuses_the_whole_line(boss, receiver, item, shipped):  # noqa: F811
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 4)
    before = snapshot()
    with pytest.raises(ValidationFailed) as refused:
        split(rma, receiver, RESTOCK, {**SCRAP, "disposition": "RESTOCK"})  # a damaged unit back to stock
    assert [e["field"] for e in refused.value.errors] == ["lines[1].disposition"]
    assert snapshot() == before and not ReturnDisposition.objects.exists()


def _outcome(quantity, inspection, disposition, lot="", scrap=0, note=""):
    return ReturnOutcome(
        line=None,
        quantity=quantity,
        lot_number=lot,
        inspection=inspection,
        inspection_note=note,
        disposition=disposition,
        scrap_value=scrap,
    )


def test_line_summary_keeps_what_the_parts_agree_on():
    same = line_summary([_outcome(2, "GOOD", "RESTOCK", "L1"), _outcome(1, "GOOD", "RESTOCK", "L1")])
    assert (same["received_quantity"], same["disposition"], same["inspection"], same["lot_number"]) == (
        3,
        "RESTOCK",
        "GOOD",
        "L1",
    )
    mixed = line_summary(
        [
            _outcome(2, "GOOD", "RESTOCK", "L1"),
            _outcome(1, "DEFECTIVE", "QUARANTINE", "L2", note="rattles"),
            _outcome(1, "DAMAGED", "SCRAP", "L2", scrap="4.00", note="dented"),
            _outcome(0, "", ""),
        ]
    )
    assert (mixed["received_quantity"], mixed["disposition"], mixed["inspection"], mixed["lot_number"]) == (
        4,
        "",
        "DAMAGED",
        "",
    )
    assert (mixed["scrap_value"], mixed["inspection_note"]) == (Decimal("4.00"), "rattles; dented")
    nothing = line_summary([_outcome(0, "", "")])
    assert (nothing["received_quantity"], nothing["disposition"], nothing["inspection"]) == (0, "", "")


@pytest.mark.django_db(transaction=True)
def test_a_split_receipt_commits_all_its_parts_in_one_transaction(
    boss,  # noqa: F811
    receiver,  # noqa: F811
    item,
    floor,  # noqa: F811
    shipped,  # noqa: F811
    settings,
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    order = shipped([("WIDGET", 10, "12.50")])
    rma = rma_for(order, boss, 4)
    before = snapshot()
    with pytest.raises(ValidationFailed):
        split(rma, receiver, RESTOCK, {**SCRAP, "quantity": 2})  # 5 of 4: nothing is kept
    assert snapshot() == before and not ReturnDisposition.objects.exists()
    split(rma, receiver, RESTOCK, SCRAP)
    assert sorted(ReturnDisposition.objects.values_list("disposition", "quantity")) == [("RESTOCK", 3), ("SCRAP", 1)]
    assert StockMove.objects.filter(kind="SCRAP").count() == 1
    assert find_inventory_drift() == []
