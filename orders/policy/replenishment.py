"""Replenishment quantities as pure functions over small dataclasses (no database, no Django).

Site reorder planning, per item and site:

- ``MIN_MAX``: the reorder point is the policy's ``min_quantity``, the order-up-to level its ``max_quantity``.
- ``REORDER_POINT``: from demand history (units shipped per day over a window, days without shipments count
  as zero), the supplier lead time ``L`` (days) and a service level ``p``:

      mean          = shipped units / window days
      sigma         = sample standard deviation of the daily shipped units
      safety stock  = z(p) * sigma * sqrt(L)                  (rounded to 0.01)
      reorder point = ceil(mean * L + safety stock), at least min_quantity
      order-up-to   = reorder point + ceil(mean * review days), at least max_quantity

Projected position = available + open purchase orders + inbound transfers - allocated - backordered (exactly
the issue's formula: units on the dock not yet put away and units promised to approved outbound transfers are
not terms of it). At or below the reorder point the site needs
``order-up-to - position`` units: first from sites holding free stock above their own order-up-to level
(TRANSFER, same region first, then the largest excess), the rest from the supplier (PURCHASE, at least the
minimum order quantity, rounded up to the pack multiple).

Pick faces: a PICK location with min/max per item is refilled from reserve storage up to its max when its
level (on hand less reserved, plus refills already on the way) is at or below its min.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache
from statistics import NormalDist

MIN_MAX = "MIN_MAX"
REORDER_POINT = "REORDER_POINT"
PURCHASE = "PURCHASE"
TRANSFER = "TRANSFER"

_CENT = Decimal("0.01")
_FOUR = Decimal("0.0001")


def _ceil(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_CEILING))


def _show(value: Decimal, places: Decimal = _FOUR) -> str:
    """A statistic as it appears in a suggestion's reason."""
    return str(value.quantize(places, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Demand:
    """Shipped units of one item at one site over ``window_days`` days: their total and the sum of the squares
    of the daily totals (enough for the mean and the standard deviation)."""

    window_days: int
    total: int = 0
    sum_of_squares: int = 0

    @property
    def mean(self) -> Decimal:
        if self.window_days <= 0:
            return Decimal(0)
        return Decimal(self.total) / Decimal(self.window_days)

    @property
    def stdev(self) -> Decimal:
        """Sample standard deviation of the daily shipped units (zero with fewer than two days)."""
        n = self.window_days
        if n < 2:
            return Decimal(0)
        variance = (Decimal(self.sum_of_squares) - Decimal(self.total) ** 2 / Decimal(n)) / Decimal(n - 1)
        return variance.sqrt() if variance > 0 else Decimal(0)

    @classmethod
    def from_daily(cls, daily: list[int], window_days: int | None = None) -> Demand:
        """From a list of daily shipped units (for tests and callers that have the days)."""
        return cls(window_days or len(daily), sum(daily), sum(d * d for d in daily))


@lru_cache(maxsize=256)
def z_score(service_level: Decimal) -> Decimal:
    """The standard normal quantile of ``service_level`` (0.95 -> 1.6449), to four places."""
    level = Decimal(service_level)
    if not Decimal("0.5") <= level < Decimal(1):
        raise ValueError("service level must be at least 0.5 and below 1")
    return Decimal(str(NormalDist().inv_cdf(float(level)))).quantize(_FOUR, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class PolicyTerms:
    method: str
    min_quantity: int = 0
    max_quantity: int = 0
    service_level: Decimal = Decimal("0.95")
    review_days: int = 7
    lead_time_days: int = 0
    pack_multiple: int = 1
    min_order_quantity: int = 0


@dataclass(frozen=True)
class Levels:
    reorder_point: int
    order_up_to: int
    why: dict


def planning_levels(terms: PolicyTerms, demand: Demand) -> Levels:
    """The reorder point and order-up-to level of one policy, with every number that went into them."""
    if terms.method == MIN_MAX:
        return Levels(
            terms.min_quantity,
            max(terms.max_quantity, terms.min_quantity),
            {"method": MIN_MAX, "min_quantity": terms.min_quantity, "max_quantity": terms.max_quantity},
        )
    if terms.method != REORDER_POINT:
        raise ValueError(f"unknown method {terms.method!r}")
    mean, sigma = demand.mean, demand.stdev
    z = z_score(terms.service_level)
    lead = terms.lead_time_days
    safety = (z * sigma * Decimal(lead).sqrt()).quantize(_CENT, rounding=ROUND_HALF_UP)
    lead_demand = mean * lead
    computed_rop = _ceil(lead_demand + safety)
    reorder_point = max(computed_rop, terms.min_quantity)
    cycle = _ceil(mean * terms.review_days)
    order_up_to = max(reorder_point + cycle, terms.max_quantity)
    return Levels(
        reorder_point,
        order_up_to,
        {
            "method": REORDER_POINT,
            "demand_window_days": demand.window_days,
            "shipped_in_window": demand.total,
            "mean_daily_demand": _show(mean),
            "stdev_daily_demand": _show(sigma),
            "service_level": str(terms.service_level),
            "z": str(z),
            "lead_time_days": lead,
            "lead_time_demand": _show(lead_demand),
            "safety_stock": str(safety),
            "computed_reorder_point": computed_rop,
            "min_quantity": terms.min_quantity,
            "review_days": terms.review_days,
            "review_period_demand": cycle,
            "max_quantity": terms.max_quantity,
        },
    )


@dataclass(frozen=True)
class Position:
    """The site's projected position of one item: available + open purchase orders + inbound transfers
    - allocated - backordered."""

    available: int = 0
    open_purchase: int = 0
    inbound_transfers: int = 0
    allocated: int = 0
    backordered: int = 0

    @property
    def projected(self) -> int:
        return self.available + self.open_purchase + self.inbound_transfers - self.allocated - self.backordered

    def as_dict(self) -> dict:
        return {
            "available": self.available,
            "open_purchase_orders": self.open_purchase,
            "inbound_transfers": self.inbound_transfers,
            "allocated": self.allocated,
            "backordered": self.backordered,
            "projected": self.projected,
            "formula": "available + open_purchase_orders + inbound_transfers - allocated - backordered",
        }


def order_quantity(need: int, *, min_order_quantity: int = 0, pack_multiple: int = 1) -> int:
    """What to buy for ``need`` units: at least the minimum order quantity, rounded up to the pack multiple."""
    if need <= 0:
        return 0
    pack = max(pack_multiple, 1)
    wanted = max(need, min_order_quantity)
    return math.ceil(wanted / pack) * pack


@dataclass(frozen=True)
class Source:
    """Another site that could give stock: ``free`` is what it holds now and owes nobody (available less
    allocated, backordered, promised to outbound transfers and to other open transfer suggestions)."""

    site_id: int
    site_code: str
    free: int
    order_up_to: int
    same_region: bool = False

    @property
    def excess(self) -> int:
        return max(self.free - self.order_up_to, 0)


@dataclass(frozen=True)
class Proposal:
    kind: str
    quantity: int
    source_site_id: int | None = None
    why: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    proposals: list[Proposal]
    reorder_point: int
    order_up_to: int
    projected: int
    need: int
    missing_supplier: bool = False


def plan_item(
    terms: PolicyTerms,
    demand: Demand,
    position: Position,
    sources: list[Source] = (),
    *,
    has_supplier: bool = True,
    levels: Levels | None = None,
) -> Plan:
    """Transfers from overstocked sites first (rebalance before buying), then a purchase for the rest. Each
    proposal's ``why`` carries every number behind it. ``levels``: already computed by the caller."""
    levels = levels or planning_levels(terms, demand)
    projected = position.projected
    if projected > levels.reorder_point:
        return Plan([], levels.reorder_point, levels.order_up_to, projected, 0)
    need = levels.order_up_to - projected
    if need <= 0:
        return Plan([], levels.reorder_point, levels.order_up_to, projected, 0)
    base = {
        **levels.why,
        "reorder_point": levels.reorder_point,
        "order_up_to": levels.order_up_to,
        "position": position.as_dict(),
        "need": need,
    }
    proposals: list[Proposal] = []
    left = need
    ranked = sorted((s for s in sources if s.excess > 0), key=lambda s: (not s.same_region, -s.excess, s.site_code))
    for source in ranked:
        if left <= 0:
            break
        take = min(source.excess, left)
        left -= take
        proposals.append(
            Proposal(
                TRANSFER,
                take,
                source.site_id,
                {
                    **base,
                    "source": {
                        "site": source.site_code,
                        "free": source.free,
                        "order_up_to": source.order_up_to,
                        "excess": source.excess,
                        "same_region": source.same_region,
                    },
                    "quantity": take,
                    "still_needed_after": left,
                },
            )
        )
    missing_supplier = False
    if left > 0:
        if has_supplier:
            quantity = order_quantity(
                left, min_order_quantity=terms.min_order_quantity, pack_multiple=terms.pack_multiple
            )
            proposals.append(
                Proposal(
                    PURCHASE,
                    quantity,
                    None,
                    {
                        **base,
                        "covered_by_transfers": need - left,
                        "to_buy": left,
                        "min_order_quantity": terms.min_order_quantity,
                        "pack_multiple": terms.pack_multiple,
                        "quantity": quantity,
                    },
                )
            )
        else:
            missing_supplier = True
    return Plan(proposals, levels.reorder_point, levels.order_up_to, projected, need, missing_supplier)


def pick_face_refill(*, on_hand: int, reserved: int, incoming: int, min_quantity: int, max_quantity: int) -> int:
    """Units to bring to a pick face: up to its max when its level (on hand less what pick tasks reserved,
    plus open refills) is at or below its min; otherwise none."""
    level = on_hand - reserved + incoming
    if level > min_quantity:
        return 0
    return max(max_quantity - level, 0)
