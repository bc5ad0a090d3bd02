"""Stock adjustments: above the site's value threshold they wait for approval and change nothing until then."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import atomic_with_retry
from core.errors import InsufficientStock, StateConflict
from core.validation import MAX_QUANTITY
from governance import permissions
from governance import selectors as governance_selectors
from governance.models import ApprovalRequest
from governance.services import (
    ApprovalHandler,
    get_rule,
    open_exception,
    register_approval_handler,
    request_approval,
    resolve_exceptions_for_subject,
)
from governance.services.approvals import approval_kind
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from inventory.models import Adjustment, InventoryStatus, Item, Location, Lot, StockMove
from inventory.policy.adjustments import AdjustmentExposure, adjustment_needs_approval

from .ledger import MoveLine, post_moves
from .stock import find_quant, virtual_location

APPROVAL_KIND = approval_kind("ADJUSTMENT", _("Stock adjustment"))
APPROVAL_RULE = "inventory.adjustment_approval_value"
#: the rolling window (hours) over which a user's and a location's adjustments add up against the approval value
WINDOW_RULE = "inventory.adjustment_approval_window_hours"
#: first key of the advisory locks that serialise the adjustments of one user and of one location
LOCK_USER, LOCK_LOCATION = 0x41444A55, 0x41444A4C
#: the exception case an adjustment keeps open while it waits for an approver (resolved when decided)
PENDING_EXCEPTION = "ADJUSTMENT_PENDING"


def adjustment_value(item: Item, quantity_delta: int) -> Decimal:
    return (abs(quantity_delta) * Decimal(str(item.standard_cost))).quantize(Decimal("0.01"))


def recent_unapproved_values(*, user, location: Location, hours: int) -> tuple[Decimal, Decimal]:
    """What ``user`` and what ``location`` (anyone's) adjusted without approval in the past ``hours``: the sums of
    the adjustments' values (absolute), applied without a decider. Approved and rejected ones were looked at by a
    second person; pending ones will be. Call under :func:`_lock_exposure` so two adjustments cannot both pass."""
    since = timezone.now() - timedelta(hours=hours)
    recent = Adjustment.objects.filter(created_at__gte=since, status=Adjustment.Status.APPLIED, decided_by__isnull=True)
    zero = Decimal("0.00")
    by_user = recent.filter(requested_by_id=user.pk).aggregate(total=Sum("value"))["total"] or zero
    by_location = recent.filter(location_id=location.pk).aggregate(total=Sum("value"))["total"] or zero
    return by_user, by_location


def _lock_exposure(user, location: Location) -> None:
    """Serialise adjustments of one user and of one location until commit (user first, then location: one order)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_USER, user.pk])
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_LOCATION, location.pk])


def _post(adjustment: Adjustment, user) -> None:
    location = adjustment.location
    virtual = virtual_location(adjustment.site_id, Location.Kind.ADJUSTMENT)
    qty = abs(adjustment.quantity_delta)
    if adjustment.quantity_delta > 0:
        line = MoveLine(
            adjustment.item_id,
            adjustment.lot_id,
            qty,
            virtual,
            "",
            location,
            adjustment.stock_status,
            unit_cost=adjustment.item.standard_cost,
        )
    else:
        line = MoveLine(
            adjustment.item_id,
            adjustment.lot_id,
            qty,
            location,
            adjustment.stock_status,
            virtual,
            "",
            unit_cost=adjustment.item.standard_cost,
        )
    post_moves(
        lines=[line],
        kind=StockMove.Kind.ADJUST,
        user=user,
        reference=adjustment.number,
        document=adjustment,
        reason_code=adjustment.reason_code,
        note=adjustment.note,
    )


def _check_decrease_possible(*, item: Item, location: Location, lot: Lot | None, status: str, delta: int) -> None:
    if delta >= 0:
        return
    quant = find_quant(item=item, location=location, status=status, lot=lot)
    free = (quant.quantity - quant.reserved) if quant else 0
    if free < -delta:
        raise InsufficientStock(
            f"Only {free} of {item.sku} free at {location.code} ({InventoryStatus(status).label.lower()}); "
            f"cannot remove {-delta}.",
            field="quantity_delta",
        )


