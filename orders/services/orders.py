"""Sales order lifecycle: create and edit drafts, validate, release (with the credit check), hold, cancel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import atomic_with_retry
from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services import (
    ApprovalHandler,
    get_rule,
    open_exception,
    register_approval_handler,
    request_approval,
    resolve_exceptions_for_subject,
)
from governance.services.approvals import approval_kind, cancel_approvals_for
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date
from inventory.models import Item
from inventory.services import lock_levels
from inventory.units import to_base_quantity, unit_factors
from orders.events import emit_order_event
from orders.models import Allocation, Customer, SalesOrder, SalesOrderLine
from orders.policy import lifecycle
from orders.signals import order_withdrawing

S = SalesOrder.Status
HOLD_APPROVAL = approval_kind("ORDER_HOLD", _("Order hold release"))
EDITABLE_FIELDS = (
    "customer",
    "channel",
    "customer_reference",
    "priority",
    "promised_date",
    "ship_from",
    "ship_to_address",
    "carrier",
    "route",
    "cutoff",
    "allow_duplicate_lines",
    "lines",
)
_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,19}$")


def clean_code(value, field: str) -> str:
    """A carrier or route code: trimmed, upper case, letters, digits and ``_.-``, at most 20 characters."""
    code = str(value or "").strip().upper()
    if code and not _CODE.match(code):
        raise field_error(field, "Give a short code: letters, digits, '_', '.' or '-', at most 20.", "invalid")
    return code


MAX_LINES = 500


@dataclass
class CheckedLine:
    item: Item
    unit: str
    unit_factor: int
    quantity: Decimal
    quantity_base: int
    unit_price: Decimal
    ship_from: Site | None


def _promise_day(order_site: Site | None, customer: Customer | None) -> date:
    """Today where the order will ship from: the chosen ship-from site, else the customer's home site, else the
    network (UTC). A promised date before that day is in the past."""
    site = order_site or (customer.home_site if customer is not None else None)
    return site_local_date(site)


def _err(errors: list, field: str, message: str, code: str = "invalid") -> None:
    errors.append({"field": field, "code": code, "message": message})


def _site_by_code(user, code, errors: list, field: str) -> Site | None:
    if code in (None, ""):
        return None
    if isinstance(code, Site):
        code = code.code
    site = Site.objects.filter(code=str(code), active=True).first()
    if site is None or (user is not None and not permissions.can_see_site(user, site)):
        _err(errors, field, f"No site {code!r}.", "does_not_exist")
        return None
    return site


def check_order(
    *,
    user,
    customer,
    promised_date,
    lines: list[dict],
    ship_from=None,
    allow_duplicate_lines: bool = False,
    priority=None,
) -> tuple[Customer | None, Site | None, list[CheckedLine], int | None]:
    """Check a whole order and report every problem at once, field by field (ValidationFailed)."""
    errors: list[dict] = []
    cust = customer if isinstance(customer, Customer) else Customer.objects.filter(code=str(customer or "")).first()
    if cust is None:
        _err(errors, "customer", f"No customer {customer!r}.", "does_not_exist")
    elif not cust.active:
        _err(errors, "customer", f"Customer {cust.code} is inactive.", "inactive")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5):
        _err(errors, "priority", "Priority is a whole number from 1 (highest) to 5.", "invalid")
    order_site = _site_by_code(user, ship_from, errors, "ship_from")
    if not isinstance(promised_date, date):
        _err(errors, "promised_date", "Give the promised date (YYYY-MM-DD).", "required")
    elif promised_date < _promise_day(order_site, cust):
        _err(errors, "promised_date", f"The promised date {promised_date} is in the past.", "in_past")
    if not lines:
        _err(errors, "lines", "An order needs at least one line.", "required")
    if len(lines) > MAX_LINES:
        _err(errors, "lines", f"An order has at most {MAX_LINES} lines.", "too_many")
    skus = {str(line.get("item")) for line in lines if isinstance(line, dict) and line.get("item")}
    items = {i.sku: i for i in Item.objects.filter(sku__in=skus).prefetch_related("units")}
    checked: list[CheckedLine] = []
    seen: dict[tuple[int, str], int] = {}
    for index, raw in enumerate(lines[:MAX_LINES]):
        prefix = f"lines[{index}]"
        if not isinstance(raw, dict):
            _err(errors, prefix, "Each line is an object with item and quantity.")
            continue
        item = items.get(str(raw.get("item") or ""))
        if item is None:
            _err(errors, f"{prefix}.item", f"No item {raw.get('item')!r}.", "does_not_exist")
            continue
        if not item.active:
            _err(errors, f"{prefix}.item", f"Item {item.sku} is inactive.", "inactive")
        unit = str(raw.get("unit") or item.base_unit).upper()
        factors = unit_factors(item)
        try:
            base = to_base_quantity(item, raw.get("quantity"), unit, field=f"{prefix}.quantity")
        except ValidationFailed as exc:
            for e in exc.errors:
                e = dict(e)
                if e["field"] == "unit":
                    e["field"] = f"{prefix}.unit"
                errors.append(e)
            continue
        price_raw = raw.get("unit_price")
        if price_raw in (None, ""):
            price = (Decimal(str(item.standard_cost)) * factors[unit]).quantize(Decimal("0.01"))
        else:
            try:
                price = Decimal(str(price_raw))
                if not price.is_finite() or price < 0 or price > Decimal("9999999999.99"):
                    raise InvalidOperation
                price = price.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                _err(errors, f"{prefix}.unit_price", "Unit price is an amount of 0 or more with 2 decimals.")
                continue
        line_site = _site_by_code(user, raw.get("ship_from"), errors, f"{prefix}.ship_from")
        key = (item.pk, unit)
        if key in seen and not allow_duplicate_lines:
            _err(
                errors,
                f"{prefix}.item",
                f"{item.sku} in {unit} is already on line {seen[key] + 1}; merge the lines or allow duplicate lines.",
                "duplicate",
            )
        seen.setdefault(key, index)
        checked.append(
            CheckedLine(item, unit, factors[unit], Decimal(str(raw.get("quantity"))), base, price, line_site)
        )
    owning = order_site or (cust.home_site if cust else None)
    if cust is not None and owning is None:
        _err(errors, "ship_from", f"Customer {cust.code} has no home site; say which site ships the order.", "required")
    if owning is not None and user is not None and not permissions.can(user, "orders.manage", owning):
        if permissions.can_see_site(user, owning):
            _err(errors, "ship_from", f"Your role at {owning.code} does not allow entering orders.", "forbidden")
        else:
            _err(errors, "customer", f"No customer {getattr(cust, 'code', customer)!r}.", "does_not_exist")
    if errors:
        raise ValidationFailed(
            f"The order has {len(errors)} problem(s): "
            + "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]),
            errors=errors,
        )
    return cust, order_site, checked, (cust.priority if priority is None else priority)


def _write_lines(order: SalesOrder, checked: list[CheckedLine], *, new: bool = False) -> list[SalesOrderLine]:
    if not new:
        order.lines.all().delete()
    return SalesOrderLine.objects.bulk_create(
        [
            SalesOrderLine(
                order=order,
                line_number=i + 1,
                item=c.item,
                unit=c.unit,
                unit_factor=c.unit_factor,
                quantity=c.quantity,
                quantity_base=c.quantity_base,
                unit_price=c.unit_price,
                ship_from=c.ship_from,
            )
            for i, c in enumerate(checked)
        ]
    )


@transaction.atomic
def create_order(
    *,
    user,
    customer,
    promised_date,
    lines: list[dict],
    channel: str = SalesOrder.Channel.API,
    priority: int | None = None,
    ship_from=None,
    customer_reference: str = "",
    ship_to_address: str = "",
    carrier: str = "",
    route: str = "",
    cutoff=None,
    allow_duplicate_lines: bool = False,
) -> SalesOrder:
    """Create a DRAFT order after checking all of it (every problem reported at once)."""
    if channel not in SalesOrder.Channel.values:
        raise ValidationFailed(
            "Unknown channel.",
            errors=[
                {
                    "field": "channel",
                    "code": "invalid_choice",
                    "message": f"One of {', '.join(SalesOrder.Channel.values)}.",
                }
            ],
        )
    carrier, route = clean_code(carrier, "carrier"), clean_code(route, "route")
    cust, site, checked, prio = check_order(
        user=user,
        customer=customer,
        promised_date=promised_date,
        lines=lines,
        ship_from=ship_from,
        allow_duplicate_lines=allow_duplicate_lines,
        priority=priority,
    )
    order = SalesOrder(
        number=next_document_number("SO"),
        customer=cust,
        site=site or cust.home_site,
        channel=channel,
        customer_reference=customer_reference or "",
        priority=prio,
        promised_date=promised_date,
        ship_from=site,
        ship_to_address=ship_to_address or cust.ship_to_address,
        carrier=carrier,
        route=route,
        cutoff=cutoff,
        currency=cust.currency,
        allow_duplicate_lines=allow_duplicate_lines,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(order, user)
    order.save()
    lines = _write_lines(order, checked, new=True)
    emit_order_event("order.created", order, lines=lines)
    _hand_back_with_lines(order, lines)
    return order


def _hand_back_with_lines(order: SalesOrder, lines: list[SalesOrderLine]) -> None:
    """A new draft is handed back with what it holds, as if read with its lines (none has allocations or
    decisions yet): the caller answers from it without reading the order back."""

    def cached(manager, rows):
        qs = manager.all()
        qs._result_cache, qs._prefetch_done = list(rows), True
        return qs

    for line in lines:
        line._prefetched_objects_cache = {"allocations": cached(line.allocations, [])}
    order._prefetched_objects_cache = {
        "lines": cached(order.lines, lines),
        "decisions": cached(order.decisions, []),
    }


def lock_order(order_id: int, user, action: str = "orders.manage") -> SalesOrder:
    order = (
        SalesOrder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("customer", "site")
        .filter(pk=order_id)
        .first()
    )
    if order is None or (user is not None and not permissions.can_see_site(user, order.site_id)):
        raise NotFound("No such sales order.")
    if user is not None:
        permissions.require(user, action, order.site_id, what="sales order")
    return order


@transaction.atomic
def update_draft(*, user, order: SalesOrder, expected_version: int | None = None, **changes) -> SalesOrder:
    """Edit an order while it is a draft (a validated order goes back to draft). Released orders: 409."""
    locked = lock_order(order.pk, user)
    if locked.status not in (S.DRAFT, S.VALIDATED):
        raise StateConflict(f"{locked.number} is {locked.status}; only draft orders can be edited.")
    if expected_version is not None and expected_version != locked.version:
        raise StateConflict("The order was changed by someone else; reload it.", code="stale")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationFailed(
            "Read-only field.",
            errors=[
                {"field": f, "code": "read_only", "message": "This field cannot be changed."} for f in sorted(unknown)
            ],
        )
    current_lines = [
        {
            "item": line.item.sku,
            "quantity": str(line.quantity.normalize()),
            "unit": line.unit,
            "unit_price": str(line.unit_price),
            "ship_from": line.ship_from.code if line.ship_from else None,
        }
        for line in locked.lines.select_related("item", "ship_from")
    ]
    merged = {
        "customer": changes.get("customer", locked.customer),
        "promised_date": changes.get("promised_date", locked.promised_date),
        "lines": changes.get("lines", current_lines),
        "ship_from": changes.get("ship_from", locked.ship_from),
        "allow_duplicate_lines": changes.get("allow_duplicate_lines", locked.allow_duplicate_lines),
        "priority": changes.get("priority", locked.priority),
    }
    cust, site, checked, prio = check_order(user=user, **merged)
    locked.customer = cust
    locked.ship_from = site
    locked.site = site or cust.home_site
    locked.promised_date = merged["promised_date"]
    locked.priority = prio
    locked.allow_duplicate_lines = merged["allow_duplicate_lines"]
    for name in ("channel", "customer_reference", "ship_to_address"):
        if name in changes:
            setattr(locked, name, changes[name] or "")
    for name in ("carrier", "route"):
        if name in changes:
            setattr(locked, name, clean_code(changes[name], name))
    if "cutoff" in changes:
        locked.cutoff = changes["cutoff"]
    locked.status = S.DRAFT
    locked.validated_at = None
    locked.version += 1
    set_history_user(locked, user)
    locked.save()
    if "lines" in changes:
        _write_lines(locked, checked)
    return locked


def _lines_as_input(order: SalesOrder) -> list[dict]:
    return [
        {
            "item": line.item.sku,
            "quantity": str(line.quantity),
            "unit": line.unit,
            "unit_price": str(line.unit_price),
            "ship_from": line.ship_from.code if line.ship_from else None,
        }
        for line in order.lines.select_related("item", "ship_from")
    ]


def _validate_locked(order: SalesOrder, user) -> None:
    check_order(
        user=user,
        customer=order.customer,
        promised_date=order.promised_date,
        lines=_lines_as_input(order),
        ship_from=order.ship_from,
        allow_duplicate_lines=order.allow_duplicate_lines,
        priority=order.priority,
    )
    order.status = S.VALIDATED
    order.validated_at = timezone.now()


@transaction.atomic
def validate_order(*, user, order: SalesOrder) -> SalesOrder:
    """DRAFT -> VALIDATED after checking the whole order again (things change: items, dates)."""
    locked = lock_order(order.pk, user)
    if locked.status == S.VALIDATED:
        return locked
    if locked.status != S.DRAFT:
        raise StateConflict(f"{locked.number} is {locked.status}; only a draft can be validated.")
    _validate_locked(locked, user)
    set_history_user(locked, user)
    locked.save()
    return locked


def order_value(order: SalesOrder) -> Decimal:
    total = order.lines.aggregate(
        v=Sum(
            ExpressionWrapper(
                F("quantity") * F("unit_price"), output_field=DecimalField(max_digits=20, decimal_places=5)
            )
        )
    )
    return (total["v"] or Decimal("0")).quantize(Decimal("0.01"))


def open_order_value(customer: Customer, *, exclude_order_id: int | None = None) -> Decimal:
    """Unshipped value of the customer's released, not yet shipped orders."""
    qs = SalesOrderLine.objects.filter(order__customer=customer, order__status__in=SalesOrder.OPEN_FOR_CREDIT)
    if exclude_order_id:
        qs = qs.exclude(order_id=exclude_order_id)
    total = qs.aggregate(
        v=Sum(
            ExpressionWrapper(
                F("unit_price") * (F("quantity_base") - F("shipped_quantity")) / F("unit_factor"),
                output_field=DecimalField(max_digits=20, decimal_places=5),
            )
        )
    )
    return (total["v"] or Decimal("0")).quantize(Decimal("0.01"))


