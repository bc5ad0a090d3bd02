"""Cycle counts: create, count blind, recount beyond tolerance, post variances as COUNT moves (after approval
by someone who did not count when the value is above the site's threshold).

Blind counting: the expected quantity is the system's quantity read under lock at the moment a count is
entered (so moves between creating the count and counting it never show as variances), stored on the line,
and never returned to the people who count (see :func:`may_see_expected`).

Lock order, the same everywhere: cycle count -> its lines -> stock levels -> stock quants (the ledger's own
order for the last two).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import atomic_with_retry, lock_rows
from core.errors import InsufficientStock, NotFound, SegregationOfDuties, StateConflict, ValidationFailed
from core.validation import field_error, positive_quantity
from governance import permissions
from governance import selectors as governance_selectors
from governance.models import ApprovalRequest, Site
from governance.services import (
    ApprovalHandler,
    decide_approval,
    get_rule,
    open_exception,
    register_approval_handler,
    request_approval,
    resolve_exceptions_for_subject,
)
from governance.services.approvals import approval_kind
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date
from inventory.models import (
    CycleCount,
    CycleCountLine,
    InventoryStatus,
    Item,
    Location,
    Lot,
    StockMove,
    StockQuant,
)
from inventory.policy import counting as policy
from inventory.signals import location_counted, variance_found

from .ledger import MoveLine, lock_levels, post_moves
from .stock import virtual_location

APPROVAL_KIND = approval_kind("COUNT", _("Count variance"))
APPROVAL_RULE = "counting.approval_value"
TOLERANCE_RULE = "counting.tolerance_percent"
VARIANCE_CODE = "COUNT_VARIANCE"
MAX_LOCATIONS = 500

L = CycleCountLine.Status
#: line statuses that keep a location busy: it is not put on another count until they are settled
BUSY = (L.OPEN, L.RECOUNT, L.PENDING_APPROVAL)
#: statuses of a line whose counting is over
FINAL = (L.PENDING_APPROVAL, L.POSTED, L.REJECTED)


def lock_for_change(queryset) -> list:
    """Lock rows in primary-key order with FOR NO KEY UPDATE: serialises writers of these rows without blocking
    inserts of rows that reference them (which take FOR KEY SHARE), e.g. stock rows of a locked site."""
    return list(queryset.order_by("pk").select_for_update(of=("self",), no_key=True))


# --- who may see what ---------------------------------------------------------------------------------------


def counters_of(line: CycleCountLine) -> set[int]:
    return {uid for uid in (line.first_counted_by_id, line.recounted_by_id) if uid}


def may_see_expected(user, line: CycleCountLine) -> bool:
    """Blind counting: expected and counted quantities are shown only once the line's counting is over, only to
    approvers of its site (supervisors, admins), and never to someone who counted it."""
    return (
        line.status in FINAL
        and permissions.can(user, "approval.decide", line.count.site_id)
        and user.pk not in counters_of(line)
    )


# --- creating counts ----------------------------------------------------------------------------------------


def countable(location: Location) -> bool:
    return location.holds_stock and location.kind != Location.Kind.IN_TRANSIT


def busy_location_ids(site_id: int, location_ids=None) -> set[int]:
    """Locations with a line still to count, recount or decide: counting them again would count twice."""
    qs = CycleCountLine.objects.filter(count__site_id=site_id, status__in=BUSY)
    if location_ids is not None:
        qs = qs.filter(location_id__in=list(location_ids))
    return set(qs.values_list("location_id", flat=True))


def line_keys_for(
    location_ids, *, items_wanted: dict[int, set[int]] | None = None
) -> list[tuple[int, int, int | None]]:
    """(location, item, lot) to count at ``location_ids``: whatever stock the system holds there, plus, per
    location, the items a trigger named even when the system holds none of them there any more."""
    keys = set(
        StockQuant.objects.filter(location_id__in=list(location_ids), quantity__gt=0)
        .exclude(status=InventoryStatus.IN_TRANSIT)
        .values_list("location_id", "item_id", "lot_id")
    )
    for location_id, item_ids in (items_wanted or {}).items():
        for item_id in item_ids:
            if any(k[0] == location_id and k[1] == item_id for k in keys):
                continue
            lots = set(
                StockQuant.objects.filter(location_id=location_id, item_id=item_id).values_list("lot_id", flat=True)
            )
            if lots:
                keys.update((location_id, item_id, lot) for lot in lots)
            elif not Item.objects.filter(pk=item_id, lot_tracked=True).exists():
                keys.add((location_id, item_id, None))
    return sorted(keys, key=lambda k: (k[0], k[1], k[2] or 0))


def make_count(
    *,
    site: Site,
    origin: str,
    lines: list[tuple[int, int, int | None, str, str]],
    user=None,
    note: str = "",
    plan_date=None,
) -> CycleCount:
    """Write a count and its lines ((location, item, lot, trigger, reason) each); no checks (callers check)."""
    from simple_history.utils import bulk_create_with_history

    count = CycleCount(
        number=next_document_number("CC"),
        site=site,
        origin=origin,
        plan_date=plan_date or site_local_date(site),
        note=note[:300],
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(count, user)
    count.save()
    bulk_create_with_history(
        [
            CycleCountLine(
                count=count, location_id=loc, item_id=item, lot_id=lot, trigger=trigger, trigger_reason=reason[:200]
            )
            for loc, item, lot, trigger, reason in lines
        ],
        CycleCountLine,
        default_user=user if getattr(user, "is_authenticated", False) else None,
    )
    return count


@atomic_with_retry
def create_cycle_count(*, user, site: Site, locations: list[Location], note: str = "") -> CycleCount:
    """A supervisor's request: count these locations now (every item and lot the system holds there)."""
    permissions.require(user, "inventory.plan_counts", site, what="site")
    if not locations:
        raise field_error("locations", "Name at least one location to count.", "required")
    if len(locations) > MAX_LOCATIONS:
        raise field_error("locations", f"At most {MAX_LOCATIONS} locations per count.", "too_many")
    seen: set[int] = set()
    for location in locations:
        if location.site_id != site.pk:
            raise field_error("locations", f"{location.code} is not a location of {site.code}.", "other_site")
        if not countable(location):
            raise field_error("locations", f"{location.code} is a virtual location; nothing to count.", "virtual")
        if location.pk in seen:
            raise field_error("locations", f"{location.code} is named twice.", "duplicate")
        seen.add(location.pk)
    # serialise count creation per site so two requests never put one location on two counts
    lock_for_change(Site.objects.filter(pk=site.pk))
    busy = busy_location_ids(site.pk, seen)
    if busy:
        codes = ", ".join(sorted(loc.code for loc in locations if loc.pk in busy))
        raise StateConflict(f"{codes} already wait(s) on another count; finish or decide that count first.")
    keys = line_keys_for(seen)
    if not keys:
        raise field_error(
            "locations", "The system holds no stock at these locations; record what you find on a count.", "empty"
        )
    return make_count(
        site=site,
        origin=CycleCount.Origin.REQUESTED,
        lines=[(loc, item, lot, CycleCountLine.Trigger.REQUEST, "Requested") for loc, item, lot in keys],
        user=user,
        note=note,
    )


