"""The receipt control point: receive against a purchase order, record every discrepancy, land stock
RECEIVED (or HOLD / DAMAGED), create putaway tasks; quality inspection releases or rejects held stock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from core.db import atomic_with_retry
from core.errors import NotFound, RuleViolation, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.services import open_exception
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date, site_zone
from inventory.models import InventoryStatus, Item, Location, StockMove
from inventory.services import MoveLine, post_moves, resolve_lot, virtual_location
from inventory.units import to_base_quantity
from orders.models import PurchaseOrder, PurchaseOrderLine, ShipNoticeLine
from orders.policy.purchasing import over_receipt_limit
from orders.services.purchasing import (
    lock_purchase_order,
    lock_purchase_order_lines,
    over_receipt_rules,
    record_receipt,
    record_rejection,
)
from warehouse.events import emit_receipt_confirmed
from warehouse.models import Discrepancy, Receipt, ReceiptLine

from .putaway import create_putaway_task

S = InventoryStatus
D = Discrepancy.Code


@dataclass
class _Line:
    index: int
    item: Item
    quantity: int
    damaged: int
    lot_number: str
    expiry_date: date | None


def receiving_location(site_id: int) -> Location:
    location = (
        Location.objects.filter(site_id=site_id, kind=Location.Kind.RECEIVING, active=True).order_by("code").first()
    )
    if location is None:
        raise RuleViolation("This site has no active RECEIVING location; an admin must create one.")
    return location


def touch_receipt(receipt: Receipt) -> None:
    """Stamp the receipt's ``updated_at`` after a change of one of its lines (inspection), so the change feed
    shows the receipt (no history row: the line changed, not the receipt's fields)."""
    receipt.updated_at = timezone.now()
    Receipt.objects.filter(pk=receipt.pk).update(updated_at=receipt.updated_at)


def _parse_lines(lines: list[dict]) -> list[_Line]:
    errors: list[dict] = []
    items = {
        i.sku: i
        for i in Item.objects.filter(
            sku__in=[str(x.get("item")) for x in lines if isinstance(x, dict)]
        ).prefetch_related("units")
    }
    out = []
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "A receipt needs lines."})
    for index, raw in enumerate(lines):
        prefix = f"lines[{index}]"
        item = items.get(str(raw.get("item")))
        if item is None:
            errors.append(
                {"field": f"{prefix}.item", "code": "does_not_exist", "message": f"No item {raw.get('item')!r}."}
            )
            continue
        try:
            qty = to_base_quantity(
                item, raw.get("quantity", 0), raw.get("unit") or None, field=f"{prefix}.quantity", allow_zero=True
            )
            damaged = to_base_quantity(
                item,
                raw.get("damaged_quantity", 0) or 0,
                raw.get("unit") or None,
                field=f"{prefix}.damaged_quantity",
                allow_zero=True,
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if qty + damaged == 0:
            errors.append(
                {
                    "field": f"{prefix}.quantity",
                    "code": "not_positive",
                    "message": "Receive at least one unit (good or damaged).",
                }
            )
        lot_number = str(raw.get("lot") or "").strip()
        if item.lot_tracked and not lot_number:
            errors.append({"field": f"{prefix}.lot", "code": "required", "message": f"{item.sku} is lot tracked."})
        if not item.lot_tracked and lot_number:
            errors.append(
                {"field": f"{prefix}.lot", "code": "lot_not_tracked", "message": f"{item.sku} is not lot tracked."}
            )
        expiry = raw.get("expiry_date")
        if item.lot_tracked and item.shelf_life_days and not expiry:
            errors.append(
                {
                    "field": f"{prefix}.expiry_date",
                    "code": "required",
                    "message": f"{item.sku} has a shelf life; give the expiry date.",
                }
            )
        out.append(_Line(index, item, qty, damaged, lot_number, expiry))
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]), errors=errors)
    return out


