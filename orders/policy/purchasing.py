"""Pure policies of purchasing: how much may be received against a line, and a PO's status after a receipt."""

from __future__ import annotations

from decimal import Decimal


def over_receipt_limit(ordered: int, tolerance_percent: Decimal) -> int:
    """The most units that may be received against ``ordered`` without approval."""
    return int(ordered + (Decimal(ordered) * tolerance_percent / 100).to_integral_value(rounding="ROUND_FLOOR"))


def status_after_receipt(*, complete: bool, final: bool) -> str:
    """A purchase order whose lines are all received (or rejected) is RECEIVED; a final delivery that leaves
    something open closes it; otherwise it stays PARTIALLY_RECEIVED."""
    if complete:
        return "RECEIVED"
    return "CLOSED" if final else "PARTIALLY_RECEIVED"