# --- counting -----------------------------------------------------------------------------------------------


def _lock_count(count_id: int, user, action: str) -> CycleCount:
    count = CycleCount.objects.filter(pk=count_id).only("site_id").first()
    if count is None or not permissions.can_see_site(user, count.site_id):
        raise NotFound("No such cycle count.")
    permissions.require(user, action, count.site_id, what="cycle count")
    (locked,) = lock_for_change(CycleCount.objects.select_related("site").filter(pk=count_id))
    return locked


def system_quantity(line: CycleCountLine, site_id: int) -> int:
    """What the system holds of the line's item and lot at its location, every status, read under lock (the
    level first, then the quants, as the ledger locks them): the expected quantity at the time of counting."""
    lock_levels({(line.item_id, site_id)})
    quants = lock_rows(_quants_of(line))
    return sum(q.quantity for q in quants if q.status != InventoryStatus.IN_TRANSIT)


def _quants_of(line: CycleCountLine):
    lot_q = Q(lot_id=line.lot_id) if line.lot_id else Q(lot__isnull=True)
    return StockQuant.objects.filter(Q(item_id=line.item_id, location_id=line.location_id) & lot_q)


def _post_variance(line: CycleCountLine, count: CycleCount, user) -> None:
    """Post the line's variance (counted minus expected at counting time) as COUNT moves to or from the site's
    ADJUSTMENT location. A loss comes out of free units only, doubtful statuses first."""
    variance = line.variance or 0
    if variance == 0:
        return
    location = line.location
    virtual = virtual_location(count.site_id, Location.Kind.ADJUSTMENT)
    if variance > 0:
        moves = [
            MoveLine(
                line.item_id,
                line.lot_id,
                variance,
                virtual,
                "",
                location,
                policy.gain_status(location.kind),
                unit_cost=line.unit_cost,
            )
        ]
    else:
        lock_levels({(line.item_id, count.site_id)})
        balances = [policy.Balance(q.status, q.quantity, q.reserved) for q in lock_rows(_quants_of(line))]
        try:
            split = policy.split_loss(-variance, balances)
        except ValueError:
            free = sum(b.quantity - b.reserved for b in balances)
            raise InsufficientStock(
                f"{line.item.sku} at {location.code}: the count found {-variance} missing but only {free} are free "
                f"(the rest is reserved for open tasks); confirm or cancel those tasks, then post the count.",
                field="quantity",
            )
        moves = [
            MoveLine(line.item_id, line.lot_id, units, location, status, virtual, "", unit_cost=line.unit_cost)
            for status, units in split
        ]
    post_moves(
        lines=moves,
        kind=StockMove.Kind.COUNT,
        user=user,
        reference=count.number,
        document=count,
        reason_code="CYCLE_COUNT",
        note=f"{location.code}: variance of count line {line.pk}",  # no quantities: the ledger is site-visible
    )
    line.posted_at = timezone.now()


