"""Receiving returns: every line is inspected and gets a disposition, and the stock comes back through the
ledger from the site's CUSTOMER location (kind RETURN):

- RESTOCK: lands RECEIVED at the receiving dock and gets a putaway task (which makes it AVAILABLE);
- QUARANTINE: lands on HOLD in the quality area (the dock when the site has none);
- SCRAP: lands RECEIVED at the dock and goes straight on to the SCRAP location with its value (kind SCRAP);
- RETURN_TO_VENDOR: lands on HOLD at the dock and goes back to the SUPPLIER location (kind RETURN).

The credit (received units at their order price) is settled by orders, with approval above the site's value.
Turnaround (arrival at the dock to disposition) is recorded on the return.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from core.db import atomic_with_retry, lock_rows
from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import MAX_QUANTITY
from governance import permissions
from inventory.models import InventoryStatus, Item, Location, Lot, StockMove
from inventory.services import MoveLine, post_moves, virtual_location
from orders.models import ReturnAuthorization, ReturnLine
from orders.services.returns import ReturnOutcome, money, record_return_receipt
from warehouse.models import PutawayTask, ShipmentLine

from .putaway import suggest_location
from .receiving import receiving_location

S = InventoryStatus
D = ReturnLine.Disposition
RMA = ReturnAuthorization
#: a unit that did not pass inspection may not go back on the shelf
RESTOCKABLE = (ReturnLine.Inspection.GOOD,)


def _quality_location(site_id: int, dock: Location) -> Location:
    quality = Location.objects.filter(site_id=site_id, kind=Location.Kind.QUALITY, active=True).order_by("code").first()
    return quality or dock


def _check(rma: RMA, entries: list[dict], arrived_at: datetime, now: datetime) -> list[tuple[ReturnLine, dict]]:
    lines = {line.pk: line for line in rma.lines.select_related("item", "order_line")}
    errors: list[dict] = []
    checked: list[tuple[ReturnLine, dict]] = []
    seen: set[tuple] = set()
    totals: dict[int, int] = {}
    if not entries:
        errors.append({"field": "lines", "code": "required", "message": "Give what arrived for the return's lines."})
    if arrived_at > now:
        errors.append({"field": "arrived_at", "code": "future", "message": "The return cannot arrive in the future."})
    elif arrived_at < rma.created_at:
        errors.append(
            {"field": "arrived_at", "code": "before_authorization", "message": "It cannot arrive before the RMA."}
        )
    for i, entry in enumerate(entries):
        field = f"lines[{i}]"
        line = entry.get("line")
        if not isinstance(line, ReturnLine) or line.pk not in lines:
            errors.append({"field": f"{field}.line", "code": "not_on_return", "message": "Not a line of the return."})
            continue
        line = lines[line.pk]
        quantity = entry.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            errors.append(
                {"field": f"{field}.quantity", "code": "invalid", "message": "Give a whole quantity (0 or more)."}
            )
            continue
        # a line may come back in parts, each with its own inspection, disposition and lot (3 restocked, 1 scrapped):
        # together never more than authorized, and no part named twice
        before = totals.get(line.pk, 0)
        totals[line.pk] = before + quantity
        if totals[line.pk] > line.quantity:
            errors.append(
                {
                    "field": f"{field}.quantity",
                    "code": "exceeds_authorized",
                    "message": f"Line {line.line_number}: {line.quantity} authorized; {totals[line.pk]} cannot be "
                    "received.",
                }
            )
        inspection = entry.get("inspection") or ReturnLine.Inspection.NOT_INSPECTED
        disposition = entry.get("disposition")
        part = (line.pk, inspection, disposition or "", (entry.get("lot") or "").strip())
        if part in seen:
            errors.append(
                {
                    "field": f"{field}.line",
                    "code": "duplicate",
                    "message": f"Line {line.line_number} twice with the same inspection, disposition and lot.",
                }
            )
        seen.add(part)
        if inspection not in ReturnLine.Inspection.values:
            errors.append({"field": f"{field}.inspection", "code": "invalid_choice", "message": "Unknown inspection."})
        if quantity and disposition not in D.values:
            errors.append(
                {
                    "field": f"{field}.disposition",
                    "code": "required",
                    "message": f"Line {line.line_number}: give a disposition: "
                    f"{', '.join(str(label).lower() for label in D.labels)}.",
                }
            )
        if disposition == D.RESTOCK and inspection not in RESTOCKABLE:
            errors.append(
                {
                    "field": f"{field}.disposition",
                    "code": "not_restockable",
                    "message": f"Line {line.line_number}: only units inspected good (resaleable) go back to stock.",
                }
            )
        lot = None
        lot_number = (entry.get("lot") or "").strip()
        item: Item = line.item
        if quantity and item.lot_tracked:
            lot = Lot.objects.filter(item=item, number=lot_number).first() if lot_number else None
            shipped_lots = set(
                ShipmentLine.objects.filter(order_line_id=line.order_line_id, shipment__status="SHIPPED").values_list(
                    "lot_id", flat=True
                )
            )
            if lot is None or lot.pk not in shipped_lots:
                errors.append(
                    {
                        "field": f"{field}.lot",
                        "code": "not_shipped",
                        "message": f"Line {line.line_number}: give the lot of {item.sku} shipped on the order.",
                    }
                )
        elif lot_number and not item.lot_tracked:
            errors.append({"field": f"{field}.lot", "code": "lot_not_tracked", "message": f"{item.sku} has no lots."})
        checked.append(
            (
                line,
                {
                    "quantity": quantity,
                    "inspection": inspection,
                    "disposition": disposition or "",
                    "lot": lot,
                    "note": (entry.get("note") or "")[:300],
                },
            )
        )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    return checked


@atomic_with_retry
def receive_return(
    *, user, rma: ReturnAuthorization, lines: list[dict], arrived_at: datetime | None = None
) -> ReturnAuthorization:
    """Receive an authorized return. ``lines``: ``{"line": ReturnLine, "quantity": int, "inspection",
    "disposition", "lot", "note"}``; lines not given (or with quantity 0) did not come back. A line may be given
    several times to split what came back between dispositions (3 restocked, 1 scrapped): its parts together at
    most what was authorized, each part (inspection, disposition, lot) once. All or nothing."""
    found = RMA.objects.filter(pk=rma.pk).values_list("site_id", flat=True).first()
    if found is None or not permissions.can_see_site(user, found):
        raise NotFound("No such return.")
    permissions.require(user, "warehouse.execute", found, what="return")
    (locked,) = lock_rows(RMA.objects.select_related("site").filter(pk=rma.pk))
    if locked.status == RMA.Status.PENDING_APPROVAL:
        raise StateConflict(f"{locked.number} waits for approval; it cannot be received yet.")
    if locked.status != RMA.Status.AUTHORIZED:
        raise StateConflict(f"{locked.number} is {locked.get_status_display().lower()}; it cannot be received.")
    now = timezone.now()
    arrived_at = arrived_at or now
    checked = _check(locked, lines, arrived_at, now)

    site_id = locked.site_id
    dock = receiving_location(site_id)
    customer = virtual_location(site_id, Location.Kind.CUSTOMER)
    returned, scrapped, to_vendor = [], [], []
    for line, v in checked:
        qty = v["quantity"]
        if not qty:
            continue
        item, lot_id, cost = line.item, v["lot"].pk if v["lot"] else None, line.item.standard_cost
        if v["disposition"] == D.QUARANTINE:
            target, status = _quality_location(site_id, dock), S.HOLD
        elif v["disposition"] == D.RETURN_TO_VENDOR:
            target, status = dock, S.HOLD
        else:
            target, status = dock, S.RECEIVED
        note = f"{locked.number}/{line.line_number} {line.get_reason_display()}: {D(v['disposition']).label}"
        returned.append(MoveLine(item.pk, lot_id, qty, customer, "", target, status, unit_cost=cost, note=note))
        if v["disposition"] == D.SCRAP:
            scrap = virtual_location(site_id, Location.Kind.SCRAP)
            scrapped.append(MoveLine(item.pk, lot_id, qty, dock, S.RECEIVED, scrap, "", unit_cost=cost, note=note))
        elif v["disposition"] == D.RETURN_TO_VENDOR:
            supplier = virtual_location(site_id, Location.Kind.SUPPLIER)
            to_vendor.append(MoveLine(item.pk, lot_id, qty, dock, S.HOLD, supplier, "", unit_cost=cost, note=note))
    common = {"user": user, "reference": locked.number, "document": locked}
    post_moves(
        lines=returned, kind=StockMove.Kind.RETURN, reason_code="CUSTOMER_RETURN", received_at=arrived_at, **common
    )
    post_moves(lines=scrapped, kind=StockMove.Kind.SCRAP, reason_code="RETURN_SCRAP", **common)
    post_moves(lines=to_vendor, kind=StockMove.Kind.RETURN, reason_code="RETURN_TO_VENDOR", **common)

    outcomes = []
    for line, v in checked:
        qty = v["quantity"]
        outcomes.append(
            ReturnOutcome(
                line=line,
                quantity=qty,
                lot_number=v["lot"].number if v["lot"] else "",
                inspection=v["inspection"] if qty else "",
                inspection_note=v["note"],
                disposition=v["disposition"] if qty else "",
                scrap_value=money(qty * Decimal(line.item.standard_cost)) if v["disposition"] == D.SCRAP else 0,
            )
        )
        if qty and v["disposition"] == D.RESTOCK:
            suggestion = suggest_location(site_id=site_id, item=line.item, quantity=qty, lot=v["lot"])
            PutawayTask.objects.create(
                site_id=site_id,
                item=line.item,
                lot=v["lot"],
                quantity=qty,
                from_location=dock,
                suggested_location_id=suggestion.location_id,
                suggestion_reason=f"Return {locked.number}: {suggestion.reason}"[:300],
                received_at=arrived_at,
            )
    # the return document is orders': it records what arrived and settles the credit
    return record_return_receipt(rma=locked, outcomes=outcomes, user=user, arrived_at=arrived_at, now=now)
