"""Transfers between sites: create (approval above the site's value rule), ship from the source (stock goes
IN_TRANSIT at the destination), receive at the destination with discrepancies, then putaway."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from distribution_erp.db import atomic_with_retry, lock_rows
from distribution_erp.errors import InsufficientStock, NotFound, StateConflict, ValidationFailed
from distribution_erp.validation import field_error
from governance import permissions
from governance.models import ApprovalRequest, Site
from governance.services import (
    ApprovalHandler,
    get_rule,
    open_exception,
    register_approval_handler,
    request_approval,
)
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from inventory.models import InventoryStatus, Item, Location, StockMove, StockQuant
from inventory.services import MoveLine, post_moves, virtual_location
from inventory.units import to_base_quantity
from orders.models import TransferOrder, TransferOrderLine
from warehouse.models import Discrepancy, Receipt, ReceiptLine
from warehouse.policy import picking as policy

from .putaway import create_putaway_task
from .receiving import receiving_location

T = TransferOrder.Status
APPROVAL_KIND = "TRANSFER"


@transaction.atomic
def create_transfer(
    *, user, from_site: Site, to_site: Site, lines: list[dict], priority: int = 3, reason: str = ""
) -> TransferOrder:
    for field, site in (("from_site", from_site), ("to_site", to_site)):
        if not permissions.can_see_site(user, site) and field == "from_site":
            raise field_error(field, "No such site.", "does_not_exist")
    permissions.require(user, "replenishment.plan", from_site, what="site")
    if from_site.pk == to_site.pk:
        raise field_error("to_site", "A transfer goes to another site.", "same_site")
    errors, checked = [], []
    items = {
        i.sku: i for i in Item.objects.filter(sku__in=[str(x.get("item")) for x in lines]).prefetch_related("units")
    }
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "A transfer needs lines."})
    for index, raw in enumerate(lines):
        item = items.get(str(raw.get("item")))
        if item is None:
            errors.append(
                {"field": f"lines[{index}].item", "code": "does_not_exist", "message": f"No item {raw.get('item')!r}."}
            )
            continue
        try:
            checked.append(
                (
                    item,
                    to_base_quantity(
                        item, raw.get("quantity"), raw.get("unit") or None, field=f"lines[{index}].quantity"
                    ),
                )
            )
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
    value = sum((Decimal(str(item.standard_cost)) * qty for item, qty in checked), Decimal("0")).quantize(
        Decimal("0.01")
    )
    threshold = get_rule("transfers.approval_value", from_site.pk)
    transfer = TransferOrder(
        number=next_document_number("TO"),
        from_site=from_site,
        to_site=to_site,
        priority=priority,
        reason=reason or "",
        value=value,
        status=T.PENDING_APPROVAL if value > threshold else T.APPROVED,
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(transfer, user)
    transfer.save()
    TransferOrderLine.objects.bulk_create(
        [
            TransferOrderLine(transfer=transfer, line_number=i + 1, item=item, quantity=qty)
            for i, (item, qty) in enumerate(checked)
        ]
    )
    if transfer.status == T.PENDING_APPROVAL:
        request_approval(
            kind=APPROVAL_KIND,
            site=from_site,
            subject=transfer,
            requested_by=user,
            reason=f"Transfer worth {value} exceeds {from_site.code}'s approval value {threshold}.",
            rule_key="transfers.approval_value",
            threshold=threshold,
            value=value,
        )
    return transfer


def _lock(user, transfer: TransferOrder, action: str, site_attr: str) -> TransferOrder:
    locked = (
        TransferOrder.objects.select_for_update(of=("self",))
        .select_related("from_site", "to_site")
        .filter(pk=transfer.pk)
        .first()
    )
    if locked is None or not (
        permissions.can_see_site(user, locked.from_site_id) or permissions.can_see_site(user, locked.to_site_id)
    ):
        raise NotFound("No such transfer order.")
    permissions.require(user, action, getattr(locked, f"{site_attr}_id"), what="transfer order")
    return locked


@atomic_with_retry
def ship_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Pick at the source (pick faces first, FEFO) and move the stock IN_TRANSIT to the destination. Stock
    allocated to orders is never taken (the ledger refuses to leave less available than allocated)."""
    locked = _lock(user, transfer, "warehouse.execute", "from_site")
    if locked.status == T.PENDING_APPROVAL:
        raise StateConflict(f"{locked.number} waits for approval.")
    if locked.status != T.APPROVED:
        raise StateConflict(f"{locked.number} is {locked.status}; it cannot be shipped.")
    lines = list(locked.lines.select_related("item"))
    in_transit = virtual_location(locked.to_site_id, Location.Kind.IN_TRANSIT)
    quants = lock_rows(
        StockQuant.objects.filter(
            site_id=locked.from_site_id,
            item_id__in=[line.item_id for line in lines],
            status=InventoryStatus.AVAILABLE,
            quantity__gt=0,
            location__kind__in=list(policy.KIND_RANK),
        ).select_related("location__zone", "lot")
    )
    today = timezone.localdate()
    moves = []
    for line in lines:
        mine = [q for q in quants if q.item_id == line.item_id]
        plan = policy.choose_picks(
            line.quantity,
            [
                policy.QuantInfo(
                    q.pk,
                    q.location_id,
                    q.location.code,
                    q.location.kind,
                    q.location.zone.code if q.location.zone_id else "",
                    q.location.aisle,
                    q.lot_id,
                    q.lot.expiry_date if q.lot_id else None,
                    q.quantity - q.reserved,
                )
                for q in mine
            ],
            today=today,
            min_shelf_life_days=0,
        )
        if plan.shortfall:
            raise InsufficientStock(
                f"{line.item.sku}: only {line.quantity - plan.shortfall} of {line.quantity} "
                f"can be picked at {locked.from_site.code}.",
                field="lines",
            )
        by_id = {q.pk: q for q in mine}
        for quant_id, qty in plan.picks:
            quant = by_id[quant_id]
            moves.append(
                MoveLine(
                    line.item_id,
                    quant.lot_id,
                    qty,
                    quant.location,
                    InventoryStatus.AVAILABLE,
                    in_transit,
                    InventoryStatus.IN_TRANSIT,
                )
            )
        line.shipped_quantity = line.quantity
    post_moves(lines=moves, kind=StockMove.Kind.TRANSFER_OUT, user=user, reference=locked.number, document=locked)
    TransferOrderLine.objects.bulk_update(lines, ["shipped_quantity"])
    locked.status = T.SHIPPED
    locked.shipped_at = timezone.now()
    set_history_user(locked, user)
    locked.save()
    return locked