def _finalize(line: CycleCountLine, count: CycleCount, user, *, counted: int, expected: int, now) -> None:
    tolerance = get_rule(TOLERANCE_RULE, count.site_id)
    threshold = get_rule(APPROVAL_RULE, count.site_id)
    line.counted_quantity = counted
    line.expected_quantity = expected
    line.variance = counted - expected
    line.unit_cost = line.item.standard_cost
    line.variance_value = policy.variance_value(line.variance, line.unit_cost)
    _stamp_quants(line, now)
    if line.variance == 0:
        line.status = L.POSTED
        line.posted_at = now
        return
    pending = policy.needs_approval(line.variance_value, threshold)
    blocked = False
    if not pending:
        try:
            with transaction.atomic():
                _post_variance(line, count, user)
        except InsufficientStock:
            # the loss would take units reserved for open tasks: the count still stands (the counter is never
            # told a number, which would betray the expected quantity); an approver posts it once those tasks
            # are settled
            pending = blocked = True
    line.status = L.PENDING_APPROVAL if pending else L.POSTED
    beyond = policy.beyond_tolerance(expected=expected, counted=counted, tolerance_percent=tolerance)
    if beyond or pending:
        # Exceptions are visible to every role of the site, counters included: no quantities and no variance
        # value in them (value / unit cost = units; blind counting); approvers read the figures on the count.
        why = (
            " — units are reserved for open tasks; waits for an approver."
            if blocked
            else (" — waits for approval." if pending else " — posted.")
        )
        open_exception(
            site=count.site,
            code=VARIANCE_CODE,
            subject=line,
            user=user,
            summary=f"{count.number} {line.location.code} {line.item.sku}: count variance"
            f"{' beyond tolerance' if beyond else ''}{why}",
            details={
                "count": count.number,
                "location": line.location.code,
                "item": line.item.sku,
                "lot": line.lot.number if line.lot_id else None,
                "beyond_tolerance": beyond,
                "pending_approval": pending,
                "blocked_by_reserved_units": blocked,
            },
        )
    site_id, location_id, item_id = count.site_id, line.location_id, line.item_id
    transaction.on_commit(
        lambda: variance_found.send(sender=CycleCount, site_id=site_id, location_id=location_id, item_id=item_id)
    )


def _stamp_quants(line: CycleCountLine, now) -> None:
    _quants_of(line).update(last_counted_at=now)