@atomic_with_retry
def receive(
    *, user, purchase_order: PurchaseOrder, lines: list[dict], final: bool = True, note: str = "", received_at=None
) -> Receipt:
    """Receive a delivery against ``purchase_order``.

    The purchase order row is locked first, so two receipts of the same PO line queue and can never
    together exceed the tolerance. Every difference becomes a discrepancy with its exception.
    """
    po = lock_purchase_order(purchase_order.pk, user, action="inventory.receive")
    if po.status not in PurchaseOrder.RECEIVABLE:
        raise StateConflict(f"{po.number} is {po.status}; it cannot be received against.")
    parsed = _parse_lines(lines)
    site_id = po.site_id
    dock = receiving_location(site_id)
    now = received_at or timezone.now()
    tolerance, action = over_receipt_rules(po)
    # the PO's lines are orders' rows: read under lock here, their quantities recorded by orders (record_receipt)
    po_lines = lock_purchase_order_lines(po)
    added: dict[int, list[int]] = {}  # po line id -> [good, rejected] units of this receipt

    def counted(p: PurchaseOrderLine) -> int:
        good, rejected = added.get(p.pk, (0, 0))
        return p.received_quantity + p.rejected_quantity + good + rejected

    by_item: dict[int, list[PurchaseOrderLine]] = {}
    for pol in po_lines:
        by_item.setdefault(pol.item_id, []).append(pol)
    notices: dict[int, set[str]] = {}
    for n in ShipNoticeLine.objects.filter(po_line__in=po_lines):
        notices.setdefault(n.po_line_id, set()).add(n.lot_number)

    receipt = Receipt(
        number=next_document_number("RCV"),
        site_id=site_id,
        purchase_order=po,
        location=dock,
        final=final,
        note=note or "",
        received_by=user if getattr(user, "is_authenticated", False) else None,
        received_at=now,
    )
    set_history_user(receipt, user)
    receipt.save()
    supplier_inspects = po.supplier.requires_inspection
    discrepancies: list[tuple[Discrepancy, str]] = []
    move_lines: list[MoveLine] = []
    putaway: list[tuple[ReceiptLine, int]] = []
    supplier_loc = virtual_location(site_id, Location.Kind.SUPPLIER)

    def add_disc(code, detail, *, line=None, pol=None, item=None, expected=0, actual=0):
        discrepancies.append(
            (
                Discrepancy(
                    receipt=receipt,
                    line=line,
                    po_line=pol,
                    item=item,
                    code=code,
                    expected=expected,
                    actual=actual,
                    detail=detail[:300],
                    created_at=now,
                ),
                Discrepancy.EXCEPTION_CODE[code],
            )
        )

    for parsed_line in parsed:
        item = parsed_line.item
        lot = (
            resolve_lot(
                item,
                parsed_line.lot_number or None,
                parsed_line.expiry_date,
                create=True,
                field=f"lines[{parsed_line.index}].lot",
            )
            if item.lot_tracked
            else None
        )
        candidates = by_item.get(item.pk, [])
        pol = next((p for p in candidates if p.quantity - counted(p) > 0), candidates[0] if candidates else None)
        good, damaged, excess = parsed_line.quantity, parsed_line.damaged, 0
        if pol is None:
            status = S.HOLD
        else:
            after = counted(pol) + good + damaged
            limit = over_receipt_limit(pol.quantity, tolerance)
            if after > limit:
                if action == "REFUSE":
                    raise RuleViolation(
                        f"{item.sku}: {after} received against {pol.quantity} ordered is beyond the site's "
                        f"{tolerance}% over-receipt tolerance (at most {limit}); the receipt is refused.",
                        field=f"lines[{parsed_line.index}].quantity",
                        code="over_receipt",
                    )
                excess = min(after - limit, good)
            status = S.HOLD if (item.requires_inspection or supplier_inspects) else S.RECEIVED
        regular = good - excess
        held = (good if status == S.HOLD else excess) if pol is not None else good + damaged
        line = ReceiptLine.objects.create(
            receipt=receipt,
            po_line=pol,
            item=item,
            lot=lot,
            quantity=good if pol else good + damaged,
            damaged_quantity=damaged if pol else 0,
            landed_status=status,
            held_quantity=held,
            inspection=ReceiptLine.Inspection.PENDING if held else ReceiptLine.Inspection.NOT_REQUIRED,
        )
        lot_id = lot.pk if lot else None
        if pol is None:
            add_disc(
                D.WRONG_ITEM,
                f"{item.sku} is not on {po.number}; {good + damaged} units held for inspection.",
                line=line,
                item=item,
                actual=good + damaged,
            )
            move_lines.append(MoveLine(item.pk, lot_id, good + damaged, supplier_loc, "", dock, S.HOLD))
            continue
        this_receipt = added.setdefault(pol.pk, [0, 0])
        this_receipt[0] += good
        this_receipt[1] += damaged
        if after > pol.quantity:
            add_disc(
                D.OVER,
                f"{item.sku}: {after} received against {pol.quantity} ordered"
                + (f"; {excess} beyond tolerance held for inspection." if excess else " (within tolerance)."),
                line=line,
                pol=pol,
                item=item,
                expected=pol.quantity,
                actual=after,
            )
        if damaged:
            add_disc(D.DAMAGED, f"{damaged} {item.sku} arrived damaged.", line=line, pol=pol, item=item, actual=damaged)
        expected_lots = notices.get(pol.pk)
        if expected_lots and item.lot_tracked and parsed_line.lot_number not in expected_lots:
            add_disc(
                D.LOT_MISMATCH,
                f"{item.sku}: lot {parsed_line.lot_number} is not on the ship notice "
                f"({', '.join(sorted(expected_lots))}).",
                line=line,
                pol=pol,
                item=item,
            )
        if regular:
            move_lines.append(
                MoveLine(item.pk, lot_id, regular, supplier_loc, "", dock, status, unit_cost=pol.unit_cost)
            )
        if excess:
            move_lines.append(
                MoveLine(
                    item.pk,
                    lot_id,
                    excess,
                    supplier_loc,
                    "",
                    dock,
                    S.HOLD,
                    unit_cost=pol.unit_cost,
                    note="over tolerance, held for inspection",
                )
            )
        if damaged:
            move_lines.append(
                MoveLine(
                    item.pk,
                    lot_id,
                    damaged,
                    supplier_loc,
                    "",
                    dock,
                    S.DAMAGED,
                    unit_cost=pol.unit_cost,
                    note="damaged on receipt",
                )
            )
        if status == S.RECEIVED and regular:
            putaway.append((line, regular))

    received_on = site_local_date(po.site, now)
    if received_on > po.expected_date and not _late_recorded(po, received_on):
        add_disc(
            D.LATE,
            f"Received {received_on}, expected {po.expected_date}.",
            expected=0,
            actual=(received_on - po.expected_date).days,
        )
    if final:
        for pol in po_lines:
            if counted(pol) < pol.quantity:
                missing = pol.quantity - counted(pol)
                add_disc(
                    D.SHORT,
                    f"{pol.item.sku}: {missing} of {pol.quantity} missing from the delivery.",
                    pol=pol,
                    item=pol.item,
                    expected=pol.quantity,
                    actual=counted(pol),
                )

    post_moves(
        lines=move_lines,
        kind=StockMove.Kind.RECEIPT,
        user=user,
        reference=receipt.number,
        document=receipt,
        received_at=now,
    )
    po = record_receipt(
        po=po,
        quantities_by_line={pk: (good, rejected) for pk, (good, rejected) in added.items()},
        user=user,
        final=final,
        at=now,
    )
    for disc, code in discrepancies:
        disc.save()
        open_exception(
            site=po.site,
            code=code,
            subject=disc,
            summary=f"{receipt.number}: {disc.detail}",
            user=user,
            details={"receipt": receipt.number, "purchase_order": po.number},
        )
    for line, qty in putaway:
        create_putaway_task(line=line, quantity=qty, from_location=dock, received_at=now)
    emit_receipt_confirmed(receipt, [disc for disc, _code in discrepancies])
    return receipt


