"""Transfers between sites: create (approval above the site's value rule), release for picking at the source
(claimed like a sales order's allocation, pick tasks reserving the exact units, confirmed like any pick), ship
the picked units from staging (IN_TRANSIT at the destination), receive at the destination with discrepancies,
then putaway.

The transfer document is orders' (``orders.services.transfers``): this module locks it, moves the stock, creates
and confirms pick tasks and receipts, and reports each step to orders; it never writes the transfer's rows.

Lock order: the transfer, then stock levels by (site, item), then quants by id."""

from __future__ import annotations

from collections import defaultdict

from django.utils import timezone

from distribution_erp.db import atomic_with_retry, lock_rows
from distribution_erp.errors import InsufficientStock, StateConflict
from distribution_erp.validation import field_error
from governance.services import (
    get_rule,
    open_exception,
)
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date
from inventory.models import InventoryStatus, Location, StockLevel, StockMove, StockQuant
from inventory.services import (
    MoveLine,
    change_allocated,
    lock_site_quants,
    post_moves,
    reserve_quants,
    virtual_location,
)
from inventory.units import to_base_quantity
from orders.models import TransferOrder, TransferOrderLine
from orders.services import transfers as transfer_documents
from orders.services.transfers import APPROVAL_KIND, create_transfer  # noqa: F401  (the document's; re-exported)
from warehouse.events import emit_receipt_confirmed
from warehouse.models import Discrepancy, PickTask, Receipt, ReceiptLine
from warehouse.policy import picking as policy

from .picking import cancel_pick_tasks, check_scan, post_pick, quant_infos, report_short_pick, staging_location
from .putaway import create_putaway_task
from .receiving import receiving_location

T = TransferOrder.Status


def _lock(user, transfer: TransferOrder, action: str, site_attr: str) -> TransferOrder:
    return transfer_documents.lock_transfer(user, transfer, action, site_attr)


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
    claims: dict[int, int] = defaultdict(int)
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
            quant.reserved += qty  # what the next line may still take (inventory writes the claim below)
            claims[quant_id] += qty
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
        for quant in quants:
            quant.reserved -= claims.get(quant.pk, 0)
        reserve_quants(dict(claims))
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
    transfer_documents.start_picking(transfer=locked, claimed={line.pk: line.quantity for line in lines}, user=user)
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
        TransferOrder.objects.select_for_update(of=("self",), no_key=True)
        .select_related("from_site")
        .get(lines__pick_tasks=task.pk)
    )
    locked = (
        PickTask.objects.select_for_update(of=("self",), no_key=True)
        .select_related("location", "lot", "item", "transfer_line__item", "site")
        .get(pk=task.pk)
    )
    if locked.status == PickTask.Status.CANCELLED:
        raise StateConflict(f"This pick task was cancelled ({transfer.number} is {transfer.status}).")
    if check_scan(
        locked, quantity=quantity, location_code=location_code, lot_number=lot_number, item_sku=item_sku, user=user
    ):
        return locked
    if transfer.status != T.PICKING:
        raise StateConflict(f"{transfer.number} is {transfer.status}; its picks cannot be confirmed.")
    line = locked.transfer_line
    short = locked.quantity - quantity
    if short:
        # release the claim on the missing units before they leave AVAILABLE (this locks the item's level)
        change_allocated(deltas={(locked.item_id, locked.site_id): -short})
        # then every quant of the item at the source at once: the pick's ledger post and the re-pick below
        # find their rows locked already, so this transaction never locks a lower quant after a higher one
        lock_site_quants(locked.site_id, [locked.item_id])
    transfer_documents.record_pick(transfer=transfer, line_id=line.pk, picked=quantity, claim_delta=-short)
    post_pick(locked, user=user, quantity=quantity, location_code=location_code, lot_number=lot_number)
    if short:
        report_short_pick(locked, user=user, short=short, document_number=transfer.number)
        free = _free_to_claim([line.item_id], locked.site_id).get(line.item_id, 0)
        want = min(short, max(free, 0))
        if want:
            planned = _plan_transfer_picks(transfer, [(line, want)], partial=True).get(line.pk, 0)
            if planned:
                change_allocated(deltas={(line.item_id, locked.site_id): planned})
                transfer_documents.record_pick(transfer=transfer, line_id=line.pk, picked=0, claim_delta=planned)
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
    moves = []
    for (line_id, lot_id), qty in sorted(picked.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        line = by_line[line_id]
        moves.append(
            MoveLine(
                line.item_id, lot_id, qty, staging, InventoryStatus.AVAILABLE, in_transit, InventoryStatus.IN_TRANSIT
            )
        )
    # orders ends exactly the claims behind the shipped units (refused if a line picked more than it claims)
    ended = transfer_documents.record_shipment(transfer=locked, user=user)
    post_moves(
        lines=moves,
        kind=StockMove.Kind.TRANSFER_OUT,
        user=user,
        reference=locked.number,
        document=locked,
        allocated_deltas={key: -units for key, units in ended.items()},
    )
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
    received: dict[int, int] = {}
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
        received[line.pk] = good
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
    transfer_documents.record_receipt(transfer=locked, received=received, user=user, now=now)
    emit_receipt_confirmed(receipt, discrepancies)
    return receipt


@atomic_with_retry
def cancel_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Cancel a transfer not yet shipped. While picking: open pick tasks are cancelled (their units
    unreserved) and the claim at the source is released; units already picked stay AVAILABLE at staging."""
    locked = _lock(user, transfer, "replenishment.plan", "from_site")
    picking = locked.status == T.PICKING
    ended = transfer_documents.cancel(transfer=locked, user=user)
    if ended:
        change_allocated(deltas={key: -units for key, units in ended.items()})
    if picking:
        cancel_pick_tasks(
            lock_rows(PickTask.objects.filter(transfer_line__transfer=locked, status=PickTask.Status.OPEN)), user=user
        )
    return locked
