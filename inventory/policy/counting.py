"""Cycle counting policy as pure functions: which locations to count today, when a variance needs a
recount, when it needs approval, and how a variance becomes moves between statuses."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

#: the order classes rank in: a location is as important as the most important item it holds
CLASS_ORDER = ("A", "B", "C")


@dataclass(frozen=True)
class LocationDue:
    """A location that holds stock, with the highest ABC class among its items and when it was last counted."""

    location_id: int
    abc_class: str
    last_counted_at: datetime | None


def daily_quota(locations: int, frequency_days: int) -> int:
    """How many locations of a class to count each day so that all of them are counted within the frequency:
    the work is spread evenly over the days instead of everything falling due at once."""
    if locations <= 0:
        return 0
    return math.ceil(locations / max(frequency_days, 1))


def _staleness_key(location: LocationDue) -> tuple:
    # never counted first, then the longest ago; the id keeps the choice deterministic
    counted = location.last_counted_at
    return (counted is not None, counted.timestamp() if counted else 0.0, location.location_id)


def choose_scheduled(
    locations: Iterable[LocationDue], frequency_days: Mapping[str, int], *, exclude: Iterable[int] = ()
) -> list[int]:
    """The locations to count today by ABC schedule: per class, its daily quota of the least recently counted
    locations. ``exclude`` (counted today for another reason, or already waiting in an open count) is left out
    of the choice but still counts towards the size of its class."""
    skip = set(exclude)
    by_class: dict[str, list[LocationDue]] = {c: [] for c in CLASS_ORDER}
    for location in locations:
        by_class.setdefault(location.abc_class, []).append(location)
    chosen: list[int] = []
    for abc in CLASS_ORDER:
        members = by_class.get(abc, [])
        quota = daily_quota(len(members), frequency_days[abc])
        candidates = sorted((m for m in members if m.location_id not in skip), key=_staleness_key)
        chosen.extend(m.location_id for m in candidates[:quota])
    return chosen


def location_class(classes: Iterable[str]) -> str:
    """The class a location is counted by: the highest (A before B before C) among the items it holds."""
    present = set(classes)
    for abc in CLASS_ORDER:
        if abc in present:
            return abc
    return CLASS_ORDER[-1]


def beyond_tolerance(*, expected: int, counted: int, tolerance_percent: Decimal) -> bool:
    """A count differs beyond tolerance when |counted - expected| is more than the percentage of the expected
    quantity. Anything found where nothing was expected is beyond any tolerance."""
    variance = abs(counted - expected)
    if variance == 0:
        return False
    return Decimal(variance) * 100 > Decimal(tolerance_percent) * expected


def variance_value(variance: int, unit_cost: Decimal) -> Decimal:
    return (abs(variance) * Decimal(unit_cost)).quantize(Decimal("0.01"))


def needs_approval(value: Decimal, threshold: Decimal) -> bool:
    """A variance worth more than the site's threshold is posted only after approval."""
    return value > threshold


#: a loss is taken first from stock already in doubt, last from available stock (which orders may claim)
LOSS_ORDER = ("HOLD", "DAMAGED", "RECEIVED", "AVAILABLE")


@dataclass(frozen=True)
class Balance:
    status: str
    quantity: int
    reserved: int


def split_loss(loss: int, balances: Iterable[Balance]) -> list[tuple[str, int]]:
    """Which statuses a counted loss of ``loss`` units comes out of: (status, units) in ``LOSS_ORDER``, from
    free (unreserved) units only. Raises ValueError when the free units do not cover the loss."""
    free = {b.status: b.quantity - b.reserved for b in balances}
    remaining = loss
    taken: list[tuple[str, int]] = []
    for status in LOSS_ORDER:
        units = min(max(free.get(status, 0), 0), remaining)
        if units:
            taken.append((status, units))
            remaining -= units
        if not remaining:
            return taken
    raise ValueError(remaining)


def gain_status(location_kind: str) -> str:
    """The status units found in excess get: what the location holds by its kind."""
    return {"QUALITY": "HOLD", "DAMAGED": "DAMAGED", "RECEIVING": "RECEIVED"}.get(location_kind, "AVAILABLE")
