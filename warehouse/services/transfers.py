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

from core.db import atomic_with_retry, lock_rows
from core.errors import InsufficientStock, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.services import (
    get_rule,
    open_exception,
)
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date
from inventory.models import InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant
from inventory.services import (
    MoveLine,
    change_allocated,
    lock_site_quants,
    post_moves,
    reserve_quants,
    virtual_location,
)
from inventory.services.stock import resolve_lot
from inventory.units import to_base_quantity
from orders.models import TransferOrder, TransferOrderLine
from orders.services import transfers as transfer_documents
from orders.services.transfers import APPROVAL_KIND, create_transfer  # noqa: F401  (the document's; re-exported)
from warehouse.events import emit_receipt_confirmed
from warehouse.models import Discrepancy, PickTask, Receipt, ReceiptLine
from warehouse.policy import picking as policy

from .picking import (
    cancel_pick_tasks,
    check_scan,
    clean_short_reason,
    post_pick,
    quant_infos,
    report_short_pick,
    staging_location,
)
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


T_RELEASE, T_SHIP, T_RECEIVE, T_CANCEL, T_DECIDE = "release", "ship", "receive", "cancel", "decide"
#: what a transfer's status allows (the guards of release_transfer, ship_transfer and receive_transfer, orders'
#: cancel, and ``allowed_actions``)
_TRANSFER_BY_STATUS = {
    T.PENDING_APPROVAL: frozenset({T_CANCEL, T_DECIDE}),
    T.APPROVED: frozenset({T_RELEASE, T_CANCEL}),
    T.PICKING: frozenset({T_SHIP, T_CANCEL}),
    T.SHIPPED: frozenset({T_RECEIVE}),
}
#: who may take each step, and at which end of the transfer
_TRANSFER_PERMISSION = {
    T_RELEASE: ("warehouse.execute", "from_site_id"),
    T_SHIP: ("warehouse.execute", "from_site_id"),
    T_CANCEL: ("replenishment.plan", "from_site_id"),
    T_RECEIVE: ("inventory.receive", "to_site_id"),
}


def transfer_actions(transfer: TransferOrder, user) -> frozenset[str]:
    """``allowed_actions`` of a transfer order: release, ship, cancel at the source, receive at the destination,
    each for a user with its permission there, and ``decide`` for an approver of its pending approval (never the
    requester)."""
    from django.contrib.contenttypes.models import ContentType

    from governance.models import ApprovalRequest
    from governance.services.approvals import approval_actions

    by_status = _TRANSFER_BY_STATUS.get(transfer.status, frozenset())
    actions = {
        step
        for step, (action, end) in _TRANSFER_PERMISSION.items()
        if step in by_status and permissions.can(user, action, getattr(transfer, end))
    }
    if T_DECIDE in by_status:
        pending = ApprovalRequest.objects.filter(
            content_type=ContentType.objects.get_for_model(TransferOrder),
            object_id=transfer.pk,
            status=ApprovalRequest.Status.PENDING,
        ).first()
        if pending is not None and approval_actions(pending, user):
            actions.add(T_DECIDE)
    return frozenset(actions)


@atomic_with_retry
def release_transfer(*, user, transfer: TransferOrder) -> TransferOrder:
    """Release an approved transfer for picking at the source: its quantities are claimed like a sales order's
    allocation (never stock allocated to orders) and pick tasks reserve the exact units. All or nothing: a
    line that cannot be picked in full refuses the release (InsufficientStock)."""
    locked = _lock(user, transfer, "warehouse.execute", "from_site")
    if locked.status == T.PENDING_APPROVAL:
        raise StateConflict(f"{locked.number} waits for approval.")
    if T_RELEASE not in _TRANSFER_BY_STATUS.get(locked.status, ()):
        raise StateConflict(f"{locked.number} is {locked.status}; only an approved transfer is released for picking.")
    return _release(locked, user)


