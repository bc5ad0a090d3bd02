"""The sales order's lifecycle: one state machine, its guards in one place (pure; no Django).

Every step that acts on an order — the coordinator's edits, release and cancel, the allocation engine,
wave planning and release, picking, packing and shipping — asks :func:`require` (or :func:`allowed_actions`)
with the order's status *read under the order's row lock*, so a cancelled, held or shipped order is never
acted on by a later step however the requests interleave. The API, the pages and the templates use
:func:`allowed_actions` to decide which buttons to offer.

The facts beyond the status that a guard needs are passed in a small :class:`OrderFacts`: whether any unit
was picked (a picked order can no longer be cancelled or held: the units are on the dock), whether it is on a
wave, and the site rule ``orders.cancel_waved_orders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

DRAFT = "DRAFT"
VALIDATED = "VALIDATED"
ON_HOLD = "ON_HOLD"
RELEASED = "RELEASED"
ALLOCATED = "ALLOCATED"
PARTIALLY_ALLOCATED = "PARTIALLY_ALLOCATED"
BACKORDERED = "BACKORDERED"
PICKING = "PICKING"
PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
SHIPPED = "SHIPPED"
CANCELLED = "CANCELLED"

# actions
EDIT = "edit"
VALIDATE = "validate"
RELEASE = "release"
HOLD = "hold"
RELEASE_HOLD = "release_hold"
CANCEL = "cancel"
ALLOCATE = "allocate"
WAVE = "wave"
PICK = "pick"
PACK = "pack"
SHIP = "ship"

#: statuses an allocated (or partly allocated) order passes through before any unit is picked
_ALLOCATING = (RELEASED, PARTIALLY_ALLOCATED, BACKORDERED, ALLOCATED)
_FULFILLING = (PICKING, PARTIALLY_SHIPPED)

#: what each status allows, before the facts narrow it
_BY_STATUS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({EDIT, VALIDATE, RELEASE, CANCEL}),
    VALIDATED: frozenset({EDIT, RELEASE, HOLD, CANCEL}),
    ON_HOLD: frozenset({RELEASE_HOLD, CANCEL}),
    RELEASED: frozenset({ALLOCATE, HOLD, CANCEL}),
    ALLOCATED: frozenset({ALLOCATE, WAVE, HOLD, CANCEL}),
    PARTIALLY_ALLOCATED: frozenset({ALLOCATE, WAVE, HOLD, CANCEL}),
    BACKORDERED: frozenset({ALLOCATE, WAVE, HOLD, CANCEL}),
    PICKING: frozenset({ALLOCATE, WAVE, PICK, PACK, SHIP, CANCEL}),
    PARTIALLY_SHIPPED: frozenset({ALLOCATE, WAVE, PICK, PACK, SHIP}),
    SHIPPED: frozenset(),
    CANCELLED: frozenset(),
}

_WORDS = {
    EDIT: "edited",
    VALIDATE: "validated",
    RELEASE: "released",
    HOLD: "put on hold",
    RELEASE_HOLD: "released from hold",
    CANCEL: "cancelled",
    ALLOCATE: "allocated",
    WAVE: "put on a wave",
    PICK: "picked",
    PACK: "packed",
    SHIP: "shipped",
}


@dataclass(frozen=True)
class OrderFacts:
    status: str
    picked_units: int = 0
    on_wave: bool = False
    cancel_waved_orders: bool = True


def allowed_actions(facts: OrderFacts) -> frozenset[str]:
    """The actions the order allows now."""
    allowed = set(_BY_STATUS.get(facts.status, frozenset()))
    if facts.picked_units:
        # units are on the dock: the order can no longer be withdrawn
        allowed -= {CANCEL, HOLD}
    if facts.on_wave and not facts.cancel_waved_orders:
        allowed -= {CANCEL, HOLD}
    return frozenset(allowed)


def refusal(facts: OrderFacts, action: str, number: str = "The order") -> str | None:
    """Why ``action`` is refused, in the coordinator's words, or None when it is allowed."""
    if action in allowed_actions(facts):
        return None
    word = _WORDS.get(action, action)
    status = facts.status.replace("_", " ").lower()
    if facts.status in (SHIPPED, CANCELLED):
        return f"{number} is {status}; it cannot be {word}."
    if action in (CANCEL, HOLD) and facts.picked_units:
        return f"{number} has {facts.picked_units} units picked; it cannot be {word} any more."
    if action in (CANCEL, HOLD) and facts.on_wave and not facts.cancel_waved_orders:
        return f"{number} is on a wave and this site does not take waved orders back; it cannot be {word}."
    if facts.status == ON_HOLD:
        return f"{number} is on hold; an approver must release it before it can be {word}."
    return f"{number} is {status}; it cannot be {word}."


def is_open(status: str) -> bool:
    """Released and not yet finished: allocation, waves and the warehouse may still act on it."""
    return status in _ALLOCATING or status in _FULFILLING


#: the promise a new order starts with (order entry): the next working day at the entering site. A distributor's
#: usual promise for stock orders: allocated, waved and picked today, shipped the next working day. The customer
#: record has no lead time of its own; the coordinator changes the date when the customer wants another.
DEFAULT_PROMISE_WORKING_DAYS = 1


def default_promised_date(today: date, working_days: int = DEFAULT_PROMISE_WORKING_DAYS) -> date:
    """``today`` plus ``working_days`` working days (Saturdays and Sundays skipped)."""
    day = today
    left = working_days
    while left > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day
