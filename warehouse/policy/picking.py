"""Wave planning and pick-location choice, as pure functions over plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

KIND_RANK = {"PICK": 0, "STORAGE": 1}


@dataclass(frozen=True)
class Candidate:
    """An open allocation that could go into a wave (with its order's header fields)."""

    allocation_id: int
    order_id: int
    line_id: int
    quantity: int
    priority: int
    promised_date: date
    released_at: datetime
    carrier: str = ""
    route: str = ""
    cutoff: datetime | None = None


def _urgency(c: Candidate) -> tuple:
    # an order with a ship-by cutoff goes before one without, earlier cutoffs first
    return (
        c.priority,
        c.cutoff is None,
        c.cutoff.timestamp() if c.cutoff else 0.0,
        c.promised_date,
        c.released_at,
        c.order_id,
    )


def plan_wave(
    candidates: list[Candidate],
    *,
    max_orders: int,
    max_lines: int,
    max_priority: int | None = None,
    promised_by: date | None = None,
    carrier: str = "",
    route: str = "",
    cutoff_before: datetime | None = None,
) -> list[Candidate]:
    """Choose whole orders for a wave: most urgent first (priority, ship-by cutoff, promised date, release
    time), within the order and line limits. Filters narrow by priority, promised date, carrier and route
    (exact codes) and cutoff (orders that must ship at or before ``cutoff_before``; orders without a cutoff
    are left out when that filter is given)."""
    pool = [
        c
        for c in candidates
        if (max_priority is None or c.priority <= max_priority)
        and (promised_by is None or c.promised_date <= promised_by)
        and (not carrier or c.carrier == carrier)
        and (not route or c.route == route)
        and (cutoff_before is None or (c.cutoff is not None and c.cutoff <= cutoff_before))
    ]
    by_order: dict[int, list[Candidate]] = {}
    for c in pool:
        by_order.setdefault(c.order_id, []).append(c)
    ordered = sorted(by_order.values(), key=lambda cs: _urgency(cs[0]))
    chosen: list[Candidate] = []
    orders = 0
    for group in ordered:
        if orders >= max_orders or len(chosen) + len(group) > max_lines:
            continue
        chosen.extend(sorted(group, key=lambda c: c.line_id))
        orders += 1
    return chosen


def wave_cutoff(chosen: list[Candidate], cutoff_before: datetime | None = None) -> datetime | None:
    """The wave's ship-by time: the earliest cutoff of its orders, else the cutoff filter it was planned with."""
    cutoffs = [c.cutoff for c in chosen if c.cutoff is not None]
    return min(cutoffs) if cutoffs else cutoff_before


def effective_min_shelf_life(site_days: int | None, customer_days: int | None) -> int:
    """The stricter (larger) of the site's and the customer's minimum remaining shelf life, in days."""
    return max(int(site_days or 0), int(customer_days or 0))


@dataclass(frozen=True)
class QuantInfo:
    id: int
    location_id: int
    location_code: str
    location_kind: str
    zone: str
    aisle: str
    lot_id: int | None
    expiry: date | None
    free: int  # quantity less reserved


@dataclass(frozen=True)
class PickPlan:
    picks: list[tuple[int, int]]  # (quant id, quantity)
    shortfall: int
    skipped: list[str]  # why quants were not used (expired, short shelf life)


def choose_picks(quantity: int, quants: list[QuantInfo], *, today: date, min_shelf_life_days: int) -> PickPlan:
    """Pick faces before reserve storage, FEFO for lots (never an expired lot, nor one with less remaining
    shelf life than the minimum), fewest locations (a quant covering the rest wins), then walk order."""
    skipped = []
    usable = []
    for q in quants:
        if q.free <= 0 or q.location_kind not in KIND_RANK:
            continue
        if q.expiry is not None:
            if q.expiry <= today:
                skipped.append(f"lot at {q.location_code} expired {q.expiry}")
                continue
            if (q.expiry - today).days < min_shelf_life_days:
                skipped.append(f"lot at {q.location_code} has {(q.expiry - today).days} days of shelf life left")
                continue
        usable.append(q)
    left = quantity
    picks: list[tuple[int, int]] = []
    free = {q.id: q.free for q in usable}
    while left > 0:
        options = [q for q in usable if free[q.id] > 0]
        if not options:
            break
        best = min(
            options,
            key=lambda q: (
                q.expiry or date.max,
                KIND_RANK[q.location_kind],
                0 if free[q.id] >= left else 1,
                q.zone,
                q.aisle,
                q.location_code,
            ),
        )
        take = min(free[best.id], left)
        picks.append((best.id, take))
        free[best.id] -= take
        left -= take
    return PickPlan(picks, left, skipped)


def walk_order(stops: list[tuple[str, str, str]]) -> list[int]:
    """Indexes of (zone, aisle, location code) stops in walking order."""
    return sorted(range(len(stops)), key=lambda i: stops[i])