def confirm_transfer_pick(
    *,
    user,
    task: PickTask,
    quantity: int,
    location_code: str,
    lot_number: str = "",
    item_sku: str = "",
    short_reason: str = "",
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
    reason = clean_short_reason(short_reason, short=short)
    if short:
        # release the claim on the missing units before they leave AVAILABLE (this locks the item's level)
        change_allocated(deltas={(locked.item_id, locked.site_id): -short})
        # then every quant of the item at the source at once: the pick's ledger post and the re-pick below
        # find their rows locked already, so this transaction never locks a lower quant after a higher one
        lock_site_quants(locked.site_id, [locked.item_id])
    transfer_documents.record_pick(transfer=transfer, line_id=line.pk, picked=quantity, claim_delta=-short)
    post_pick(
        locked, user=user, quantity=quantity, location_code=location_code, lot_number=lot_number, short_reason=reason
    )
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
    if T_SHIP not in _TRANSFER_BY_STATUS.get(locked.status, ()):
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
    if T_RECEIVE not in _TRANSFER_BY_STATUS.get(locked.status, ()):
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
def open_transfer_in_transit(
    *, user, from_site, to_site, lines: list[dict], reason: str = "", shipped_at=None, priority: int = 3
) -> TransferOrder:
    """A transfer the legacy system shipped and the destination has not received yet, brought onto the system at
    cutover: the document SHIPPED (``orders.services.transfers.create_shipped_transfer``) and its units IN_TRANSIT
    at the destination's in-transit location, as shipping a transfer leaves them, so the destination receives it
    with ``receive_transfer`` as any other. Lines: ``{item, quantity, unit?, lot?, expiry_date?}``, one per item
    and lot (an item's lots make one transfer line). The units come from the source's adjustment location (they
    left the source before its opening balances were taken), as ledger moves of kind OPENING: the cutover
    postings a site in its freeze takes. For a user who may work at the source or the destination
    (``warehouse.execute``). Every problem of every line is reported at once (ValidationFailed)."""
    if user is not None and not any(permissions.can(user, "warehouse.execute", site) for site in (from_site, to_site)):
        permissions.require(user, "warehouse.execute", to_site, what="site")
    if from_site.pk == to_site.pk:
        raise field_error("to_site", "A transfer goes to another site.", "same_site")
    if shipped_at is not None and shipped_at > timezone.now():
        raise field_error("shipped_at", f"It shipped on {shipped_at:%Y-%m-%d}: that is in the future.", "in_future")
    skus = {str(raw.get("item") or "") for raw in lines}
    items = {i.sku: i for i in Item.objects.filter(sku__in=skus).prefetch_related("units")}
    errors: list[dict] = []
    checked: list[tuple[Item, object, int]] = []
    seen: dict[tuple[int, str], int] = {}
    if not lines:
        errors.append({"field": "lines", "code": "required", "message": "A transfer needs lines."})
    for index, raw in enumerate(lines):
        prefix = f"lines[{index}]"
        item = items.get(str(raw.get("item") or ""))
        if item is None:
            errors.append(
                {"field": f"{prefix}.item", "code": "does_not_exist", "message": f"No item {raw.get('item')!r}."}
            )
            continue
        if not item.active:
            errors.append({"field": f"{prefix}.item", "code": "inactive", "message": f"{item.sku} is inactive."})
        lot_number = str(raw.get("lot") or "")
        key = (item.pk, lot_number)
        if key in seen:
            errors.append(
                {
                    "field": f"{prefix}.lot" if lot_number else f"{prefix}.item",
                    "code": "duplicate",
                    "message": f"{item.sku} {lot_number} is already on line {seen[key] + 1}.".replace("  ", " "),
                }
            )
        seen.setdefault(key, index)
        try:
            qty = to_base_quantity(item, raw.get("quantity"), raw.get("unit") or None, field=f"{prefix}.quantity")
        except ValidationFailed as exc:
            errors.extend(
                {**e, "field": e["field"] if e["field"].startswith(prefix) else f"{prefix}.{e['field']}"}
                for e in exc.errors
            )
            qty = None
        try:
            lot = resolve_lot(item, lot_number, raw.get("expiry_date"), create=True)
        except ValidationFailed as exc:
            errors.extend({**e, "field": f"{prefix}.{e['field']}"} for e in exc.errors)
            continue
        if qty is not None:
            checked.append((item, lot, qty))
    if errors:
        raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors[:10]), errors=errors)
    per_item: dict[str, int] = defaultdict(int)
    for item, _lot, qty in checked:
        per_item[item.sku] += qty
    transfer = transfer_documents.create_shipped_transfer(
        user=user,
        from_site=from_site,
        to_site=to_site,
        lines=[{"item": sku, "quantity": qty} for sku, qty in per_item.items()],
        priority=priority,
        reason=reason,
        shipped_at=shipped_at,
    )
    source = virtual_location(from_site.pk, Location.Kind.ADJUSTMENT)
    in_transit = virtual_location(to_site.pk, Location.Kind.IN_TRANSIT)
    post_moves(
        lines=[
            MoveLine(
                item.pk,
                lot.pk if lot else None,
                qty,
                source,
                "",
                in_transit,
                InventoryStatus.IN_TRANSIT,
                unit_cost=item.standard_cost,
            )
            for item, lot, qty in checked
        ],
        kind=StockMove.Kind.OPENING,
        user=user,
        reference=transfer.number,
        document=transfer,
        reason_code="OPENING_IN_TRANSIT",
    )
    return transfer


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