@atomic_with_retry
def adjust_stock(
    *,
    user,
    location: Location,
    item: Item,
    quantity_delta: int,
    reason_code: str,
    lot: Lot | None = None,
    stock_status: str = InventoryStatus.AVAILABLE,
    note: str = "",
) -> Adjustment:
    """Adjust stock at a location. Applied at once up to the site's approval value; above it, an approval
    request is opened and nothing changes until an approver (not the requester) approves it."""
    permissions.require(user, "inventory.adjust", location.site_id, what="location")
    errors = []
    if isinstance(quantity_delta, bool) or not isinstance(quantity_delta, int) or quantity_delta == 0:
        errors.append({"field": "quantity_delta", "code": "invalid", "message": "Give a non-zero whole quantity."})
    elif abs(quantity_delta) > MAX_QUANTITY:
        errors.append(
            {
                "field": "quantity_delta",
                "code": "too_large",
                "message": f"At most {MAX_QUANTITY:,} units per adjustment.",
            }
        )
    if reason_code not in Adjustment.Reason.values:
        errors.append(
            {
                "field": "reason_code",
                "code": "invalid_choice",
                "message": f"Reason must be one of {', '.join(Adjustment.Reason.values)}.",
            }
        )
    if not location.holds_stock or location.kind == Location.Kind.IN_TRANSIT:
        errors.append(
            {
                "field": "location",
                "code": "virtual_location",
                "message": f"{location.code} is a virtual location; adjust a physical one.",
            }
        )
    if stock_status not in InventoryStatus.values or stock_status == InventoryStatus.IN_TRANSIT:
        errors.append({"field": "stock_status", "code": "invalid_status", "message": "Not an adjustable status."})
    if item.lot_tracked and lot is None:
        errors.append({"field": "lot", "code": "required", "message": f"{item.sku} is lot tracked; give the lot."})
    if not item.lot_tracked and lot is not None:
        errors.append({"field": "lot", "code": "lot_not_tracked", "message": f"{item.sku} is not lot tracked."})
    elif lot is not None and lot.item_id != item.pk:
        errors.append(
            {"field": "lot", "code": "other_item", "message": f"Lot {lot.number} is not a lot of {item.sku}."}
        )
    if get_rule("inventory.adjustment_note_required", location.site_id) and not (note or "").strip():
        errors.append({"field": "note", "code": "required", "message": "This site requires a note on adjustments."})
    if errors:
        from core.errors import ValidationFailed

        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)

    _lock_exposure(user, location)
    _check_decrease_possible(item=item, location=location, lot=lot, status=stock_status, delta=quantity_delta)
    value = adjustment_value(item, quantity_delta)
    threshold = get_rule(APPROVAL_RULE, location.site_id)
    hours = get_rule(WINDOW_RULE, location.site_id)
    by_user, by_location = recent_unapproved_values(user=user, location=location, hours=hours)
    decision = adjustment_needs_approval(
        AdjustmentExposure(value=value, user_recent=by_user, location_recent=by_location), threshold
    )
    pending = decision.needed
    adjustment = Adjustment(
        number=next_document_number("ADJ"),
        site_id=location.site_id,
        location=location,
        item=item,
        lot=lot,
        stock_status=stock_status,
        quantity_delta=quantity_delta,
        reason_code=reason_code,
        note=note or "",
        value=value,
        requested_by=user,
        status=Adjustment.Status.PENDING_APPROVAL if pending else Adjustment.Status.APPLIED,
        applied_at=None if pending else timezone.now(),
    )
    set_history_user(adjustment, user)
    adjustment.save()
    if pending:
        request_approval(
            kind=APPROVAL_KIND,
            site=location.site,
            subject=adjustment,
            requested_by=user,
            reason=f"Adjustment of {quantity_delta:+d} {item.sku} at {location.code} worth {value} "
            + (
                f"exceeds the site's approval value {threshold}."
                if decision.scope == "single"
                else f"brings what {user.get_username() if decision.scope == 'user' else location.code} adjusted "
                f"without approval in the last {hours} hours to {decision.cumulative}, above the site's approval "
                f"value {threshold}."
            ),
            rule_key=APPROVAL_RULE,
            threshold=threshold,
            value=value,
        )
        open_exception(
            site=location.site,
            code=PENDING_EXCEPTION,
            subject=adjustment,
            summary=f"{adjustment.number}: {quantity_delta:+d} {item.sku} at {location.code} worth {value} "
            f"waits for approval (site value {threshold}).",
            details={"value": str(value), "threshold": str(threshold), "quantity_delta": quantity_delta},
            user=user,
        )
    else:
        _post(adjustment, user)
    return adjustment


def _on_approved(approval: ApprovalRequest, user) -> None:
    adjustment = (
        Adjustment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("item", "location")
        .get(pk=approval.object_id)
    )
    if adjustment.status != Adjustment.Status.PENDING_APPROVAL:
        raise StateConflict(f"{adjustment.number} is {adjustment.get_status_display().lower()}, not pending approval.")
    _check_decrease_possible(
        item=adjustment.item,
        location=adjustment.location,
        lot=adjustment.lot,
        status=adjustment.stock_status,
        delta=adjustment.quantity_delta,
    )
    adjustment.status = Adjustment.Status.APPLIED
    adjustment.applied_at = timezone.now()
    adjustment.decided_by = user
    set_history_user(adjustment, user)
    adjustment.save()
    _post(adjustment, user)
    _resolve_pending_exception(adjustment, user, "approved")


def _resolve_pending_exception(adjustment: Adjustment, user, decision: str) -> None:
    resolve_exceptions_for_subject(
        subject=adjustment, code=PENDING_EXCEPTION, note=f"Adjustment {decision} by {user}.", user=user
    )


def _on_rejected(approval: ApprovalRequest, user) -> None:
    adjustment = Adjustment.objects.select_for_update(no_key=True).get(pk=approval.object_id)
    if adjustment.status != Adjustment.Status.PENDING_APPROVAL:
        raise StateConflict(f"{adjustment.number} is {adjustment.get_status_display().lower()}, not pending approval.")
    adjustment.status = Adjustment.Status.REJECTED
    adjustment.decided_by = user
    set_history_user(adjustment, user)
    adjustment.save()
    _resolve_pending_exception(adjustment, user, "rejected")


def pending_approval_for(adjustment: Adjustment) -> ApprovalRequest | None:
    return governance_selectors.pending_approval(model=Adjustment, object_id=adjustment.pk, kinds=APPROVAL_KIND)


def decide_adjustment(*, user, adjustment: Adjustment, approve: bool, note: str = "") -> Adjustment:
    """Approve or reject a pending adjustment through its approval request."""
    from governance.services import decide_approval

    with transaction.atomic():
        approval = pending_approval_for(adjustment)
        if approval is None:
            raise StateConflict(
                f"{adjustment.number} is {adjustment.get_status_display().lower()}; there is nothing to decide."
            )
        decide_approval(approval=approval, user=user, approve=approve, note=note)
    adjustment.refresh_from_db()
    return adjustment


def register_handlers() -> None:
    register_approval_handler(APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected))
