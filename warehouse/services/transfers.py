"""Transfers between sites: create (approval above the site's value rule), release for picking at the source
(claimed like a sales order's allocation, pick tasks reserving the exact units, confirmed like any pick), ship
the picked units from staging (IN_TRANSIT at the destination), receive at the destination with discrepancies,
then putaway.

Lock order: the transfer, then stock levels, then quants."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
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
from governance.services.sites import site_local_date
from inventory.models import InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant
from inventory.services import MoveLine, change_allocated, post_moves, virtual_location
from inventory.units import to_base_quantity
from orders.models import TransferOrder, TransferOrderLine
from warehouse.models import Discrepancy, PickTask, Receipt, ReceiptLine
from warehouse.policy import picking as policy

from .outbound import check_scan, post_pick, quant_infos, report_short_pick, staging_location
from .putaway import create_putaway_task
from .receiving import receiving_location

T = TransferOrder.Status
APPROVAL_KIND = "TRANSFER"


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


def _plan_transfer_picks(transfer: TransferOrder, wants: list[tuple[TransferOrderLine, int]], *, partial: bool):
    """Pick tasks at the source for ``wants`` (line, quantity): pick faces first, FEFO, never an expired lot nor
    one below the site's minimum remaining shelf life; the quants' units are reserved so no wave plans them.
    ``partial`` False: every unit must be pickable (InsufficientStock otherwise). Returns {line id: planned}."""
    site_id = transfer.from_site_id
    staging = staging_location(site_id)
    min_life = get_rule("picking.min_remaining_shelf_life_days", site_id)
    today = site_local_date(transfer.from_site)
    quants = lock_rows(
        StockQuant.objects.filter(
            site_id=site_id,
            item_id__in=sorted({line.item_id for line, _ in wants}),
            status=InventoryStatus.AVAILABLE,
            quantity__gt=0,
            location__kind__in=list(policy.KIND_RANK),
            location__active=True,
        ).select_related("location__zone", "lot")
    )
    tasks, planned = [], defaultdict(int)
    for line, want in wants:
        mine = [q for q in quants if q.item_id == line.item_id]
        plan = policy.choose_picks(
            want,
            quant_infos(mine),
            today=today,
            min_shelf_life_days=policy.effective_min_shelf_life(min_life, None),
        )
        if plan.shortfall and not partial:
            why = "; ".join(plan.skipped) or "no free stock in pick or storage locations"
            raise InsufficientStock(
                f"{line.item.sku}: only {want - plan.shortfall} of {want} can be picked at "
                f"{transfer.from_site.code} ({why}).",
                field="lines",
            )
        by_id = {q.pk: q for q in mine}
        for quant_id, qty in plan.picks:
            quant = by_id[quant_id]
            quant.reserved += qty
            planned[line.pk] += qty
            tasks.append(
                PickTask(
                    site_id=site_id,
                    transfer_line=line,
                    item_id=line.item_id,
                    lot_id=quant.lot_id,
                    location=quant.location,
                    to_location=staging,
                    quantity=qty,
                )
            )
    if tasks:
        start = (
            PickTask.objects.filter(transfer_line__transfer=transfer)
            .order_by("-sequence")
            .values_list("sequence", flat=True)
            .first()
            or 0
        )
        order = policy.walk_order(
            [(t.location.zone.code if t.location.zone_id else "", t.location.aisle, t.location.code) for t in tasks]
        )
        for sequence, index in enumerate(order, start=start + 1):
            tasks[index].sequence = sequence
        StockQuant.objects.bulk_update([q for q in quants if q.reserved], ["reserved"])
        PickTask.objects.bulk_create(tasks)
    return planned


def _free_to_claim(item_ids, site_id: int) -> dict[int, int]:
    """Item -> units at the site neither allocated to orders nor claimed by other transfers."""
    return {
        lv.item_id: lv.available - lv.allocated
        for lv in StockLevel.objects.filter(site_id=site_id, item_id__in=list(item_ids))
    }


def _release(locked: TransferOrder, user) -> TransferOrder:
    """Claim the transfer's quantities at the source (its stock level's ``allocated``, as a sales order's
    allocation does, so orders and transfers never promise the same units) and create pick tasks."""
    lines = list(locked.lines.select_related("item"))
    need: dict[int, int] = defaultdict(int)
    for line in lines:
        need[line.item_id] += line.quantity
    free = _free_to_claim(need, locked.from_site_id)
    for line in lines:
        if free.get(line.item_id, 0) < need[line.item_id]:
            raise InsufficientStock(
                f"{line.item.sku}: only {max(free.get(line.item_id, 0), 0)} of {need[line.item_id]} are free at "
                f"{locked.from_site.code} (the rest is allocated to orders or claimed by other transfers).",
                field="lines",
            )
    change_allocated(deltas={(item_id, locked.from_site_id): qty for item_id, qty in need.items()})
    _plan_transfer_picks(locked, [(line, line.quantity) for line in lines], partial=False)
    for line in lines:
        line.allocated_quantity = line.quantity
    TransferOrderLine.objects.bulk_update(lines, ["allocated_quantity"])
    locked.status = T.PICKING
    set_history_user(locked, user)
    locked.save()
    return locked


@atomic_with_retry
def release_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Release an approved transfer for picking at the source: its quantities are claimed like a sales order's
    allocation (never stock allocated to orders) and pick tasks reserve the exact units. All or nothing: a
    line that cannot be picked in full refuses the release (InsufficientStock)."""
    locked = _lock(user, transfer, "warehouse.execute", "from_site")
    if locked.status == T.PENDING_APPROVAL:
        raise StateConflict(f"{locked.number} waits for approval.")
    if locked.status != T.APPROVED:
        raise StateConflict(f"{locked.number} is {locked.status}; only an approved transfer is released for picking.")
    return _release(locked, user)


