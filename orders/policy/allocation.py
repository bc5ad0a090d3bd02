"""The allocation policy: a pure function over plain values (no Django, no database).

Enterprise rules, applied order by order in priority sequence:

1. orders are served by priority tier, then promised date, then release time;
2. a line with a ship-from site is filled only there;
3. otherwise prefer ONE site that can fill the whole order — the customer's home site first, then sites of
   the same region, then the others — to avoid split shipments;
4. otherwise split across sites if the customer and the site rules allow it, fewest sites first (each step
   takes the site that fills the most of what is left);
5. what cannot be filled is backordered if the customer allows backorders, else the line waits unallocated
   (and the service opens an exception).

Substitutes: when the ordered item cannot fill a line and the customer allows substitution, approved
substitutes are used in order of preference, at the same site.

Every result carries the rule that chose it and a sentence saying why.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime

# rules recorded with each decision
SHIP_FROM = "SHIP_FROM"
HOME_SITE = "SINGLE_SITE_HOME"
REGION_SITE = "SINGLE_SITE_REGION"
OTHER_SITE = "SINGLE_SITE_OTHER"
SPLIT = "SPLIT"
PARTIAL = "PARTIAL_SINGLE_SITE"
BACKORDER = "BACKORDER"
WAIT = "WAIT_NO_BACKORDER"


@dataclass(frozen=True)
class SiteInfo:
    id: int
    code: str
    region: str
    allow_split: bool = True


@dataclass(frozen=True)
class LineDemand:
    line_id: int
    item_id: int
    quantity: int  # still to allocate, base units
    ship_from_site_id: int | None = None
    substitutes: tuple[int, ...] = ()  # in order of preference


@dataclass(frozen=True)
class OrderDemand:
    order_id: int
    priority: int
    promised_date: date
    released_at: datetime
    lines: tuple[LineDemand, ...]
    home_site_id: int | None = None
    region: str = ""
    allow_split: bool = True
    allow_backorders: bool = True
    allow_substitution: bool = False


@dataclass(frozen=True)
class Allocated:
    order_id: int
    line_id: int
    site_id: int
    item_id: int
    quantity: int
    rule: str
    reason: str
    is_substitute: bool = False


@dataclass(frozen=True)
class Unfilled:
    order_id: int
    line_id: int
    item_id: int
    quantity: int
    rule: str  # BACKORDER or WAIT
    reason: str


@dataclass
class AllocationPlan:
    allocations: list[Allocated] = field(default_factory=list)
    unfilled: list[Unfilled] = field(default_factory=list)
    notes: list[tuple[int, str, str]] = field(default_factory=list)  # (order_id, rule, message) order-level

    def allocated_to(self, line_id: int) -> int:
        return sum(a.quantity for a in self.allocations if a.line_id == line_id)


def order_sequence(orders: list[OrderDemand]) -> list[OrderDemand]:
    """Rule 1: priority tier (1 first), then the earliest promise, then the earliest release."""
    return sorted(orders, key=lambda o: (o.priority, o.promised_date, o.released_at, o.order_id))


def site_preference(order: OrderDemand, sites: list[SiteInfo]) -> list[tuple[SiteInfo, str]]:
    """Sites in the order rule 3 tries them, each with the rule name that choosing it would record."""
    home = next((s for s in sites if s.id == order.home_site_id), None)
    region = order.region or (home.region if home else "")
    ranked: list[tuple[SiteInfo, str]] = []
    if home:
        ranked.append((home, HOME_SITE))
    ranked += [
        (s, REGION_SITE) for s in sorted(sites, key=lambda s: s.code) if s is not home and region and s.region == region
    ]
    ranked += [
        (s, OTHER_SITE)
        for s in sorted(sites, key=lambda s: s.code)
        if s is not home and not (region and s.region == region)
    ]
    return ranked


def _candidates(line: LineDemand, order: OrderDemand) -> list[tuple[int, bool]]:
    items = [(line.item_id, False)]
    if order.allow_substitution:
        items += [(sub, True) for sub in line.substitutes if sub != line.item_id]
    return items


def _fillable(line: LineDemand, order: OrderDemand, site_id: int, free: dict[tuple[int, int], int]) -> int:
    return min(line.quantity, sum(max(free.get((item, site_id), 0), 0) for item, _ in _candidates(line, order)))


def _take(
    line: LineDemand,
    order: OrderDemand,
    site: SiteInfo,
    want: int,
    free: dict[tuple[int, int], int],
    rule: str,
    reason: str,
    plan: AllocationPlan,
) -> int:
    """Claim up to ``want`` units for ``line`` at ``site``: the ordered item first, then substitutes."""
    taken = 0
    for item, is_sub in _candidates(line, order):
        if taken >= want:
            break
        have = max(free.get((item, site.id), 0), 0)
        qty = min(have, want - taken)
        if qty <= 0:
            continue
        free[(item, site.id)] = have - qty
        why = reason
        if is_sub:
            why = f"{reason} Filled with approved substitute (item {item}) because the ordered item is short."
        plan.allocations.append(Allocated(order.order_id, line.line_id, site.id, item, qty, rule, why, is_sub))
        taken += qty
    return taken


def allocate(orders: list[OrderDemand], sites: list[SiteInfo], free: dict[tuple[int, int], int]) -> AllocationPlan:
    """Plan allocations for ``orders`` against ``free`` stock ((item_id, site_id) -> units available and not
    yet allocated). ``free`` is not modified; the plan says what to claim and what is left unfilled."""
    free = dict(free)
    plan = AllocationPlan()
    by_id = {s.id: s for s in sites}
    for order in order_sequence(orders):
        remaining: dict[int, int] = {}
        pinned = [line for line in order.lines if line.ship_from_site_id is not None and line.quantity > 0]
        open_lines = [line for line in order.lines if line.ship_from_site_id is None and line.quantity > 0]

        # Rule 2: ship-from lines are filled only at their site.
        for line in pinned:
            site = by_id.get(line.ship_from_site_id)
            got = 0
            if site is not None:
                got = _take(
                    line, order, site, line.quantity, free, SHIP_FROM, f"The line must ship from {site.code}.", plan
                )
            remaining[line.line_id] = line.quantity - got

        if open_lines:
            ranked = site_preference(order, sites)
            # Rule 3: one site that fills the whole order, ordered item first, then with substitutes.
            chosen = None
            for use_subs in (False, True) if order.allow_substitution else (False,):
                probe = order if use_subs else _without_subs(order)
                for site, rule in ranked:
                    if all(_fillable(line, probe, site.id, free) >= line.quantity for line in open_lines):
                        chosen = (site, rule, probe)
                        break
                if chosen:
                    break
            if chosen:
                site, rule, probe = chosen
                why = {
                    HOME_SITE: f"{site.code} is the customer's home site and can fill the whole order.",
                    REGION_SITE: f"{site.code} is in the customer's region and can fill the whole order "
                    f"(the home site cannot).",
                    OTHER_SITE: f"{site.code} can fill the whole order; no site nearer the customer can.",
                }[rule]
                for line in open_lines:
                    _take(line, probe, site, line.quantity, free, rule, why, plan)
                    remaining[line.line_id] = 0
            else:
                split_sites = [(s, r) for s, r in ranked if s.allow_split]
                if order.allow_split and len(split_sites) > 1:
                    # Rule 4: split across the fewest sites. Choose them greedily (each step the site that
                    # fills the most of what is left, on a scratch copy of the stock), then claim from the
                    # chosen sites in preference order, so the home site gives as much as it can.
                    scratch = dict(free)
                    left = {line.line_id: line.quantity for line in open_lines}
                    chosen_ids: set[int] = set()
                    while any(left.values()):
                        best = None
                        for site, _ in split_sites:
                            if site.id in chosen_ids:
                                continue
                            units = sum(
                                min(left[line.line_id], _fillable(line, order, site.id, scratch)) for line in open_lines
                            )
                            if units > 0 and (best is None or units > best[1]):
                                best = (site, units)
                        if best is None:
                            break
                        chosen_ids.add(best[0].id)
                        for line in open_lines:
                            if left[line.line_id]:
                                left[line.line_id] -= _take(
                                    line, order, best[0], left[line.line_id], scratch, SPLIT, "", AllocationPlan()
                                )
                    used = [site for site, _ in split_sites if site.id in chosen_ids]
                    codes = ", ".join(site.code for site in used)
                    left = {line.line_id: line.quantity for line in open_lines}
                    for site in used:
                        for line in open_lines:
                            if left[line.line_id]:
                                left[line.line_id] -= _take(
                                    line,
                                    order,
                                    site,
                                    left[line.line_id],
                                    free,
                                    SPLIT,
                                    f"No single site can fill the whole order; split across the fewest sites "
                                    f"({codes}), nearest first.",
                                    plan,
                                )
                    if len(used) > 1:
                        plan.notes.append(
                            (order.order_id, SPLIT, f"Split across {codes}: no single site could fill the whole order.")
                        )
                    remaining.update(left)
                else:
                    # No split allowed: take what the best single site has.
                    best = None
                    for site, _ in ranked:
                        units = sum(_fillable(line, order, site.id, free) for line in open_lines)
                        if units > 0 and (best is None or units > best[1]):
                            best = (site, units)
                    reason = (
                        "the customer does not accept split shipments"
                        if not order.allow_split
                        else "the site rules do not allow split shipments"
                    )
                    for line in open_lines:
                        got = 0
                        if best:
                            got = _take(
                                line,
                                order,
                                best[0],
                                line.quantity,
                                free,
                                PARTIAL,
                                f"No single site can fill the whole order and {reason}; {best[0].code} has the most.",
                                plan,
                            )
                        remaining[line.line_id] = line.quantity - got

        # Rule 5: what is left is backordered, or waits when the customer takes no backorders.
        for line in order.lines:
            left = remaining.get(line.line_id, 0)
            if left <= 0:
                continue
            if order.allow_backorders:
                plan.unfilled.append(
                    Unfilled(
                        order.order_id,
                        line.line_id,
                        line.item_id,
                        left,
                        BACKORDER,
                        f"{left} backordered: not enough free stock where the line may ship "
                        f"from; filled automatically when stock arrives.",
                    )
                )
            else:
                plan.unfilled.append(
                    Unfilled(
                        order.order_id,
                        line.line_id,
                        line.item_id,
                        left,
                        WAIT,
                        f"{left} cannot be filled now and the customer accepts no "
                        f"backorders; the line waits unallocated.",
                    )
                )
    return plan


def _without_subs(order: OrderDemand) -> OrderDemand:
    if not order.allow_substitution:
        return order
    return replace(order, allow_substitution=False)


def free_after(plan: AllocationPlan, free: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    """The free stock left once ``plan`` is applied (for checks and tests)."""
    out = defaultdict(int, free)
    for a in plan.allocations:
        out[(a.item_id, a.site_id)] -= a.quantity
    return dict(out)
