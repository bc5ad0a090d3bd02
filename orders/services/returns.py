"""Returns (RMA): authorize returns of shipped order lines, never more than shipped minus already returned;
above the site's value rule the authorization waits for an approver. Receiving (inspection and disposition)
is warehouse work (warehouse.services.returns.receive_return, which records what arrived here through
``record_return_receipt``); the credit is decided here, with approval above its own threshold."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import atomic_with_retry, lock_rows
from core.errors import NotFound, RuleViolation, StateConflict, ValidationFailed
from core.validation import MAX_QUANTITY
from governance import permissions
from governance import selectors as governance_selectors
from governance.models import ApprovalRequest, Site
from governance.services import (
    ApprovalHandler,
    decide_approval,
    get_rule,
    register_approval_handler,
    request_approval,
)
from governance.services.approvals import approval_kind
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from orders.models import Allocation, ReturnAuthorization, ReturnDisposition, ReturnLine, SalesOrder, SalesOrderLine

AUTHORIZATION_KIND = approval_kind("RETURN_AUTHORIZATION", _("Return authorisation"))
CREDIT_KIND = approval_kind("RETURN_CREDIT", _("Return credit"))
AUTHORIZATION_RULE = "returns.authorization_value"
CREDIT_RULE = "returns.credit_approval_value"
MAX_LINES = 200

RMA = ReturnAuthorization
CENT = Decimal("0.01")


def base_unit_price(line: SalesOrderLine) -> Decimal:
    """The order price of one base unit (order prices are per entered unit)."""
    return (Decimal(line.unit_price) / Decimal(line.unit_factor or 1)).quantize(Decimal("0.0001"))


def money(amount: Decimal) -> Decimal:
    return Decimal(amount).quantize(CENT)


def returned_quantities(order_line_ids) -> dict[int, int]:
    """Per order line: units already returned (received on an RMA) or on their way (open RMAs)."""
    out: dict[int, int] = defaultdict(int)
    rows = (
        ReturnLine.objects.filter(order_line_id__in=list(order_line_ids))
        .exclude(rma__status=RMA.Status.REJECTED)
        .values("order_line_id", "rma__status")
        .annotate(quantity=Sum("quantity"), received=Sum("received_quantity"))
    )
    for row in rows:
        counted = row["quantity"] if row["rma__status"] in RMA.OPEN else row["received"]
        out[row["order_line_id"]] += counted or 0
    return out


def returnable_quantity(line: SalesOrderLine, already: int) -> int:
    """Pure: what may still be returned of an order line: shipped minus already returned (or on its way)."""
    return max(line.shipped_quantity - already, 0)


def needs_approval(value: Decimal, threshold: Decimal) -> bool:
    return value > threshold


def _default_site(order: SalesOrder, line_ids: list[int]) -> int:
    """Returns go back to the site that shipped the lines (when one did), else the order's site."""
    sites = set(
        Allocation.objects.filter(line_id__in=line_ids, status=Allocation.Status.CONSUMED).values_list(
            "site_id", flat=True
        )
    )
    return sites.pop() if len(sites) == 1 else order.site_id