def confirm_transfer_pick(
    *, user, task: PickTask, quantity: int, location_code: str, lot_number: str = "", item_sku: str = ""
) -> PickTask:
    """A transfer's pick, confirmed like a sales order's (outbound.confirm_pick checked the permission): the
    picked units go to staging; a short pick releases the claim on the missing units, puts them on HOLD
    pending a count, opens SHORT_PICK and a count request, and re-picks the remainder from other free stock
    at the source as far as there is some (what is not found simply ships less)."""
    transfer = (
        TransferOrder.objects.select_for_update(of=("self",)).select_related("from_site").get(lines__pick_tasks=task.pk)
    )
    locked = (
        PickTask.objects.select_for_update(of=("self",))
        .select_related("location", "lot", "item", "transfer_line__item", "site")
        .get(pk=task.pk)
    )
    if locked.status == PickTask.Status.CANCELLED:
        raise StateConflict(f"This pick task was cancelled ({transfer.number} is {transfer.status}).")
    if check_scan(locked, quantity=quantity, location_code=location_code, lot_number=lot_number, item_sku=item_sku):
        return locked
    if transfer.status != T.PICKING:
        raise StateConflict(f"{transfer.number} is {transfer.status}; its picks cannot be confirmed.")
    line = locked.transfer_line
    short = locked.quantity - quantity
    if short:
        # release the claim on the missing units before they leave AVAILABLE
        change_allocated(deltas={(locked.item_id, locked.site_id): -short})
        line.allocated_quantity -= short
    post_pick(locked, user=user, quantity=quantity, location_code=location_code, lot_number=lot_number)
    line.picked_quantity += quantity
    if short:
        report_short_pick(locked, user=user, short=short, document_number=transfer.number)
        free = _free_to_claim([line.item_id], locked.site_id).get(line.item_id, 0)
        want = min(short, max(free, 0))
        if want:
            planned = _plan_transfer_picks(transfer, [(line, want)], partial=True).get(line.pk, 0)
            if planned:
                change_allocated(deltas={(line.item_id, locked.site_id): planned})
                line.allocated_quantity += planned
    line.save(update_fields=["allocated_quantity", "picked_quantity"])
    return locked


