"""Hold and release stock (quality, investigation) and recall a lot: STATUS moves through the ledger.

Who: supervisors and admins of the site (``inventory.hold``); operators may still change status inside the
flows that do it for them (short picks, inspections), not put stock on hold at will.

Lock order, as the ledger's (``inventory.services.ledger``): the item's stock levels of the sites acted at, in
primary-key order, then every quant of the item at those sites in primary-key order, then the ledger post (which
finds them locked already). No document is locked, so a pick, refill or shipment confirmation running at the same
time (documents, then levels, then quants) queues behind the hold or the hold behind it, never a deadlock.

What a hold does not take (``inventory.policy.holds``): units reserved by tasks and units the site's order
allocations need stay AVAILABLE and are reported, so a reservation or an allocation is never corrupted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.db import atomic_with_retry, lock_rows
from core.errors import InsufficientStock, PermissionDenied, StateConflict
from core.validation import field_error, positive_quantity
from governance import permissions
from governance.models import Site
from governance.services.lifecycle import frozen_sites, refuse_frozen
from inventory.models import InventoryStatus, Item, Location, Lot, StockMove, StockQuant
from inventory.policy.holds import HELD, HOLD_REASONS, RELEASE_REASONS, HoldPlan, QuantState, plan_holds

from .ledger import MoveLine, lock_levels, post_moves
from .stock import _require_lot, _require_stock_location, change_status

S = InventoryStatus
HOLD_ACTION = "inventory.hold"
RECALL_REASON = "RECALL"

#: held units whose release a higher app's document owns: ``source(item, location, lot, status)`` answers
#: ``(units, what)`` — e.g. warehouse's units on HOLD at a dock waiting for their receipt line's inspection, which
#: releases them and creates their putaway (``release_stock`` leaves those units to it)
ReleaseOwner = Callable[[Item, Location, "Lot | None", str], tuple[int, str]]
_RELEASE_OWNERS: list[ReleaseOwner] = []


def register_release_owner(source: ReleaseOwner) -> None:
    """Filled by a higher app in its ``AppConfig.ready()`` (inventory imports no higher app)."""
    if source not in _RELEASE_OWNERS:
        _RELEASE_OWNERS.append(source)


@dataclass(frozen=True)
class HeldUnits:
    location: str
    from_status: str
    quantity: int

    @property
    def from_label(self) -> str:
        return S(self.from_status).label


@dataclass
class SiteHold:
    """What a hold or recall did at one site."""

    site: str
    site_id: int
    held: list[HeldUnits] = field(default_factory=list)
    #: location code -> units reserved by tasks, left AVAILABLE
    reserved_not_held: dict[str, int] = field(default_factory=dict)
    #: free AVAILABLE units left because orders are allocated against them
    allocated_not_held: int = 0
    #: units of the lot on HOLD there before this recall
    already_held: int = 0
    #: units not held at all because the user may not act there or the site is frozen (``refused`` says why)
    not_held: int = 0
    refused: str = ""

    @property
    def held_total(self) -> int:
        return sum(h.quantity for h in self.held)

    @property
    def reserved_total(self) -> int:
        return sum(self.reserved_not_held.values())


@dataclass
class HoldResult:
    item: Item
    lot: Lot | None
    reason_code: str
    note: str
    sites: list[SiteHold] = field(default_factory=list)
    moves: list[StockMove] = field(default_factory=list)
    #: sites the user cannot see that hold stock of the lot (not named: they are not the user's to see)
    unseen_sites: int = 0

    @property
    def held_total(self) -> int:
        return sum(s.held_total for s in self.sites)

    @property
    def reserved_total(self) -> int:
        return sum(s.reserved_total for s in self.sites)

    @property
    def allocated_total(self) -> int:
        return sum(s.allocated_not_held for s in self.sites)

    @property
    def not_held_total(self) -> int:
        return sum(s.not_held for s in self.sites)


def _reason(code: str, choices: dict[str, str], field_name: str = "reason_code") -> str:
    if code not in choices:
        raise field_error(field_name, f"Choose a reason: {', '.join(choices)}.", "invalid_choice")
    return code


def _lock_site_stock(item: Item, site_ids: list[int], *, lot: Lot | None, location: Location | None = None):
    """Lock the item's levels at ``site_ids``, then every quant of the item there (pk order, as the ledger); return
    the levels and the locked quants of ``lot`` (at ``location``) with their locations."""
    levels = lock_levels([(item.pk, s) for s in site_ids], create=False)
    quants = lock_rows(StockQuant.objects.filter(item=item, site_id__in=sorted(site_ids)))
    mine = [
        q
        for q in quants
        if q.lot_id == (lot.pk if lot else None) and (location is None or q.location_id == location.pk)
    ]
    locations = Location.objects.in_bulk({q.location_id for q in mine})
    for q in mine:
        q.location = locations[q.location_id]
    return levels, mine


def _plan_site(item: Item, site_id: int, levels, quants, *, wanted: int | None) -> HoldPlan:
    level = levels.get((item.pk, site_id))
    headroom = (level.available - level.allocated) if level else 0
    states = [
        QuantState(q.pk, q.location_id, q.location.kind, q.status, q.quantity, q.reserved)
        for q in quants
        if q.site_id == site_id and q.location.holds_stock
    ]
    return plan_holds(states, headroom=headroom, wanted=wanted)


def _lines(plan: HoldPlan, quants_by_id: dict[int, StockQuant], to_status: str, note: str) -> list[MoveLine]:
    out = []
    for line in plan.lines:
        q = quants_by_id[line.quant_id]
        out.append(MoveLine(q.item_id, q.lot_id, line.quantity, q.location, q.status, q.location, to_status, note=note))
    return out


def _site_report(site: Site, plan: HoldPlan, quants_by_id: dict[int, StockQuant]) -> SiteHold:
    report = SiteHold(site=site.code, site_id=site.pk, allocated_not_held=plan.allocated)
    for line in plan.lines:
        q = quants_by_id[line.quant_id]
        report.held.append(HeldUnits(q.location.code, q.status, line.quantity))
    for quant_id, units in plan.reserved.items():
        code = quants_by_id[quant_id].location.code
        report.reserved_not_held[code] = report.reserved_not_held.get(code, 0) + units
    return report


@atomic_with_retry
def hold_stock(
    *,
    user,
    item: Item,
    site: Site,
    reason_code: str,
    lot: Lot | None = None,
    location: Location | None = None,
    quantity: int | None = None,
    to_status: str = S.HOLD,
    note: str = "",
) -> HoldResult:
    """Put ``quantity`` free units (None: every free unit) of ``item`` (``lot``) at ``site`` (at ``location``, or
    at any of its locations) on HOLD — or DAMAGED — in place. Units reserved by tasks and units order allocations
    need are not taken: asking for more than can be held is refused (InsufficientStock, saying how many are
    reserved and allocated) and nothing changes."""
    permissions.require(user, HOLD_ACTION, site, what="site")
    _reason(reason_code, HOLD_REASONS)
    _require_lot(item, lot)
    if to_status not in HELD:
        raise field_error("to_status", f"Stock is put on {' or '.join(HELD)}.", "invalid_status")
    if location is not None:
        if location.site_id != site.pk:
            raise field_error("location", f"{location.code} is not a location of {site.code}.", "other_site")
        _require_stock_location(location, "location")
    if quantity is not None:
        positive_quantity(quantity)
    refuse_frozen([site.pk])
    levels, quants = _lock_site_stock(item, [site.pk], lot=lot, location=location)
    plan = _plan_site(item, site.pk, levels, quants, wanted=quantity)
    where = f"{item.sku}{f' lot {lot.number}' if lot else ''} at {location.code if location else site.code}"
    if plan.held == 0 or (quantity is not None and plan.held < quantity):
        raise InsufficientStock(
            f"Only {plan.held} of {where} can go on hold now: {plan.reserved_total} are reserved by open tasks "
            f"and {plan.allocated} are needed by order allocations (release those first).",
            field="quantity",
        )
    by_id = {q.pk: q for q in quants}
    moves = post_moves(
        lines=_lines(plan, by_id, to_status, note),
        kind=StockMove.Kind.STATUS,
        user=user,
        reason_code=reason_code,
        note=note,
        reference=f"HOLD {reason_code}",
    )
    result = HoldResult(item=item, lot=lot, reason_code=reason_code, note=note, moves=moves)
    result.sites.append(_site_report(site, plan, by_id))
    return result


@atomic_with_retry
def release_stock(
    *,
    user,
    item: Item,
    location: Location,
    quantity: int,
    reason_code: str,
    lot: Lot | None = None,
    from_status: str = S.HOLD,
    note: str = "",
) -> StockMove:
    """Release held (or damaged) units at ``location`` (supervisors and admins): back to AVAILABLE, or to RECEIVED at
    a receiving dock (they were held there by a hold: a putaway task puts them away).

    Units whose release another document owns (``register_release_owner``: units waiting for their receipt line's
    inspection) are not released here: asking for more than the other held units is refused, naming the document
    that releases them, and nothing changes."""
    permissions.require(user, HOLD_ACTION, location.site_id, what="location")
    _reason(reason_code, RELEASE_REASONS)
    if from_status not in HELD:
        raise field_error("from_status", f"Only {' or '.join(HELD)} stock is released.", "invalid_status")
    if _RELEASE_OWNERS:
        # the held quant locked first (levels, then quants: the ledger's order), so the owners' reads are not
        # overtaken by an inspection committing meanwhile on a unit counted as free here
        _lock_site_stock(item, [location.site_id], lot=lot, location=location)
        _refuse_owned_units(item=item, location=location, lot=lot, status=from_status, quantity=quantity)
    return change_status(
        user=user,
        item=item,
        location=location,
        quantity=quantity,
        from_status=from_status,
        to_status=S.RECEIVED if location.kind == Location.Kind.RECEIVING else S.AVAILABLE,
        lot=lot,
        reason_code=reason_code,
        note=note,
        reference=f"RELEASE {reason_code}",
        check_permission=False,
    )


def _refuse_owned_units(*, item: Item, location: Location, lot: Lot | None, status: str, quantity: int) -> None:
    owned = [(units, what) for units, what in (source(item, location, lot, status) for source in _RELEASE_OWNERS)]
    owned_units = sum(units for units, _ in owned if units > 0)
    if not owned_units:
        return
    quant = StockQuant.objects.filter(item=item, location=location, lot=lot, status=status).first()
    free = (quant.quantity - quant.reserved) if quant else 0
    others = max(free - owned_units, 0)
    if quantity > others:
        whats = "; ".join(what for units, what in owned if units > 0)
        state = "on hold" if status == S.HOLD else S(status).label.lower()
        raise StateConflict(
            f"{owned_units} of the {free} units of {item.sku} {state} at {location.code} are released by {whats}: "
            f"release them there (it also creates their putaway). {others} other units {state} can be released here."
        )


@atomic_with_retry
def recall_lot(*, user, item: Item, lot: Lot, reason: str) -> HoldResult:
    """Put every free AVAILABLE and RECEIVED unit of ``lot`` on HOLD at every site the user may hold stock at, in
    one transaction, and report per site what was held where, what stays (reserved by tasks, needed by order
    allocations, at a site the user may not act at or in its cutover freeze) and what was on hold already.

    A site where the user may not hold stock (or frozen) is not refused outright: the lot is held where allowed and
    that site is reported with the units left there. Sites the user cannot see are only counted. Recalling again
    holds what has become free since (nothing more when nothing changed)."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error("reason", "Say why the lot is recalled.", "required")
    if not item.lot_tracked:
        raise field_error("item", f"{item.sku} is not lot tracked; a recall names a lot.", "lot_not_tracked")
    _require_lot(item, lot)
    stock_sites = sorted(
        set(
            StockQuant.objects.filter(item=item, lot=lot, quantity__gt=0, location__kind__in=_PHYSICAL).values_list(
                "site_id", flat=True
            )
        )
    )
    seen = [s for s in stock_sites if permissions.can_see_site(user, s)]
    result = HoldResult(
        item=item, lot=lot, reason_code=RECALL_REASON, note=reason, unseen_sites=len(stock_sites) - len(seen)
    )
    if permissions.site_ids_for(user, HOLD_ACTION) == set():
        raise PermissionDenied("Only supervisors and admins of a site recall lots there.")
    sites = Site.objects.in_bulk(seen)
    frozen = {s.pk for s in frozen_sites(seen)}
    acting = [s for s in seen if permissions.can(user, HOLD_ACTION, s) and s not in frozen]
    levels, quants = _lock_site_stock(item, acting, lot=lot)
    by_id = {q.pk: q for q in quants}
    lines: list[MoveLine] = []
    for site_id in seen:
        site = sites[site_id]
        if site_id not in acting:
            left = StockQuant.objects.filter(
                item=item, lot=lot, site_id=site_id, status__in=[S.AVAILABLE, S.RECEIVED], location__kind__in=_PHYSICAL
            ).values_list("quantity", flat=True)
            report = SiteHold(site=site.code, site_id=site_id, not_held=sum(left))
            report.refused = (
                f"{site.code} is in its cutover freeze."
                if site_id in frozen
                else f"Your role at {site.code} does not allow holding stock (admins and supervisors)."
            )
        else:
            plan = _plan_site(item, site_id, levels, quants, wanted=None)
            lines += _lines(plan, by_id, S.HOLD, reason)
            report = _site_report(site, plan, by_id)
        report.already_held = sum(
            StockQuant.objects.filter(item=item, lot=lot, site_id=site_id, status=S.HOLD).values_list(
                "quantity", flat=True
            )
        )
        result.sites.append(report)
    if lines:
        result.moves = post_moves(
            lines=lines,
            kind=StockMove.Kind.STATUS,
            user=user,
            reason_code=RECALL_REASON,
            note=reason,
            reference=f"RECALL {item.sku}/{lot.number}"[:40],
        )
    return result


_PHYSICAL = [k for k in Location.Kind.values if k not in Location.VIRTUAL_KINDS]


__all__ = [
    "HOLD_ACTION",
    "HoldResult",
    "SiteHold",
    "hold_stock",
    "recall_lot",
    "register_release_owner",
    "release_stock",
]
