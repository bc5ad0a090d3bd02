"""Transfer orders, the document (orders owns it): create (approval above the source site's value rule),
the approval's handlers, and what the warehouse reports while it executes the transfer — the claim at the
source when picking starts, picks, shipment, receipt and cancellation. The warehouse
(``warehouse.services.transfers``) locks the transfer, moves the stock and calls these; it never writes the
transfer's rows itself.

Lock order: the transfer, then stock levels by (site, item), then quants by id.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import lock_rows
from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.models import Site
from governance.services import ApprovalHandler, get_rule, register_approval_handler, request_approval
from governance.services.approvals import approval_kind
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from inventory.models import Item
from inventory.units import to_base_quantity
from orders.events import emit_transfer_event
from orders.models import TransferOrder, TransferOrderLine

T = TransferOrder.Status
APPROVAL_KIND = approval_kind("TRANSFER", _("Transfer"))


def _in_transaction() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("transfer document services run inside the caller's transaction")


def lock_transfer(user, transfer: TransferOrder, action: str, site_attr: str) -> TransferOrder:
    """Lock the transfer (the first lock of any transfer step); 404 for a user who sees neither site."""
    locked = (
        TransferOrder.objects.select_for_update(of=("self",), no_key=True)
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


def _check_lines(lines: list[dict], priority) -> list[tuple[Item, int]]:
    """(item, base units) of each line; every problem reported at once (ValidationFailed)."""
    errors, checked = [], []
    items = {
        i.sku: i for i in Item.objects.filter(sku__in=[str(x.get("item")) for x in lines]).prefetch_related("units")
    }
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 5:
        errors.append({"field": "priority", "code": "invalid", "message": "Priority is a whole number from 1 to 5."})
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
    return checked


@transaction.atomic
def create_transfer(
    *,
    user,
    from_site: Site,
    to_site: Site,
    lines: list[dict],
    priority: int = 3,
    reason: str = "",
    check_permission: bool = True,
) -> TransferOrder:
    """``check_permission`` False: the caller checked (accepting a replenishment suggestion at the destination,
    or the planning job itself with ``user`` None)."""
    if check_permission:
        for field, site in (("from_site", from_site), ("to_site", to_site)):
            if not permissions.can_see_site(user, site) and field == "from_site":
                raise field_error(field, "No such site.", "does_not_exist")
        permissions.require(user, "replenishment.plan", from_site, what="site")
    if from_site.pk == to_site.pk:
        raise field_error("to_site", "A transfer goes to another site.", "same_site")
    checked = _check_lines(lines, priority)
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


def create_shipped_transfer(
    *, user, from_site: Site, to_site: Site, lines: list[dict], priority: int = 3, reason: str = "", shipped_at=None
) -> TransferOrder:
    """A transfer that left its source before the system knew it (a cutover import of a transfer in transit):
    created SHIPPED, each line shipped in full (``{item, quantity, unit?}``, one line per item), no approval of
    its own (the caller's import was approved) and no pick at the source (the legacy system shipped it). The
    caller posts the in-transit stock (``warehouse.services.transfers.open_transfer_in_transit``) in the same
    transaction; receiving it is the live flow's."""
    _in_transaction()
    if from_site.pk == to_site.pk:
        raise field_error("to_site", "A transfer goes to another site.", "same_site")
    checked = _check_lines(lines, priority)
    seen: dict[int, int] = {}
    for index, (item, _qty) in enumerate(checked):
        if item.pk in seen:
            raise field_error(
                f"lines[{index}].item",
                f"{item.sku} is already on line {seen[item.pk] + 1}; one line per item.",
                "duplicate",
            )
        seen[item.pk] = index
    value = sum((Decimal(str(item.standard_cost)) * qty for item, qty in checked), Decimal("0")).quantize(
        Decimal("0.01")
    )
    transfer = TransferOrder(
        number=next_document_number("TO"),
        from_site=from_site,
        to_site=to_site,
        priority=priority,
        reason=reason or "",
        value=value,
        status=T.SHIPPED,
        shipped_at=shipped_at or timezone.now(),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(transfer, user)
    transfer.save()
    TransferOrderLine.objects.bulk_create(
        [
            TransferOrderLine(
                transfer=transfer, line_number=i + 1, item=item, quantity=qty, picked_quantity=qty, shipped_quantity=qty
            )
            for i, (item, qty) in enumerate(checked)
        ]
    )
    emit_transfer_event("transfer.shipped", transfer, site=transfer.from_site)
    return transfer


def _on_approved(approval, user):
    transfer = TransferOrder.objects.select_for_update(of=("self",), no_key=True).get(pk=approval.object_id)
    if transfer.status != T.PENDING_APPROVAL:
        raise StateConflict(f"{transfer.number} is {transfer.status}.")
    transfer.status = T.APPROVED
    set_history_user(transfer, user)
    transfer.save()


def _on_rejected(approval, user):
    transfer = TransferOrder.objects.select_for_update(of=("self",), no_key=True).get(pk=approval.object_id)
    transfer.status = T.CANCELLED
    set_history_user(transfer, user)
    transfer.save()


def touch(transfer: TransferOrder) -> None:
    """Stamp the (locked) transfer's ``updated_at`` after a change of its lines alone, so the change feed shows
    it (no history row: the lines changed, not the document's fields)."""
    transfer.updated_at = timezone.now()
    TransferOrder.objects.filter(pk=transfer.pk).update(updated_at=transfer.updated_at)


def register_handlers() -> None:
    register_approval_handler(APPROVAL_KIND, ApprovalHandler(on_approved=_on_approved, on_rejected=_on_rejected))


def start_picking(*, transfer: TransferOrder, claimed: dict[int, int], user) -> None:
    """The (locked) approved transfer was released at its source: each line's claim (``{line id: units}``,
    the stock levels' ``allocated`` raised by the caller) is recorded and the transfer is PICKING."""
    _in_transaction()
    if transfer.status != T.APPROVED:
        raise StateConflict(f"{transfer.number} is {transfer.status}; only an approved transfer is released.")
    lines = lock_rows(TransferOrderLine.objects.filter(transfer_id=transfer.pk))
    for line in lines:
        line.allocated_quantity = claimed.get(line.pk, 0)
    TransferOrderLine.objects.bulk_update(lines, ["allocated_quantity"])
    transfer.status = T.PICKING
    set_history_user(transfer, user)
    transfer.save()


def record_pick(*, transfer: TransferOrder, line_id: int, picked: int, claim_delta: int) -> TransferOrderLine:
    """A pick of the (locked) transfer was confirmed: ``picked`` units reached staging and the line's claim
    changed by ``claim_delta`` (a short pick gives back the missing units, a re-pick claims more)."""
    _in_transaction()
    if transfer.status != T.PICKING:
        raise StateConflict(f"{transfer.number} is {transfer.status}; its picks cannot be confirmed.")
    (line,) = lock_rows(TransferOrderLine.objects.filter(pk=line_id, transfer_id=transfer.pk))
    if line.allocated_quantity + claim_delta < 0:
        raise StateConflict(f"{transfer.number}: the line claims {line.allocated_quantity}; cannot give back more.")
    line.allocated_quantity += claim_delta
    line.picked_quantity += picked
    line.save(update_fields=["allocated_quantity", "picked_quantity"])
    touch(transfer)
    return line


def record_shipment(*, transfer: TransferOrder, user, now: datetime | None = None) -> dict[tuple[int, int], int]:
    """The (locked) transfer's picked units left its source: lines record what shipped, their claims end.
    Returns the claims ended per (item, source site): exactly what the stock levels' ``allocated`` falls by. A
    line that would ship more than it claims is refused (409): a shipment consumes only open claims."""
    _in_transaction()
    if transfer.status != T.PICKING:
        raise StateConflict(f"{transfer.number} is {transfer.status}; it cannot be shipped.")
    lines = lock_rows(TransferOrderLine.objects.filter(transfer_id=transfer.pk))
    ended: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        if line.picked_quantity > line.allocated_quantity:
            raise StateConflict(
                f"{transfer.number}: {line.picked_quantity} picked but only {line.allocated_quantity} claimed."
            )
        ended[(line.item_id, transfer.from_site_id)] += line.allocated_quantity
        line.shipped_quantity = line.picked_quantity
        line.allocated_quantity = 0
    TransferOrderLine.objects.bulk_update(lines, ["shipped_quantity", "allocated_quantity"])
    transfer.status = T.SHIPPED
    transfer.shipped_at = now or timezone.now()
    set_history_user(transfer, user)
    transfer.save()
    emit_transfer_event("transfer.shipped", transfer, site=transfer.from_site)
    return {key: units for key, units in ended.items() if units}


def record_receipt(*, transfer: TransferOrder, received: dict[int, int], user, now: datetime | None = None) -> None:
    """The (locked) shipped transfer was received at its destination: ``{line id: good units}``."""
    _in_transaction()
    if transfer.status != T.SHIPPED:
        raise StateConflict(f"{transfer.number} is {transfer.status}; only a shipped transfer is received.")
    now = now or timezone.now()
    lines = lock_rows(TransferOrderLine.objects.filter(pk__in=list(received), transfer_id=transfer.pk))
    for line in lines:
        line.received_quantity = received[line.pk]
    TransferOrderLine.objects.bulk_update(lines, ["received_quantity"])
    transfer.status = T.RECEIVED
    transfer.received_at = now
    transfer.cycle_seconds = int((now - transfer.shipped_at).total_seconds()) if transfer.shipped_at else None
    set_history_user(transfer, user)
    transfer.save()
    emit_transfer_event("transfer.received", transfer, site=transfer.to_site)


def cancel(*, transfer: TransferOrder, user) -> dict[tuple[int, int], int]:
    """Cancel the (locked) transfer before it ships: its claims end (returned per (item, source site) for the
    caller to give back) and a pending approval is cancelled."""
    _in_transaction()
    if transfer.status not in (T.PENDING_APPROVAL, T.APPROVED, T.PICKING):
        raise StateConflict(f"{transfer.number} is {transfer.status}; only a transfer not yet shipped is cancelled.")
    lines = lock_rows(TransferOrderLine.objects.filter(transfer_id=transfer.pk))
    ended: dict[tuple[int, int], int] = defaultdict(int)
    for line in lines:
        ended[(line.item_id, transfer.from_site_id)] += line.allocated_quantity
        line.allocated_quantity = 0
    TransferOrderLine.objects.bulk_update(lines, ["allocated_quantity"])
    transfer.status = T.CANCELLED
    set_history_user(transfer, user)
    transfer.save()
    from governance.services.approvals import cancel_approvals_for

    cancel_approvals_for(subject=transfer, kind=APPROVAL_KIND, note="Transfer cancelled.", user=user)
    return {key: units for key, units in ended.items() if units}