@atomic_with_retry
def create_return(
    *, user, order: SalesOrder, lines: list[dict], site: Site | None = None, note: str = ""
) -> ReturnAuthorization:
    """Authorize the return of shipped units: ``lines`` are ``{"line": SalesOrderLine, "quantity": int (base
    units), "reason": ReturnLine.Reason}``. Never more than shipped minus already returned per order line.
    Worth more than the site's authorization value (at order prices), it waits for an approver."""
    from orders.selectors import orders_for

    if not orders_for(user).filter(pk=order.pk).exists():
        raise NotFound("No such sales order.")
    errors = []
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "Name at least one line to return."})
    if len(lines) > MAX_LINES:
        errors.append({"field": "lines", "code": "too_many", "message": f"At most {MAX_LINES} lines."})
    seen: set[int] = set()
    for i, entry in enumerate(lines):
        line, quantity, reason = entry.get("line"), entry.get("quantity"), entry.get("reason")
        if not isinstance(line, SalesOrderLine) or line.order_id != order.pk:
            errors.append({"field": f"lines[{i}].item", "code": "not_on_order", "message": "Not a line of the order."})
            continue
        if line.pk in seen:
            errors.append(
                {"field": f"lines[{i}].item", "code": "duplicate", "message": f"Line {line.line_number} twice."}
            )
        seen.add(line.pk)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
            errors.append(
                {"field": f"lines[{i}].quantity", "code": "not_positive", "message": "Give a positive whole quantity."}
            )
        if reason not in ReturnLine.Reason.values:
            errors.append(
                {
                    "field": f"lines[{i}].reason",
                    "code": "invalid_choice",
                    "message": f"Reason must be one of {', '.join(ReturnLine.Reason.values)}.",
                }
            )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)

    site_id = site.pk if site is not None else _default_site(order, sorted(seen))
    permissions.require(user, "returns.manage", site_id, what="site")
    # lock the order lines: two RMAs for the same line queue here, so neither sees stale returned quantities
    locked = {row.pk: row for row in lock_rows(SalesOrderLine.objects.filter(pk__in=sorted(seen)))}
    already = returned_quantities(locked)
    for i, entry in enumerate(lines):
        line = locked[entry["line"].pk]
        allowed = returnable_quantity(line, already[line.pk])
        if entry["quantity"] > allowed:
            errors.append(
                {
                    "field": f"lines[{i}].quantity",
                    "code": "exceeds_returnable",
                    "message": f"Line {line.line_number} ({line.item.sku}): shipped {line.shipped_quantity}, "
                    f"already returned or authorized {already[line.pk]}; at most {allowed} may be returned.",
                }
            )
    if errors:
        raise RuleViolation("; ".join(e["message"] for e in errors), errors=errors)

    value = money(sum((base_unit_price(locked[e["line"].pk]) * e["quantity"] for e in lines), Decimal("0")))
    threshold = get_rule(AUTHORIZATION_RULE, site_id)
    pending = needs_approval(value, threshold)
    now = timezone.now()
    rma = RMA(
        number=next_document_number("RMA"),
        site_id=site_id,
        sales_order=order,
        customer_id=order.customer_id,
        status=RMA.Status.PENDING_APPROVAL if pending else RMA.Status.AUTHORIZED,
        currency=order.currency,
        value=value,
        note=note or "",
        requested_by=user,
        created_at=now,
        authorized_at=None if pending else now,
    )
    set_history_user(rma, user)
    rma.save()
    for number, entry in enumerate(lines, start=1):
        line = locked[entry["line"].pk]
        return_line = ReturnLine(
            rma=rma,
            line_number=number,
            order_line=line,
            item_id=line.item_id,
            quantity=entry["quantity"],
            reason=entry["reason"],
            unit_price=base_unit_price(line),
        )
        set_history_user(return_line, user)
        return_line.save()
    if pending:
        request_approval(
            kind=AUTHORIZATION_KIND,
            site=rma.site,
            subject=rma,
            requested_by=user,
            reason=f"Return {rma.number} of {order.number} worth {value} exceeds the site's authorization value "
            f"{threshold}.",
            rule_key=AUTHORIZATION_RULE,
            threshold=threshold,
            value=value,
        )
    return rma


@dataclass(frozen=True)
class ReturnOutcome:
    """What receiving found for one part of a line of a return (warehouse inspects; orders records). A line split
    between dispositions has one outcome per part; a line that did not come back has one with quantity 0."""

    line: ReturnLine
    quantity: int
    lot_number: str
    inspection: str
    inspection_note: str
    disposition: str
    scrap_value: Decimal | int


#: the least favourable inspection first: a line whose parts were inspected differently is summarised by it
INSPECTION_SEVERITY = (
    ReturnLine.Inspection.DAMAGED,
    ReturnLine.Inspection.DEFECTIVE,
    ReturnLine.Inspection.NOT_INSPECTED,
    ReturnLine.Inspection.GOOD,
)


def line_summary(parts: list[ReturnOutcome]) -> dict:
    """Pure: what a return line records of its received parts (those with a quantity): the total, the lot, the
    inspection and the disposition when the parts agree (a line split between dispositions has none; its
    inspection is the least favourable of its parts), the notes and the scrap value."""
    received = [p for p in parts if p.quantity]
    lots = {p.lot_number for p in received}
    inspections = {p.inspection for p in received}
    dispositions = {p.disposition for p in received}
    notes = [p.inspection_note for p in parts if p.inspection_note]
    inspection = ""
    if len(inspections) == 1:
        inspection = inspections.pop()
    elif inspections:
        inspection = next(i for i in INSPECTION_SEVERITY if i in inspections)
    return {
        "received_quantity": sum(p.quantity for p in received),
        "lot_number": lots.pop() if len(lots) == 1 else "",
        "inspection": inspection,
        "disposition": dispositions.pop() if len(dispositions) == 1 else "",
        "inspection_note": "; ".join(dict.fromkeys(notes))[:300],
        "scrap_value": money(sum((Decimal(p.scrap_value) for p in received), Decimal("0"))),
    }


