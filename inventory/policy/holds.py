"""Holding stock (quality, investigation, lot recall) and releasing it: the reason codes and which units of a set of
quants may go on hold. Pure: no Django.

A unit goes on HOLD in place (a STATUS move). Only *free* units can: units reserved by a pick, refill or transfer
task stay AVAILABLE until the task is confirmed or cancelled (holding them would take the task's stock away from
under it), and AVAILABLE units the site's orders are allocated against stay too (the ledger keeps
``allocated <= available`` per item and site). Both are reported, never silently skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

#: why stock goes on hold (StockMove.reason_code of the STATUS move)
HOLD_REASONS: dict[str, str] = {
    "QUALITY": "Quality check",
    "INVESTIGATION": "Investigation",
    "RECALL": "Lot recall",
    "DAMAGE_CHECK": "Suspected damage",
    "EXPIRY_CHECK": "Expiry check",
}
#: why held stock is released back to AVAILABLE
RELEASE_REASONS: dict[str, str] = {
    "QUALITY_OK": "Passed quality check",
    "INVESTIGATION_CLOSED": "Investigation closed",
    "RECALL_LIFTED": "Recall lifted",
    "DAMAGE_CLEARED": "Not damaged after all",
}
#: why stock is moved bin to bin (StockMove.reason_code of the MOVE)
MOVE_REASONS: dict[str, str] = {
    "CONSOLIDATE": "Consolidate bins",
    "RESLOT": "Re-slot",
    "TO_QUALITY": "To the quality area",
    "FROM_QUALITY": "Back from the quality area",
    "DAMAGED_BIN": "Damaged bin",
    "OTHER": "Other",
}

#: the statuses a hold takes units from (what a recall puts on hold)
HOLDABLE = ("AVAILABLE", "RECEIVED")
#: the statuses stock may be put in by a hold, and released from
HELD = ("HOLD", "DAMAGED")
#: staging last: units picked for an order are the last ones a partial hold takes
LAST_KINDS = ("STAGING",)


@dataclass(frozen=True)
class QuantState:
    """One locked quant as the plan sees it."""

    quant_id: int
    location_id: int
    location_kind: str
    status: str
    quantity: int
    reserved: int


@dataclass(frozen=True)
class HoldLine:
    quant_id: int
    quantity: int


@dataclass
class HoldPlan:
    """What to hold at one site: ``lines`` (quant, units), and what stays where it is and why."""

    lines: list[HoldLine] = field(default_factory=list)
    #: units of AVAILABLE quants reserved by tasks: quant id -> units
    reserved: dict[int, int] = field(default_factory=dict)
    #: free AVAILABLE units the site's order allocations need (not held)
    allocated: int = 0

    @property
    def held(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def reserved_total(self) -> int:
        return sum(self.reserved.values())


def plan_holds(quants: Iterable[QuantState], *, headroom: int, wanted: int | None = None) -> HoldPlan:
    """Hold the free units of ``quants`` (AVAILABLE or RECEIVED), RECEIVED first, then AVAILABLE in primary-key
    order with staging last, at most ``wanted`` in all (None: every free unit). ``headroom`` is how many AVAILABLE
    units the site can lose without leaving less available than allocated (stock level available - allocated);
    AVAILABLE units beyond it stay, counted in ``allocated``. RECEIVED units are not allocated and need none."""
    plan = HoldPlan()
    room = max(headroom, 0)
    left = wanted
    ordered = sorted(
        (q for q in quants if q.status in HOLDABLE and q.quantity > 0),
        key=lambda q: (q.status != "RECEIVED", q.location_kind in LAST_KINDS, q.quant_id),
    )
    for q in ordered:
        if q.status == "AVAILABLE" and q.reserved:
            plan.reserved[q.quant_id] = q.reserved
        free = q.quantity - q.reserved
        if free <= 0:
            continue
        take = free if left is None else min(free, left)
        if q.status == "AVAILABLE":
            allowed = min(take, room)
            plan.allocated += take - allowed
            room -= allowed
            take = allowed
        if take > 0:
            plan.lines.append(HoldLine(q.quant_id, take))
            if left is not None:
                left -= take
                if left == 0:
                    break
    if wanted is not None:
        plan.allocated = min(plan.allocated, wanted - plan.held)
    return plan