def credit_decision(*, credit_limit: Decimal, open_value: Decimal, order_value: Decimal, overdue: bool) -> str | None:
    """Pure policy: the reason to hold the order for credit, or None when it may be released."""
    if overdue:
        return "The customer has overdue invoices."
    if open_value + order_value > credit_limit:
        return (
            f"Open orders {open_value} plus this order {order_value} exceed the credit limit {credit_limit} "
            f"by {open_value + order_value - credit_limit}."
        )
    return None


def _enqueue_allocation(order: SalesOrder) -> None:
    """The allocation of a released order: the site's batched allocation task, through the outbox."""
    from .allocation import enqueue_released_allocation

    enqueue_released_allocation(order.site_id)


def _enqueue_order_allocation(order: SalesOrder) -> None:
    """The allocation of one order that allocation has seen before (released again from a hold)."""
    from governance.services.outbox import enqueue_task
    from orders.tasks import allocate_order_task

    enqueue_task(allocate_order_task, args=[order.pk], site=order.site_id, dedup_key=f"allocate_order:{order.pk}")


@atomic_with_retry
def release_order(*, user, order: SalesOrder) -> SalesOrder:
    """Release for allocation (validating a draft first). A credit problem puts it ON_HOLD with an exception
    and an approval request instead. Allocation runs on the allocation worker after commit."""
    locked = lock_order(order.pk, user)
    if locked.status == S.ON_HOLD:
        raise StateConflict(f"{locked.number} is on hold ({locked.hold_reason}); an approver must release it.")
    if locked.status not in (S.DRAFT, S.VALIDATED):
        raise StateConflict(f"{locked.number} is {locked.status} and cannot be released.")
    if locked.status == S.DRAFT:
        _validate_locked(locked, user)
    customer = Customer.objects.select_for_update(no_key=True).get(pk=locked.customer_id)  # serialise credit checks
    hold = None
    if get_rule("orders.credit_check_enabled", locked.site_id):
        hold = credit_decision(
            credit_limit=customer.credit_limit,
            open_value=open_order_value(customer, exclude_order_id=locked.pk),
            order_value=order_value(locked),
            overdue=customer.credit_overdue,
        )
    set_history_user(locked, user)
    if hold:
        locked.status = S.ON_HOLD
        locked.hold_reason = f"Credit hold: {hold}"[:300]
        locked.save()
        open_exception(
            site=locked.site,
            code="CREDIT_HOLD",
            subject=locked,
            summary=hold,
            user=user,
            details={"customer": customer.code, "credit_limit": str(customer.credit_limit)},
        )
        request_approval(
            kind=HOLD_APPROVAL,
            site=locked.site,
            subject=locked,
            requested_by=user,
            reason=locked.hold_reason,
            rule_key="orders.credit_check_enabled",
            threshold=customer.credit_limit,
            value=order_value(locked),
        )
        return locked
    locked.status = S.RELEASED
    locked.released_at = timezone.now()
    locked.save()
    _enqueue_allocation(locked)
    emit_order_event("order.released", locked)
    return locked


