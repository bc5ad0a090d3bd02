"""The sales order's state machine (orders/policy/lifecycle.py): pure, no database."""

import pytest

from orders.policy import lifecycle as lc
from orders.policy.lifecycle import OrderFacts, allowed_actions, is_open, refusal


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("DRAFT", {lc.EDIT, lc.VALIDATE, lc.RELEASE, lc.CANCEL}),
        ("VALIDATED", {lc.EDIT, lc.RELEASE, lc.HOLD, lc.CANCEL}),
        ("ON_HOLD", {lc.RELEASE_HOLD, lc.CANCEL}),
        ("RELEASED", {lc.ALLOCATE, lc.HOLD, lc.CANCEL}),
        ("ALLOCATED", {lc.ALLOCATE, lc.WAVE, lc.HOLD, lc.CANCEL}),
        ("PICKING", {lc.ALLOCATE, lc.WAVE, lc.PICK, lc.PACK, lc.SHIP, lc.CANCEL}),
        ("PARTIALLY_SHIPPED", {lc.ALLOCATE, lc.WAVE, lc.PICK, lc.PACK, lc.SHIP}),
        ("SHIPPED", set()),
        ("CANCELLED", set()),
        ("NO_SUCH_STATUS", set()),
    ],
)
def test_each_status_allows_its_actions(status, allowed):
    assert allowed_actions(OrderFacts(status=status)) == allowed


def test_a_cancelled_or_shipped_order_is_never_waved_picked_packed_or_shipped():
    for status in ("CANCELLED", "SHIPPED"):
        for action in (lc.WAVE, lc.PICK, lc.PACK, lc.SHIP, lc.ALLOCATE, lc.CANCEL):
            assert refusal(OrderFacts(status=status), action, "SO-1") == (
                f"SO-1 is {status.lower()}; it cannot be {lc._WORDS[action]}."
            )


def test_a_held_order_is_not_waved_or_picked_until_released_from_hold():
    facts = OrderFacts(status="ON_HOLD")
    assert "an approver must release it" in refusal(facts, lc.WAVE, "SO-2")
    assert refusal(facts, lc.PICK) is not None and refusal(facts, lc.CANCEL) is None


def test_picked_units_end_cancel_and_hold_but_not_fulfilment():
    facts = OrderFacts(status="PICKING", picked_units=3)
    assert lc.CANCEL not in allowed_actions(facts)
    assert refusal(facts, lc.CANCEL, "SO-3") == "SO-3 has 3 units picked; it cannot be cancelled any more."
    assert {lc.PICK, lc.PACK, lc.SHIP} <= allowed_actions(facts)
    assert lc.CANCEL in allowed_actions(OrderFacts(status="PICKING", picked_units=0))


def test_the_site_rule_decides_whether_a_waved_order_can_be_withdrawn():
    kept = OrderFacts(status="ALLOCATED", on_wave=True, cancel_waved_orders=False)
    assert not {lc.CANCEL, lc.HOLD} & allowed_actions(kept)
    assert "does not take waved orders back" in refusal(kept, lc.HOLD, "SO-4")
    taken = OrderFacts(status="ALLOCATED", on_wave=True, cancel_waved_orders=True)
    assert {lc.CANCEL, lc.HOLD} <= allowed_actions(taken)
    # off a wave the rule does not matter
    assert lc.CANCEL in allowed_actions(OrderFacts(status="ALLOCATED", cancel_waved_orders=False))


def test_open_means_released_and_not_finished():
    assert [s for s in lc._BY_STATUS if is_open(s)] == [
        "RELEASED",
        "ALLOCATED",
        "PARTIALLY_ALLOCATED",
        "BACKORDERED",
        "PICKING",
        "PARTIALLY_SHIPPED",
    ]