def record_return_receipt(
    *, rma: ReturnAuthorization, outcomes: list[ReturnOutcome], user, arrived_at, now
) -> ReturnAuthorization:
    """Record a received return (``rma`` locked by the caller, in its transaction): per line the parts that came
    back (one ReturnDisposition each, with its inspection, disposition, lot and scrap value), the line's totals and
    credit at the order price (with history), then the return RECEIVED with its times and the credit settled
    (approval above the site's value)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_return_receipt must run inside the receiving transaction")
    if rma.status != RMA.Status.AUTHORIZED:
        raise StateConflict(f"{rma.number} is {rma.get_status_display().lower()}; it cannot be received.")
    by_line: dict[int, list[ReturnOutcome]] = {}
    lines: dict[int, ReturnLine] = {}
    for outcome in outcomes:
        if outcome.line.rma_id != rma.pk:
            raise StateConflict(f"Line {outcome.line.pk} is not on {rma.number}.")
        by_line.setdefault(outcome.line.pk, []).append(outcome)
        lines.setdefault(outcome.line.pk, outcome.line)
    for pk, parts in by_line.items():
        line = lines[pk]
        for field, value in line_summary(parts).items():
            setattr(line, field, value)
        if line.received_quantity > line.quantity:
            raise StateConflict(f"Line {line.line_number}: {line.quantity} authorized; {line.received_quantity} came.")
        line.credit_amount = money(line.received_quantity * line.unit_price)
        line.disposed_at = now
        set_history_user(line, user)
        line.save()
        for part in parts:
            if not part.quantity:
                continue
            disposition = ReturnDisposition(
                line=line,
                quantity=part.quantity,
                lot_number=part.lot_number,
                inspection=part.inspection,
                disposition=part.disposition,
                note=part.inspection_note,
                scrap_value=money(Decimal(part.scrap_value)),
                disposed_at=now,
            )
            set_history_user(disposition, user)
            disposition.save()
    rma.status = RMA.Status.RECEIVED
    rma.received_by = user
    rma.received_at = arrived_at
    rma.disposed_at = now
    rma.turnaround_seconds = max(int((now - arrived_at).total_seconds()), 0)
    settle_credit(rma=rma, user=user)  # saves the return (with history)
    return rma


def settle_credit(*, rma: ReturnAuthorization, user) -> None:
    """After receiving: the credit is the received units at their order price; above the site's credit value it
    waits for an approver who is not the receiver. Called by the receiving service inside its transaction."""
    amount = money(sum((line.credit_amount for line in rma.lines.all()), Decimal("0")))
    threshold = get_rule(CREDIT_RULE, rma.site_id)
    rma.credit_amount = amount
    if needs_approval(amount, threshold):
        rma.credit_status = RMA.CreditStatus.PENDING_APPROVAL
        set_history_user(rma, user)
        rma.save()
        request_approval(
            kind=CREDIT_KIND,
            site=rma.site,
            subject=rma,
            requested_by=user,
            reason=f"Credit of {amount} for return {rma.number} exceeds the site's credit approval value {threshold}.",
            rule_key=CREDIT_RULE,
            threshold=threshold,
            value=amount,
        )
    else:
        rma.credit_status = RMA.CreditStatus.APPROVED
        rma.credit_decided_at = timezone.now()
        set_history_user(rma, user)
        rma.save()


# --- approvals ------------------------------------------------------------------------------------------------


def pending_approval_for(rma: ReturnAuthorization) -> ApprovalRequest | None:
    return governance_selectors.pending_approval(model=RMA, object_id=rma.pk, kinds=(AUTHORIZATION_KIND, CREDIT_KIND))


def decide_return(*, user, rma: ReturnAuthorization, approve: bool, note: str = "") -> ReturnAuthorization:
    """Decide what the return waits for: its authorization, or after receiving, its credit."""
    with transaction.atomic():
        site_id = RMA.objects.filter(pk=rma.pk).values_list("site_id", flat=True).first()
        if site_id is None or not permissions.can_see_site(user, site_id):
            raise NotFound("No such return.")
        approval = pending_approval_for(rma)
        if approval is None:
            raise StateConflict(f"{rma.number} waits for no approval.")
        decide_approval(approval=approval, user=user, approve=approve, note=note)
    return RMA.objects.get(pk=rma.pk)


def _lock(approval: ApprovalRequest) -> ReturnAuthorization:
    (rma,) = lock_rows(RMA.objects.filter(pk=approval.object_id))
    return rma


def _authorization_decided(approval: ApprovalRequest, user, *, approve: bool) -> None:
    rma = _lock(approval)
    if rma.status != RMA.Status.PENDING_APPROVAL:
        raise StateConflict(f"{rma.number} is {rma.get_status_display().lower()}, not pending approval.")
    rma.status = RMA.Status.AUTHORIZED if approve else RMA.Status.REJECTED
    if approve:
        rma.authorized_at = timezone.now()
    set_history_user(rma, user)
    rma.save()


def _credit_decided(approval: ApprovalRequest, user, *, approve: bool) -> None:
    rma = _lock(approval)
    if rma.credit_status != RMA.CreditStatus.PENDING_APPROVAL:
        raise StateConflict(f"The credit of {rma.number} is not pending approval.")
    rma.credit_status = RMA.CreditStatus.APPROVED if approve else RMA.CreditStatus.REJECTED
    rma.credit_decided_by = user
    rma.credit_decided_at = timezone.now()
    set_history_user(rma, user)
    rma.save()


def register_handlers() -> None:
    register_approval_handler(
        AUTHORIZATION_KIND,
        ApprovalHandler(
            on_approved=lambda a, u: _authorization_decided(a, u, approve=True),
            on_rejected=lambda a, u: _authorization_decided(a, u, approve=False),
        ),
    )
    register_approval_handler(
        CREDIT_KIND,
        ApprovalHandler(
            on_approved=lambda a, u: _credit_decided(a, u, approve=True),
            on_rejected=lambda a, u: _credit_decided(a, u, approve=False),
        ),
    )