@atomic_with_retry
def receive_transfer(*, user, transfer: TransferOrder, lines: list[dict]) -> Receipt:
    """Receive a shipped transfer at the destination: in-transit stock lands RECEIVED (damaged units DAMAGED)
    at the receiving dock; every difference from what was shipped is a TRANSFER_DISCREPANCY; units not
    received stay in transit for investigation."""
    locked = _lock(user, transfer, "inventory.receive", "to_site")
    if locked.status != T.SHIPPED:
        raise StateConflict(f"{locked.number} is {locked.status}; only a shipped transfer is received.")
    dock = receiving_location(locked.to_site_id)
    in_transit = virtual_location(locked.to_site_id, Location.Kind.IN_TRANSIT)
    by_sku = {line.item.sku: line for line in locked.lines.select_related("item")}
    now = timezone.now()
    receipt = Receipt(
        number=next_document_number("RCV"),
        site_id=locked.to_site_id,
        transfer_order=locked,
        location=dock,
        received_by=user if getattr(user, "is_authenticated", False) else None,
        received_at=now,
    )
    set_history_user(receipt, user)
    receipt.save()
    moves, discrepancies, putaway = [], [], []
    seen = set()
    for index, raw in enumerate(lines):
        line = by_sku.get(str(raw.get("item")))
        if line is None:
            raise field_error(f"lines[{index}].item", f"{raw.get('item')!r} is not on {locked.number}.", "not_on_order")
        if line.pk in seen:
            raise field_error(f"lines[{index}].item", f"{line.item.sku} is listed twice.", "duplicate")
        seen.add(line.pk)
        good = to_base_quantity(
            line.item,
            raw.get("quantity", 0),
            raw.get("unit") or None,
            field=f"lines[{index}].quantity",
            allow_zero=True,
        )
        damaged = to_base_quantity(
            line.item,
            raw.get("damaged_quantity", 0) or 0,
            raw.get("unit") or None,
            field=f"lines[{index}].damaged_quantity",
            allow_zero=True,
        )
        if good + damaged > line.shipped_quantity:
            raise field_error(
                f"lines[{index}].quantity", f"Only {line.shipped_quantity} {line.item.sku} were shipped.", "too_many"
            )
        quants = [
            q
            for q in StockQuant.objects.filter(location=in_transit, item=line.item, quantity__gt=0).order_by(
                "lot__expiry_date", "pk"
            )
        ]
        left = {"good": good, "damaged": damaged}
        rline = (
            ReceiptLine.objects.create(
                receipt=receipt,
                item=line.item,
                quantity=good,
                damaged_quantity=damaged,
                landed_status=InventoryStatus.RECEIVED,
            )
            if good + damaged
            else None
        )
        for quant in quants:
            avail = quant.quantity
            for kind, status in (("good", InventoryStatus.RECEIVED), ("damaged", InventoryStatus.DAMAGED)):
                take = min(avail, left[kind])
                if take:
                    moves.append(
                        MoveLine(line.item_id, quant.lot_id, take, in_transit, InventoryStatus.IN_TRANSIT, dock, status)
                    )
                    if status == InventoryStatus.RECEIVED:
                        putaway.append((rline, take, quant.lot_id))
                    left[kind] -= take
                    avail -= take
        line.received_quantity = good
        line.save(update_fields=["received_quantity"])
        missing = line.shipped_quantity - good - damaged
        if missing or damaged:
            discrepancies.append(
                Discrepancy(
                    receipt=receipt,
                    line=rline,
                    item=line.item,
                    code=Discrepancy.Code.SHORT if missing else Discrepancy.Code.DAMAGED,
                    expected=line.shipped_quantity,
                    actual=good,
                    detail=(
                        f"{line.item.sku}: shipped {line.shipped_quantity}, received {good} good and {damaged} "
                        f"damaged; {missing} still in transit for investigation."
                    )[:300],
                )
            )
    for line in by_sku.values():
        if line.pk not in seen and line.shipped_quantity:
            discrepancies.append(
                Discrepancy(
                    receipt=receipt,
                    item=line.item,
                    code=Discrepancy.Code.SHORT,
                    expected=line.shipped_quantity,
                    actual=0,
                    detail=f"{line.item.sku}: none of {line.shipped_quantity} received.",
                )
            )
    post_moves(
        lines=moves,
        kind=StockMove.Kind.TRANSFER_IN,
        user=user,
        reference=receipt.number,
        document=receipt,
        received_at=now,
    )
    for disc in discrepancies:
        disc.save()
        open_exception(
            site=locked.to_site,
            code="TRANSFER_DISCREPANCY",
            subject=disc,
            user=user,
            summary=f"{locked.number}: {disc.detail}",
            details={"transfer": locked.number},
        )
    for rline, qty, lot_id in putaway:
        if rline.lot_id != lot_id:
            rline.lot_id = lot_id
            rline.save(update_fields=["lot"])
        create_putaway_task(line=rline, quantity=qty, from_location=dock, received_at=now)
    locked.status = T.RECEIVED
    locked.received_at = now
    locked.cycle_seconds = int((now - locked.shipped_at).total_seconds()) if locked.shipped_at else None
    set_history_user(locked, user)
    locked.save()
    return receipt


@transaction.atomic
def cancel_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    locked = _lock(user, transfer, "replenishment.plan", "from_site")
    if locked.status not in (T.PENDING_APPROVAL, T.APPROVED):
        raise StateConflict(f"{locked.number} is {locked.status}; only a transfer not yet shipped is cancelled.")
    locked.status = T.CANCELLED
    set_history_user(locked, user)
    locked.save()
    ApprovalRequest.objects.filter(object_id=locked.pk, kind=APPROVAL_KIND, status="PENDING").update(
        status="CANCELLED", decided_at=timezone.now(), decision_note="Transfer cancelled."
    )
    return locked


def _on_approved(approval, user):
    transfer = TransferOrder.objects.select_for_update().get(pk=approval.object_id)
    if transfer.status != T.PENDING_APPROVAL:
        raise StateConflict(f"{transfer.number} is {transfer.status}.")
    transfer.status = T.APPROVED
    set_history_user(transfer, user)
    transfer.save()


def _on_rejected(approval, user):
    transfer = TransferOrder.objects.select_for_update().get(pk=approval.object_id)
    transfer.status = T.CANCELLED
    set_history_user(transfer, user)
    transfer.save()


def register_handlers() -> None:
    register_approval_handler(APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected))