def _after_line(count: CycleCount, line: CycleCountLine, user, now) -> None:
    """Record a location as counted once none of its lines waits for a count, and close the counting of the
    whole count once no line does: complete, or ask for approval of the variances above the threshold."""
    if line.status not in CycleCountLine.TO_COUNT:
        if not count.lines.filter(location_id=line.location_id, status__in=CycleCountLine.TO_COUNT).exists():
            Location.objects.filter(pk=line.location_id).update(last_counted_at=now)
            location_counted.send(
                sender=CycleCount,
                site_id=count.site_id,
                location_id=line.location_id,
                count_id=count.pk,
                counted_at=now,
            )
    if count.lines.filter(status__in=CycleCountLine.TO_COUNT).exists():
        return
    count.counted_at = now
    pending = list(count.lines.filter(status=L.PENDING_APPROVAL).select_related("location", "item"))
    if pending:
        threshold = get_rule(APPROVAL_RULE, count.site_id)
        total = sum((p.variance_value for p in pending), Decimal("0.00"))
        count.status = CycleCount.Status.PENDING_APPROVAL
        set_history_user(count, user)
        count.save()
        request_approval(
            kind=APPROVAL_KIND,
            site=count.site,
            subject=count,
            requested_by=user,
            # no quantities: approval requests are visible to the counters of the site (blind counting)
            reason=f"{count.number}: {len(pending)} variance(s) wait for an approver who did not count (above the "
            f"site's approval value {threshold}, or taking units reserved for open tasks): "
            + "; ".join(f"{p.location.code} {p.item.sku}" for p in pending[:20]),
            rule_key=APPROVAL_RULE,
            threshold=threshold,
            value=total,
        )
    else:
        count.status = CycleCount.Status.COMPLETED
        count.completed_at = now
        set_history_user(count, user)
        count.save()


@atomic_with_retry
def enter_count(*, user, line: CycleCountLine, quantity: int) -> CycleCountLine:
    """The counter's count of one line (location, item, lot), in base units.

    The expected quantity is read under lock now. Within the site's tolerance the count is final; beyond it the
    line waits for a recount by another counter, and the recount is final. A final variance posts at once up
    to the site's approval value; above it, it waits for the approval of someone who did not count.
    Entering the same quantity again as the same counter changes nothing."""
    count = _lock_count(line.count_id, user, "inventory.count")
    positive_quantity(quantity, allow_zero=True)
    locked = (
        CycleCountLine.objects.select_for_update(of=("self",), no_key=True)
        .select_related("location", "item", "lot")
        .filter(pk=line.pk, count_id=count.pk)
        .first()
    )
    if locked is None:
        raise NotFound("No such count line.")
    if locked.status == L.RECOUNT and locked.first_counted_by_id == user.pk:
        if locked.first_quantity == quantity:
            return locked  # the same counter sending the same count again
        raise SegregationOfDuties("This line needs a recount by another counter than the first one.")
    if locked.status not in CycleCountLine.TO_COUNT:
        last_by = locked.recounted_by_id or locked.first_counted_by_id
        if last_by == user.pk and locked.counted_quantity == quantity:
            return locked
        raise StateConflict("This line is already counted.")
    if count.status != CycleCount.Status.OPEN:
        raise StateConflict(f"{count.number} is {count.get_status_display().lower()}; counting is over.")
    now = timezone.now()
    expected = system_quantity(locked, count.site_id)
    if locked.status == L.OPEN:
        locked.first_quantity = quantity
        locked.first_expected = expected
        locked.first_counted_by = user
        locked.first_counted_at = now
        tolerance = get_rule(TOLERANCE_RULE, count.site_id)
        if policy.beyond_tolerance(expected=expected, counted=quantity, tolerance_percent=tolerance):
            locked.status = L.RECOUNT
        else:
            _finalize(locked, count, user, counted=quantity, expected=expected, now=now)
    else:
        locked.recount_quantity = quantity
        locked.recount_expected = expected
        locked.recounted_by = user
        locked.recounted_at = now
        _finalize(locked, count, user, counted=quantity, expected=expected, now=now)
    set_history_user(locked, user)
    locked.save()
    _after_line(count, locked, user, now)
    return locked


