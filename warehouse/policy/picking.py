"""Wave planning and pick-location choice, as pure functions over plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

KIND_RANK = {"PICK": 0, "STORAGE": 1}


@dataclass(frozen=True)
class Candidate:
    """An open allocation that could go into a wave."""

    allocation_id: int
    order_id: int
    line_id: int
    quantity: int
    priority: int
    promised_date: date
    released_at: datetime
    carrier: str = ""


def plan_wave(
    candidates: list[Candidate],
    *,
    max_orders: int,
    max_lines: int,
    max_priority: int | None = None,
    promised_by: date | None = None,
    carrier: str = "",
) -> list[Candidate]:
    """Choose whole orders for a wave: most urgent first (priority, promised date, release time), within the
    order and line limits; filters narrow by priority, promised date and carrier."""
    pool = [
        c
        for c in candidates
        if (max_priority is None or c.priority <= max_priority)
        and (promised_by is None or c.promised_date <= promised_by)
        and (not carrier or not c.carrier or c.carrier == carrier)
    ]
    by_order: dict[int, list[Candidate]] = {}
    for c in pool:
        by_order.setdefault(c.order_id, []).append(c)
    ordered = sorted(
        by_order.values(), key=lambda cs: (cs[0].priority, cs[0].promised_date, cs[0].released_at, cs[0].order_id)
    )
    chosen: list[Candidate] = []
    orders = 0
    for group in ordered:
        if orders >= max_orders or len(chosen) + len(group) > max_lines:
            continue
        chosen.extend(sorted(group, key=lambda c: c.line_id))
        orders += 1
    return chosen


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