@atomic_with_retry
def ship_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Ship a transfer. An approved one is first released for picking (see ``release_transfer``; the response
    is the transfer in PICKING with its pick tasks open). Once every pick task is confirmed, shipping moves
    the picked units from the source's staging location IN_TRANSIT to the destination and ends the claim."""
    locked = _lock(user, transfer, "warehouse.execute", "from_site")
    if locked.status == T.PENDING_APPROVAL:
        raise StateConflict(f"{locked.number} waits for approval.")
    if locked.status == T.APPROVED:
        return _release(locked, user)
    if locked.status != T.PICKING:
        raise StateConflict(f"{locked.number} is {locked.status}; it cannot be shipped.")
    tasks = list(PickTask.objects.filter(transfer_line__transfer=locked).exclude(status=PickTask.Status.CANCELLED))
    still_open = [t for t in tasks if t.status == PickTask.Status.OPEN]
    if still_open:
        raise StateConflict(
            f"{locked.number}: {len(still_open)} pick task(s) still open at {locked.from_site.code}; "
            "confirm them before shipping."
        )
    lines = list(locked.lines.select_related("item"))
    picked: dict[tuple[int, int | None], int] = defaultdict(int)
    for t in tasks:
        if t.picked_quantity:
            picked[(t.transfer_line_id, t.lot_id)] += t.picked_quantity
    if not picked:
        raise StateConflict(f"Nothing was picked for {locked.number}; cancel it instead.")
    staging = staging_location(locked.from_site_id)
    in_transit = virtual_location(locked.to_site_id, Location.Kind.IN_TRANSIT)
    by_line = {line.pk: line for line in lines}
    moves, deltas = [], defaultdict(int)
    for (line_id, lot_id), qty in sorted(picked.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        line = by_line[line_id]
        moves.append(
            MoveLine(
                line.item_id, lot_id, qty, staging, InventoryStatus.AVAILABLE, in_transit, InventoryStatus.IN_TRANSIT
            )
        )
        deltas[(line.item_id, locked.from_site_id)] -= qty
    post_moves(
        lines=moves,
        kind=StockMove.Kind.TRANSFER_OUT,
        user=user,
        reference=locked.number,
        document=locked,
        allocated_deltas=dict(deltas),
    )
    for line in lines:
        line.shipped_quantity = line.picked_quantity
        line.allocated_quantity = 0
    TransferOrderLine.objects.bulk_update(lines, ["shipped_quantity", "allocated_quantity"])
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


@atomic_with_retry
def cancel_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Cancel a transfer not yet shipped. While picking: open pick tasks are cancelled (their units
    unreserved) and the claim at the source is released; units already picked stay AVAILABLE at staging."""
    locked = _lock(user, transfer, "replenishment.plan", "from_site")
    if locked.status not in (T.PENDING_APPROVAL, T.APPROVED, T.PICKING):
        raise StateConflict(f"{locked.number} is {locked.status}; only a transfer not yet shipped is cancelled.")
    if locked.status == T.PICKING:
        lines = list(locked.lines.all())
        claims = defaultdict(int)
        for line in lines:
            claims[(line.item_id, locked.from_site_id)] -= line.allocated_quantity
            line.allocated_quantity = 0
        if any(claims.values()):
            change_allocated(deltas={k: v for k, v in claims.items() if v})
        TransferOrderLine.objects.bulk_update(lines, ["allocated_quantity"])
        open_tasks = lock_rows(PickTask.objects.filter(transfer_line__transfer=locked, status=PickTask.Status.OPEN))
        # the reserved quants all at once, in primary-key order (as wave release and picking lock them)
        keys = Q(pk__in=[])
        for t in open_tasks:
            keys |= Q(item_id=t.item_id, location_id=t.location_id, lot_id=t.lot_id)
        quants = {
            (q.item_id, q.location_id, q.lot_id): q
            for q in lock_rows(StockQuant.objects.filter(keys, status=InventoryStatus.AVAILABLE))
        }
        for t in open_tasks:
            quant = quants[(t.item_id, t.location_id, t.lot_id)]
            quant.reserved -= t.quantity
            quant.save(update_fields=["reserved"])
            t.status = PickTask.Status.CANCELLED
            set_history_user(t, user)
            t.save(update_fields=["status"])
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