@transaction.atomic
def hold_order(*, user, order: SalesOrder, reason: str) -> SalesOrder:
    """Manual hold before picking; released only by an approver (approvals API)."""
    if not (reason or "").strip():
        raise ValidationFailed(
            "Say why the order is held.",
            errors=[{"field": "reason", "code": "required", "message": "A reason is required."}],
        )
    locked = lock_order(order.pk, user)
    from .fulfilment import order_facts, require_action

    require_action(locked, lifecycle.HOLD, facts=order_facts(locked))
    # the warehouse takes the order off its waves (or refuses): a held order is never picked
    order_withdrawing.send(sender=SalesOrder, order=locked, user=user, action=lifecycle.HOLD)
    locked.status = S.ON_HOLD
    locked.hold_reason = f"Manual hold: {reason.strip()}"[:300]
    set_history_user(locked, user)
    locked.save()
    request_approval(kind=HOLD_APPROVAL, site=locked.site, subject=locked, requested_by=user, reason=locked.hold_reason)
    return locked


def _on_hold_approved(approval: ApprovalRequest, user) -> None:
    order = SalesOrder.objects.select_for_update(no_key=True).get(pk=approval.object_id)
    if order.status != S.ON_HOLD:
        raise StateConflict(f"{order.number} is {order.status}, not on hold.")
    order.status = S.RELEASED
    order.released_at = order.released_at or timezone.now()
    order.hold_reason = ""
    set_history_user(order, user)
    order.save()
    emit_order_event("order.released", order)
    resolve_exceptions_for_subject(
        subject=order, code="CREDIT_HOLD", user=user, note=f"Hold released by {user} (approval {approval.pk})."
    )
    # not the site's batch: that takes only orders no allocation has looked at yet, and an order held after
    # allocation (or after waiting) has decisions and may hold allocations: it is allocated (its status derived
    # again) by its own task (chaos short run: an order released from hold stayed RELEASED)
    _enqueue_order_allocation(order)