@atomic_with_retry
def record_found_stock(
    *, user, count: CycleCount, location: Location, item: Item, quantity: int, lot: Lot | None = None
) -> CycleCountLine:
    """A counter found an item (or lot) at a location of the count that the count does not list: add a line
    and count it (the expected quantity is read under lock as for any line)."""
    locked_count = _lock_count(count.pk, user, "inventory.count")
    positive_quantity(quantity)
    if locked_count.status != CycleCount.Status.OPEN:
        raise StateConflict(f"{locked_count.number} is {locked_count.get_status_display().lower()}; counting is over.")
    if location.site_id != locked_count.site_id or not locked_count.lines.filter(location=location).exists():
        raise field_error("location", f"{location.code} is not a location of {locked_count.number}.", "not_on_count")
    if item.lot_tracked and lot is None:
        raise field_error("lot", f"{item.sku} is lot tracked; give the lot.", "required")
    if not item.lot_tracked and lot is not None:
        raise field_error("lot", f"{item.sku} is not lot tracked.", "lot_not_tracked")
    if lot is not None and lot.item_id != item.pk:
        raise field_error("lot", f"Lot {lot.number} is not a lot of {item.sku}.", "other_item")
    lot_q = Q(lot=lot) if lot else Q(lot__isnull=True)
    if locked_count.lines.filter(Q(location=location, item=item) & lot_q).exists():
        raise StateConflict(f"{item.sku} at {location.code} is already on {locked_count.number}; count that line.")
    line = CycleCountLine(
        count=locked_count,
        location=location,
        item=item,
        lot=lot,
        trigger=CycleCountLine.Trigger.FOUND,
        trigger_reason=f"Found by {user.get_username()}",
    )
    set_history_user(line, user)
    line.save()
    return enter_count(user=user, line=line, quantity=quantity)


# --- approval -----------------------------------------------------------------------------------------------


def pending_approval_for(count: CycleCount) -> ApprovalRequest | None:
    return governance_selectors.pending_approval(model=CycleCount, object_id=count.pk, kinds=APPROVAL_KIND)


@atomic_with_retry
def decide_count(*, user, count: CycleCount, approve: bool, note: str = "") -> CycleCount:
    """Approve (post the variances waiting for approval) or reject (post nothing) through the count's approval
    request. Nobody who counted a line of it may decide it. Retried on a deadlock (it posts stock)."""
    visible = CycleCount.objects.filter(pk=count.pk).values_list("site_id", flat=True).first()
    if visible is None or not permissions.can_see_site(user, visible):
        raise NotFound("No such cycle count.")
    approval = pending_approval_for(count)
    if approval is None:
        current = CycleCount.objects.get(pk=count.pk)
        raise StateConflict(f"{current.number} is {current.get_status_display().lower()}; nothing to decide.")
    decide_approval(approval=approval, user=user, approve=approve, note=note)
    return CycleCount.objects.get(pk=count.pk)


def _pending_lines(count: CycleCount) -> list[CycleCountLine]:
    return lock_rows(
        CycleCountLine.objects.select_related("location", "item", "lot").filter(count=count, status=L.PENDING_APPROVAL)
    )


def _decide(approval: ApprovalRequest, user, *, approve: bool) -> None:
    (count,) = lock_for_change(CycleCount.objects.select_related("site").filter(pk=approval.object_id))
    if count.status != CycleCount.Status.PENDING_APPROVAL:
        raise StateConflict(f"{count.number} is {count.get_status_display().lower()}, not pending approval.")
    lines = _pending_lines(count)
    # segregation of duties: nobody who counted any line of this count (not only the lines waiting) decides it
    if count.lines.filter(Q(first_counted_by_id=user.pk) | Q(recounted_by_id=user.pk)).exists():
        raise SegregationOfDuties("You counted a line of this count; an approver who did not count must decide it.")
    if approve:  # every stock level the posting touches, at once and in primary-key order (levels before quants)
        lock_levels({(line.item_id, count.site_id) for line in lines})
    now = timezone.now()
    for line in lines:
        if approve:
            _post_variance(line, count, user)
            line.status = L.POSTED
        else:
            line.status = L.REJECTED
        line.decided_by = user
        line.decided_at = now
        set_history_user(line, user)
        line.save()
        resolve_exceptions_for_subject(
            subject=line,
            code=VARIANCE_CODE,
            note=f"Variance {'approved and posted' if approve else 'rejected (not posted)'} by {user.get_username()}."
            + (f" {approval.decision_note}" if approval.decision_note else ""),
            user=user,
        )
    count.status = CycleCount.Status.COMPLETED
    count.completed_at = now
    set_history_user(count, user)
    count.save()


def _on_approved(approval: ApprovalRequest, user) -> None:
    _decide(approval, user, approve=True)


def _on_rejected(approval: ApprovalRequest, user) -> None:
    _decide(approval, user, approve=False)


def register_handlers() -> None:
    register_approval_handler(APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected))


__all__ = [
    "APPROVAL_KIND",
    "ValidationFailed",
    "create_cycle_count",
    "decide_count",
    "enter_count",
    "may_see_expected",
    "record_found_stock",
    "register_handlers",
]