def _late_recorded(po: PurchaseOrder, received_on: date) -> bool:
    """A delivery received over several receipts on one day (scanned case by case) is late once: a LATE
    discrepancy of another receipt of the (locked) PO on that site day counts for all of them."""
    zone = site_zone(po.site)
    start = datetime.combine(received_on, time.min, tzinfo=zone)
    return Discrepancy.objects.filter(
        code=Discrepancy.Code.LATE,
        receipt__purchase_order_id=po.pk,
        receipt__received_at__gte=start,
        receipt__received_at__lt=start + timedelta(days=1),
    ).exists()


@atomic_with_retry
def inspect_receipt_line(
    *,
    user,
    line: ReceiptLine,
    release_quantity: int = 0,
    reject_quantity: int = 0,
    reject_to: str = "DAMAGED",
    note: str = "",
) -> ReceiptLine:
    """Quality inspection of held units: released ones become RECEIVED (and get a putaway task); rejected
    ones become DAMAGED or go back to the vendor. Both are ledger moves."""
    locked = (
        ReceiptLine.objects.select_for_update(of=("self",), no_key=True)
        .select_related("receipt", "item", "lot")
        .filter(pk=line.pk)
        .first()
    )
    if locked is None or not permissions.can_see_site(user, locked.receipt.site_id):
        raise NotFound("No such receipt line.")
    permissions.require(user, "warehouse.plan", locked.receipt.site_id, what="receipt line")
    for field, value in (("release_quantity", release_quantity), ("reject_quantity", reject_quantity)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise field_error(field, "Give a whole number of units, 0 or more.", "invalid")
    if release_quantity + reject_quantity == 0:
        raise field_error("release_quantity", "Release or reject at least one unit.", "not_positive")
    if reject_to not in ("DAMAGED", "RETURN_TO_VENDOR"):
        raise field_error("reject_to", "Rejected units go to DAMAGED or RETURN_TO_VENDOR.", "invalid_choice")
    dock = locked.receipt.location
    from inventory.services import find_quant

    quant = find_quant(item=locked.item, location=dock, status=S.HOLD, lot=locked.lot)
    held = min(
        quant.quantity - quant.reserved if quant else 0,
        locked.quantity - locked.released_quantity - locked.rejected_quantity,
    )
    if release_quantity + reject_quantity > held:
        raise StateConflict(
            f"Only {max(held, 0)} units of this line are on hold; cannot inspect {release_quantity + reject_quantity}."
        )
    lot_id = locked.lot_id
    moves = []
    if release_quantity:
        moves.append(
            MoveLine(
                locked.item_id,
                lot_id,
                release_quantity,
                dock,
                S.HOLD,
                dock,
                S.RECEIVED,
                note=note or "released by inspection",
            )
        )
    if reject_quantity and reject_to == "DAMAGED":
        moves.append(
            MoveLine(
                locked.item_id,
                lot_id,
                reject_quantity,
                dock,
                S.HOLD,
                dock,
                S.DAMAGED,
                note=note or "rejected by inspection",
            )
        )
    if moves:
        post_moves(
            lines=moves,
            kind=StockMove.Kind.STATUS,
            user=user,
            reference=locked.receipt.number,
            document=locked.receipt,
            reason_code="INSPECTION",
        )
    if reject_quantity and reject_to == "RETURN_TO_VENDOR":
        supplier = virtual_location(dock.site_id, Location.Kind.SUPPLIER)
        post_moves(
            lines=[
                MoveLine(
                    locked.item_id,
                    lot_id,
                    reject_quantity,
                    dock,
                    S.HOLD,
                    supplier,
                    "",
                    note=note or "returned to vendor after inspection",
                )
            ],
            kind=StockMove.Kind.RETURN,
            user=user,
            reference=locked.receipt.number,
            document=locked.receipt,
            reason_code="RETURN_TO_VENDOR",
        )
        if locked.po_line_id:
            record_rejection(po_line_id=locked.po_line_id, quantity=reject_quantity, user=user)
    locked.released_quantity += release_quantity
    locked.rejected_quantity += reject_quantity
    if locked.on_hold <= 0:
        locked.inspection = ReceiptLine.Inspection.DONE
    locked.save(update_fields=["released_quantity", "rejected_quantity", "inspection"])
    touch_receipt(locked.receipt)
    if release_quantity:
        create_putaway_task(line=locked, quantity=release_quantity, from_location=dock, received_at=timezone.now())
    return locked


def units_awaiting_inspection(item, location, lot, status) -> tuple[int, str]:
    """inventory's ``register_release_owner``: the units of ``item`` (``lot``) on HOLD at the dock ``location`` that
    wait for their receipt line's inspection (``inspect_receipt_line`` releases them and creates their putaway;
    a plain release would leave them RECEIVED with no task and the line pending), and the receipts they are on."""
    if status != S.HOLD or location.kind != Location.Kind.RECEIVING:
        return 0, ""
    lines = ReceiptLine.objects.filter(
        item=item, lot=lot, receipt__location=location, inspection=ReceiptLine.Inspection.PENDING
    ).values_list("receipt__number", "held_quantity", "released_quantity", "rejected_quantity")
    waiting: dict[str, int] = {}
    for number, held, released, rejected in lines:
        if held - released - rejected > 0:
            waiting[number] = waiting.get(number, 0) + held - released - rejected
    if not waiting:
        return 0, ""
    numbers = ", ".join(sorted(waiting))
    return sum(waiting.values()), f"the inspection of receipt{'s' if len(waiting) > 1 else ''} {numbers}"


__all__ = [
    "inspect_receipt_line",
    "over_receipt_limit",
    "receive",
    "receiving_location",
    "transaction",
    "units_awaiting_inspection",
]