def _on_hold_rejected(approval: ApprovalRequest, user) -> None:
    order = SalesOrder.objects.select_for_update(no_key=True).get(pk=approval.object_id)
    order.hold_reason = f"{order.hold_reason} Release refused by {user}."[:300]
    set_history_user(order, user)
    order.save()


@atomic_with_retry
def cancel_order(*, user, order: SalesOrder, reason: str = "") -> SalesOrder:
    """Cancel until the first unit is picked; every allocation is given back at once and backorders are woken.
    An order on a wave leaves it first (its open pick tasks cancelled, their units unreserved) unless the site
    rule ``orders.cancel_waved_orders`` is off; once a unit is picked, cancel is refused (409)."""
    from .allocation import release_allocations
    from .fulfilment import order_facts, require_action

    locked = lock_order(order.pk, user)
    if locked.status == S.CANCELLED:
        raise StateConflict(f"{locked.number} is already cancelled.")
    require_action(locked, lifecycle.CANCEL, facts=order_facts(locked))
    open_allocations = Allocation.objects.filter(line__order=locked, status=Allocation.Status.OPEN)
    # the one lock order (documents, stock levels, quants): the levels the release below lowers are locked
    # before the warehouse gives back its pick reservations (quants), or this cycles with a pick's ledger post
    lock_levels(set(open_allocations.values_list("item_id", "site_id")), create=False)
    # the warehouse takes the order off its waves (or refuses, rolling the cancel back)
    order_withdrawing.send(sender=SalesOrder, order=locked, user=user, action=lifecycle.CANCEL)
    release_allocations(open_allocations)
    locked.lines.update(allocated_quantity=0, backordered_quantity=0, backordered_since=None)
    locked.status = S.CANCELLED
    locked.cancelled_at = timezone.now()
    locked.hold_reason = (reason or "")[:300] if reason else locked.hold_reason
    set_history_user(locked, user)
    locked.save()
    emit_order_event("order.cancelled", locked, reason=reason or "")
    cancel_approvals_for(subject=locked, note="Order cancelled.", user=user)
    resolve_exceptions_for_subject(subject=locked, code="CREDIT_HOLD", user=user, note="Order cancelled.")
    for line in locked.lines.all():
        resolve_exceptions_for_subject(subject=line, code="UNALLOCATED_LINE", user=user, note="Order cancelled.")
    return locked


def register_handlers() -> None:
    register_approval_handler(
        HOLD_APPROVAL,
        ApprovalHandler(on_approved=_on_hold_approved, on_rejected=_on_hold_rejected, action="orders.release_hold"),
    )
