"""Purchasing: suppliers and purchase orders (the inbound supply that receiving checks against)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import NotFound, RuleViolation, StateConflict, ValidationFailed
from core.validation import field_error, full_clean_or_raise
from governance import permissions
from governance.models import Site
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from inventory.models import Item
from inventory.units import to_base_quantity
from orders.models import PurchaseOrder, PurchaseOrderLine, ShipNoticeLine, Supplier
from orders.policy.purchasing import over_receipt_limit, status_after_receipt

SUPPLIER_FIELDS = (
    "name",
    "active",
    "email",
    "lead_time_days",
    "requires_inspection",
    "over_receipt_tolerance_percent",
    "currency",
)


@transaction.atomic
def create_supplier(*, user, code: str, name: str, **fields) -> Supplier:
    if user is not None:
        permissions.require_master_data(user)
    unknown = set(fields) - set(SUPPLIER_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "Unknown field.", "unknown")
    supplier = Supplier(code=code, name=name, **fields)
    full_clean_or_raise(supplier)
    set_history_user(supplier, user)
    try:
        with transaction.atomic():
            supplier.save()
    except IntegrityError:
        raise field_error("code", f"A supplier with code {code} exists already.", "unique")
    return supplier


@transaction.atomic
def update_supplier(*, user, supplier: Supplier, **changes) -> Supplier:
    permissions.require_master_data(user)
    locked = Supplier.objects.select_for_update(no_key=True).get(pk=supplier.pk)
    for name, value in changes.items():
        if name not in SUPPLIER_FIELDS:
            raise field_error(name, "This field cannot be changed.", "read_only")
        setattr(locked, name, value)
    full_clean_or_raise(locked)
    set_history_user(locked, user)
    locked.save()
    return locked


@transaction.atomic
def create_purchase_order(
    *, user, supplier, site: Site, expected_date: date, lines: list[dict], supplier_reference: str = "", note: str = ""
) -> PurchaseOrder:
    """Create an OPEN purchase order. Lines: ``{item: sku, quantity, unit?, unit_cost?}``; every problem is
    reported at once."""
    if user is not None:
        if not permissions.can_see_site(user, site):
            raise field_error("site", f"No site {site.code!r}.", "does_not_exist")
        permissions.require(user, "purchasing.manage", site, what="site")
    errors: list[dict] = []
    sup = supplier if isinstance(supplier, Supplier) else Supplier.objects.filter(code=str(supplier)).first()
    if sup is None:
        errors.append({"field": "supplier", "code": "does_not_exist", "message": f"No supplier {supplier!r}."})
    elif not sup.active:
        errors.append({"field": "supplier", "code": "inactive", "message": f"Supplier {sup.code} is inactive."})
    if not isinstance(expected_date, date):
        errors.append({"field": "expected_date", "code": "required", "message": "Give the expected date."})
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "A purchase order needs lines."})
    items = {
        i.sku: i
        for i in Item.objects.filter(sku__in=[str(line.get("item")) for line in lines]).prefetch_related("units")
    }
    checked = []
    for index, line in enumerate(lines):
        prefix = f"lines[{index}]"
        item = items.get(str(line.get("item")))
        if item is None:
            errors.append(
                {"field": f"{prefix}.item", "code": "does_not_exist", "message": f"No item {line.get('item')!r}."}
            )
            continue
        if not item.active:
            errors.append({"field": f"{prefix}.item", "code": "inactive", "message": f"{item.sku} is inactive."})
        try:
            qty = to_base_quantity(item, line.get("quantity"), line.get("unit") or None, field=f"{prefix}.quantity")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        cost_raw = line.get("unit_cost")
        try:
            cost = Decimal(str(item.standard_cost if cost_raw in (None, "") else cost_raw))
            if not cost.is_finite() or cost < 0 or cost > Decimal("9999999999"):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors.append(
                {"field": f"{prefix}.unit_cost", "code": "invalid", "message": "Unit cost is an amount of 0 or more."}
            )
            continue
        checked.append((item, qty, cost.quantize(Decimal("0.01"))))
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]), errors=errors)
    po = PurchaseOrder(
        number=next_document_number("PO"),
        supplier=sup,
        site=site,
        expected_date=expected_date,
        currency=sup.currency,
        supplier_reference=supplier_reference or "",
        note=note or "",
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(po, user)
    po.save()
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(purchase_order=po, line_number=i + 1, item=item, quantity=qty, unit_cost=cost)
            for i, (item, qty, cost) in enumerate(checked)
        ]
    )
    return po


def lock_purchase_order(po_id: int, user, action: str = "purchasing.manage") -> PurchaseOrder:
    po = (
        PurchaseOrder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("supplier", "site")
        .filter(pk=po_id)
        .first()
    )
    if po is None or (user is not None and not permissions.can_see_site(user, po.site_id)):
        raise NotFound("No such purchase order.")
    if user is not None:
        permissions.require(user, action, po.site_id, what="purchase order")
    return po


def lock_purchase_order_lines(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    """Lock the lines of ``po`` (whose row the caller has locked first), by line number, with their items (read,
    not locked: FOR NO KEY UPDATE OF the line rows only, so receipts and foreign-key checks do not deadlock)."""
    return list(
        PurchaseOrderLine.objects.select_for_update(of=("self",), no_key=True)
        .filter(purchase_order=po)
        .select_related("item")
        .order_by("line_number")
    )


def over_receipt_rules(po: PurchaseOrder) -> tuple[Decimal, str]:
    """The over-receipt tolerance in percent (the supplier's own, else the site's rule) and the site's action
    beyond it (REFUSE the receipt, or HOLD the excess for inspection)."""
    from governance.services.rules import get_rule

    tolerance = po.supplier.over_receipt_tolerance_percent
    if tolerance is None:
        tolerance = get_rule("receiving.over_receipt_tolerance_percent", po.site_id)
    return tolerance, get_rule("receiving.over_receipt_action", po.site_id)


def _quantity(value, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise field_error(field, "Give a whole number of units, 0 or more.", "invalid")
    return value


@transaction.atomic
def record_receipt(
    *, po: PurchaseOrder, quantities_by_line: dict[int, tuple[int, int]], user, final: bool = True, at=None
) -> PurchaseOrder:
    """Record what a receipt brought against ``po``: ``{po_line_id: (good, rejected)}`` units added to the lines'
    received and rejected quantities (with history), then the PO's status (with history): RECEIVED when every
    line is received, CLOSED after a final delivery that leaves something open, else PARTIALLY_RECEIVED.

    Refused (nothing changes) when the PO is not receivable, a line is not the PO's, a quantity is not a whole
    number of units, or, where the site refuses over-receipts, a line would exceed its tolerance (receiving
    checks this first, line by line; this is the owner's guarantee)."""
    from simple_history.utils import bulk_update_with_history

    po = lock_purchase_order(po.pk, None)
    if po.status not in PurchaseOrder.RECEIVABLE:
        raise StateConflict(f"{po.number} is {po.status}; it cannot be received against.")
    lines = lock_purchase_order_lines(po)
    by_id = {line.pk: line for line in lines}
    unknown = sorted(set(quantities_by_line) - set(by_id))
    if unknown:
        raise field_error("quantities_by_line", f"Lines {unknown} are not on {po.number}.", "not_on_order")
    tolerance, action = over_receipt_rules(po)
    changed = []
    for line_id, (good, rejected) in sorted(quantities_by_line.items()):
        good = _quantity(good, f"quantities_by_line[{line_id}].good")
        rejected = _quantity(rejected, f"quantities_by_line[{line_id}].rejected")
        line = by_id[line_id]
        after = line.received_quantity + line.rejected_quantity + good + rejected
        limit = over_receipt_limit(line.quantity, tolerance)
        if action == "REFUSE" and after > limit:
            raise RuleViolation(
                f"{line.item.sku}: {after} received against {line.quantity} ordered is beyond the site's "
                f"{tolerance}% over-receipt tolerance (at most {limit}); the receipt is refused.",
                code="over_receipt",
            )
        if good or rejected:
            line.received_quantity += good
            line.rejected_quantity += rejected
            changed.append(line)
    now = at or timezone.now()
    if changed:
        bulk_update_with_history(
            changed,
            PurchaseOrderLine,
            ["received_quantity", "rejected_quantity"],
            default_user=user if getattr(user, "is_authenticated", False) else None,
            default_date=now,
        )
    complete = all(line.received_quantity + line.rejected_quantity >= line.quantity for line in lines)
    po.status = status_after_receipt(complete=complete, final=final)
    if po.status != PurchaseOrder.Status.PARTIALLY_RECEIVED:
        po.closed_at = now
    set_history_user(po, user)
    po.save()
    return po


@transaction.atomic
def record_rejection(*, po_line_id: int, quantity: int, user) -> PurchaseOrderLine:
    """Units counted as received on a PO line were rejected afterwards (returned to the vendor after inspection):
    move ``quantity`` from the line's received to its rejected quantity, with history. The PO's status does not
    change (the line's total is the same). Refused when the line has fewer units received."""
    quantity = _quantity(quantity, "quantity")
    po_id = PurchaseOrderLine.objects.filter(pk=po_line_id).values_list("purchase_order_id", flat=True).first()
    if po_id is None:
        raise NotFound("No such purchase order line.")
    lock_purchase_order(po_id, None)  # the order's row first, as receipts lock it: then its line
    line = (
        PurchaseOrderLine.objects.select_for_update(of=("self",), no_key=True)
        .select_related("purchase_order")
        .filter(pk=po_line_id)
        .first()
    )
    if line is None:
        raise NotFound("No such purchase order line.")
    if quantity > line.received_quantity:
        raise StateConflict(
            f"{line.purchase_order.number} line {line.line_number} has {line.received_quantity} units received; "
            f"{quantity} cannot be rejected."
        )
    line.received_quantity -= quantity
    line.rejected_quantity += quantity
    set_history_user(line, user)
    line.save(update_fields=["received_quantity", "rejected_quantity"])
    # the order changed (its change feed shows it again); no history row of its own: the line has one
    PurchaseOrder.objects.filter(pk=line.purchase_order_id).update(updated_at=timezone.now())
    return line


@transaction.atomic
def cancel_purchase_order(*, user, purchase_order: PurchaseOrder, reason: str = "") -> PurchaseOrder:
    po = lock_purchase_order(purchase_order.pk, user)
    if po.status == PurchaseOrder.Status.CANCELLED:
        raise StateConflict(f"{po.number} is already cancelled.")
    if po.status != PurchaseOrder.Status.OPEN or po.lines.filter(received_quantity__gt=0).exists():
        raise StateConflict(
            f"{po.number} is {po.status}; only an order with nothing received can be cancelled (close it instead)."
        )
    po.status = PurchaseOrder.Status.CANCELLED
    po.closed_at = timezone.now()
    if reason:
        po.note = f"{po.note}\nCancelled: {reason}".strip()
    set_history_user(po, user)
    po.save()
    return po


@transaction.atomic
def add_ship_notice(*, user, purchase_order: PurchaseOrder, lines: list[dict]) -> list[ShipNoticeLine]:
    """Record the supplier's advance ship notice: ``{item, lot_number, expiry_date?, quantity}`` per lot."""
    po = lock_purchase_order(purchase_order.pk, user)
    if po.status not in PurchaseOrder.RECEIVABLE:
        raise StateConflict(f"{po.number} is {po.status}.")
    po_lines = {line.item.sku: line for line in po.lines.select_related("item")}
    rows = []
    for index, raw in enumerate(lines):
        po_line = po_lines.get(str(raw.get("item")))
        if po_line is None:
            raise field_error(f"lines[{index}].item", f"{raw.get('item')!r} is not on {po.number}.", "not_on_order")
        qty = to_base_quantity(
            po_line.item, raw.get("quantity"), raw.get("unit") or None, field=f"lines[{index}].quantity"
        )
        rows.append(
            ShipNoticeLine(
                po_line=po_line,
                lot_number=str(raw.get("lot_number") or ""),
                expiry_date=raw.get("expiry_date"),
                quantity=qty,
            )
        )
    return ShipNoticeLine.objects.bulk_create(rows)


def sweep_overdue_receipts(*, today: date | None = None, now: datetime | None = None) -> dict:
    """Open an OVERDUE_RECEIPT exception for every open PO line past its expected date plus the site's grace
    days, and resolve those whose line has since been received, closed or cancelled. Idempotent."""
    from django.db.models import F

    from governance import selectors as governance_selectors
    from governance.services import open_exception
    from governance.services.rules import get_rule_for_sites
    from governance.services.sites import site_local_date

    counts = {"opened": 0, "already_open": 0, "resolved": 0}
    lines = list(
        PurchaseOrderLine.objects.filter(
            purchase_order__status__in=PurchaseOrder.RECEIVABLE,
            quantity__gt=F("received_quantity") + F("rejected_quantity"),
        ).select_related("purchase_order__site", "item")
    )
    grace = get_rule_for_sites("receiving.overdue_grace_days", sorted({pol.purchase_order.site_id for pol in lines}))
    overdue_ids = set()
    site_today = {}  # each site's own calendar day (its time zone) unless a day is given
    for pol in lines:
        po = pol.purchase_order
        if po.site_id not in site_today:
            site_today[po.site_id] = today or site_local_date(po.site, now)
        day = site_today[po.site_id]
        if (day - po.expected_date).days > grace[po.site_id]:
            overdue_ids.add(pol.pk)
            _, created = open_exception(
                site=po.site,
                code="OVERDUE_RECEIPT",
                subject=pol,
                summary=f"{po.number} line {pol.line_number}: {pol.open_quantity} {pol.item.sku} expected "
                f"{po.expected_date}, {(day - po.expected_date).days} days ago.",
                details={"purchase_order": po.number, "expected_date": str(po.expected_date)},
            )
            counts["opened" if created else "already_open"] += 1
    from governance.services import resolve_exceptions_for_subject

    flagged = governance_selectors.open_exception_subject_ids(model=PurchaseOrderLine, code="OVERDUE_RECEIPT")
    for pol in PurchaseOrderLine.objects.filter(pk__in=flagged - overdue_ids).order_by("pk"):
        counts["resolved"] += resolve_exceptions_for_subject(
            subject=pol, code="OVERDUE_RECEIPT", note="Received, closed or no longer overdue."
        )
    return counts
