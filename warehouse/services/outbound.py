"""Outbound execution: plan and release waves, confirm picks (short picks), pack and ship.

Lock order, as everywhere: sales orders, then stock levels, then quants. Wave planning at a site is serialised
on the site row, so two waves planned at once never take the same allocation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from distribution_erp.db import atomic_with_retry, lock_rows
from distribution_erp.errors import NotFound, StateConflict, ValidationFailed
from distribution_erp.validation import field_error
from governance import permissions
from governance.models import Site
from governance.services import get_rule, open_exception
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date, site_zone
from inventory.models import InventoryStatus, Location, StockMove, StockQuant
from inventory.services import MoveLine, change_allocated, post_moves
from orders.models import Allocation, SalesOrder, SalesOrderLine
from orders.services.orders import clean_code
from warehouse.models import CountRequest, Package, PickTask, Shipment, ShipmentLine, Wave, WaveLine
from warehouse.policy import picking as policy

S = SalesOrder.Status
#: the heaviest package a shipment may declare (10 t), for the API, the pages and pack_wave alike
MAX_PACKAGE_GRAMS = 10_000_000
WAVEABLE = (S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.PICKING, S.PARTIALLY_SHIPPED)


def quant_infos(quants: list[StockQuant]) -> list[policy.QuantInfo]:
    """What the picking policy needs of each candidate quant (location, zone, aisle, lot expiry, free units);
    the quants come with ``location__zone`` and ``lot`` selected. Used by waves, transfers and pick-face refills."""
    return [
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
        for q in quants
    ]


def staging_location(site_id: int) -> Location:
    location = (
        Location.objects.filter(site_id=site_id, kind=Location.Kind.STAGING, active=True).order_by("code").first()
    )
    if location is None:
        from distribution_erp.errors import RuleViolation

        raise RuleViolation("This site has no active STAGING location; an admin must create one.")
    return location


def _lock_site(user, site: Site, action: str) -> Site:
    if not permissions.can_see_site(user, site):
        raise NotFound("No such site.")
    permissions.require(user, action, site, what="site")
    return Site.objects.select_for_update().get(pk=site.pk)


@atomic_with_retry
def plan_wave(
    *,
    user,
    site: Site,
    max_orders: int | None = None,
    max_lines: int = 500,
    carrier: str = "",
    route: str = "",
    cutoff_before: datetime | None = None,
    cutoff: datetime | None = None,
    max_priority: int | None = None,
    promised_by: date | None = None,
) -> Wave:
    """Plan a wave from allocated, not yet waved lines of one site (whole orders, most urgent first), narrowed
    by the orders' carrier, route and ship-by cutoff, priority and promised date. ``cutoff`` is the older name
    of ``cutoff_before``. The wave's own cutoff is the earliest cutoff of its orders."""
    _lock_site(user, site, "warehouse.plan")
    max_orders = max_orders or get_rule("waves.max_orders", site.pk)
    for name, value in (("max_orders", max_orders), ("max_lines", max_lines)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise field_error(name, "Give a whole number from 1 to 10,000.", "invalid")
    if max_priority is not None and (
        isinstance(max_priority, bool) or not isinstance(max_priority, int) or not 1 <= max_priority <= 5
    ):
        raise field_error("max_priority", "Priority is a whole number from 1 (highest) to 5.", "invalid")
    carrier, route = clean_code(carrier, "carrier"), clean_code(route, "route")
    if cutoff_before is not None and cutoff is not None and cutoff_before != cutoff:
        raise field_error("cutoff_before", "Give cutoff_before or cutoff, not two different times.", "conflict")
    cutoff_before = cutoff_before or cutoff
    open_allocations = (
        Allocation.objects.filter(
            site=site, status=Allocation.Status.OPEN, quantity__gt=0, line__order__status__in=WAVEABLE
        )
        .exclude(wave_lines__active=True)
        .select_related("line__order")
    )
    candidates = [
        policy.Candidate(
            a.pk,
            a.line.order_id,
            a.line_id,
            a.quantity,
            a.line.order.priority,
            a.line.order.promised_date,
            a.line.order.released_at or a.line.order.created_at,
            a.line.order.carrier,
            a.line.order.route,
            a.line.order.cutoff,
        )
        for a in open_allocations
    ]
    chosen = policy.plan_wave(
        candidates,
        max_orders=max_orders,
        max_lines=max_lines,
        max_priority=max_priority,
        promised_by=promised_by,
        carrier=carrier,
        route=route,
        cutoff_before=cutoff_before,
    )
    if not chosen:
        raise StateConflict("No allocated lines at this site match; nothing to plan.")
    wave = Wave(
        number=next_document_number("WV"),
        site=site,
        carrier=carrier,
        cutoff=policy.wave_cutoff(chosen, cutoff_before),
        filters={
            "max_orders": max_orders,
            "max_lines": max_lines,
            "max_priority": max_priority,
            "promised_by": str(promised_by) if promised_by else None,
            "carrier": carrier or None,
            "route": route or None,
            "cutoff_before": cutoff_before.isoformat() if cutoff_before else None,
        },
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    set_history_user(wave, user)
    wave.save()
    WaveLine.objects.bulk_create(
        [
            WaveLine(wave=wave, allocation_id=c.allocation_id, order_line_id=c.line_id, quantity=c.quantity)
            for c in chosen
        ]
    )
    return wave


def _lock_wave(user, wave: Wave, action: str) -> Wave:
    locked = Wave.objects.select_for_update().filter(pk=wave.pk).first()
    if locked is None or not permissions.can_see_site(user, locked.site_id):
        raise NotFound("No such wave.")
    permissions.require(user, action, locked.site_id, what="wave")
    return locked


@atomic_with_retry
def release_wave(*, user, wave: Wave) -> Wave:
    """Create pick tasks (location and lot chosen by the picking policy) and reserve the quants they name, so
    no other wave can plan the same units."""
    locked = _lock_wave(user, wave, "warehouse.plan")
    if locked.status != Wave.Status.PLANNED:
        raise StateConflict(f"{locked.number} is {locked.status}; only a planned wave can be released.")
    lines = list(locked.lines.filter(active=True).select_related("order_line__order__customer", "allocation"))
    order_ids = sorted({wl.order_line.order_id for wl in lines})
    lock_rows(SalesOrder.objects.filter(pk__in=order_ids))
    staging = staging_location(locked.site_id)
    today = site_local_date(locked.site)
    min_life = get_rule("picking.min_remaining_shelf_life_days", locked.site_id)
    item_ids = sorted({wl.allocation.item_id for wl in lines})
    quants = lock_rows(
        StockQuant.objects.filter(
            site_id=locked.site_id,
            item_id__in=item_ids,
            status=InventoryStatus.AVAILABLE,
            quantity__gt=0,
            location__kind__in=list(policy.KIND_RANK),
            location__active=True,
        ).select_related("location__zone", "lot")
    )
    by_item: dict[int, list[StockQuant]] = defaultdict(list)
    for quant in quants:
        by_item[quant.item_id].append(quant)
    tasks, problems = [], []
    for wl in lines:
        infos = quant_infos(by_item[wl.allocation.item_id])
        plan = policy.choose_picks(
            wl.quantity,
            infos,
            today=today,
            min_shelf_life_days=policy.effective_min_shelf_life(
                min_life, wl.order_line.order.customer.min_shelf_life_days
            ),
        )
        quant_by_id = {q.pk: q for q in by_item[wl.allocation.item_id]}
        for quant_id, qty in plan.picks:
            quant = quant_by_id[quant_id]
            quant.reserved += qty
            tasks.append(
                PickTask(
                    wave=locked,
                    site_id=locked.site_id,
                    wave_line=wl,
                    order_line=wl.order_line,
                    item_id=quant.item_id,
                    lot_id=quant.lot_id,
                    location=quant.location,
                    to_location=staging,
                    quantity=qty,
                )
            )
        if plan.shortfall:
            why = "; ".join(plan.skipped) or "no free stock in pick or storage locations"
            problems.append(f"{wl.order_line}: {plan.shortfall} not pickable ({why})")
    if not tasks:
        raise StateConflict("No pickable stock for this wave: " + "; ".join(problems))
    order = policy.walk_order(
        [(t.location.zone.code if t.location.zone_id else "", t.location.aisle, t.location.code) for t in tasks]
    )
    for sequence, index in enumerate(order, start=1):
        tasks[index].sequence = sequence
    StockQuant.objects.bulk_update([q for q in quants if q.reserved], ["reserved"])
    PickTask.objects.bulk_create(tasks)
    SalesOrder.objects.filter(pk__in=order_ids, status__in=(S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED)).update(
        status=S.PICKING, updated_at=timezone.now()
    )
    locked.status = Wave.Status.RELEASED
    locked.released_at = timezone.now()
    if problems:
        locked.filters = {**locked.filters, "not_pickable": problems}
    set_history_user(locked, user)
    locked.save()
    from .replenishment import replenish_pick_faces

    replenish_pick_faces(site_id=locked.site_id, item_ids=item_ids, wave=locked, user=user)
    return locked


def check_scan(locked: PickTask, *, quantity, location_code: str, lot_number: str, item_sku: str) -> bool:
    """Validate a pick confirmation against the locked task. True: the task was already confirmed with the
    same data (nothing to do). Different data on a confirmed task is a 409; wrong scans are 400s."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= locked.quantity:
        raise field_error("quantity", f"Give the picked quantity, 0 to {locked.quantity}.", "invalid")
    if locked.status != PickTask.Status.OPEN:
        if (locked.picked_quantity, locked.scanned_location, locked.scanned_lot) == (
            quantity,
            location_code,
            lot_number or "",
        ):
            return True
        raise StateConflict("This pick was already confirmed with different data.")
    if location_code != locked.location.code:
        raise field_error(
            "location",
            f"Wrong location: scanned {location_code!r}, the task is at {locked.location.code}.",
            "wrong_location",
        )
    if item_sku and item_sku != locked.item.sku:
        raise field_error("item", f"Wrong item: scanned {item_sku!r}, the task is for {locked.item.sku}.", "wrong_item")
    if locked.lot_id and lot_number != locked.lot.number:
        raise field_error(
            "lot", f"Wrong lot: scanned {lot_number!r}, the task names lot {locked.lot.number}.", "wrong_lot"
        )
    return False


def post_pick(locked: PickTask, *, user, quantity: int, location_code: str, lot_number: str) -> int:
    """Move what was picked to staging and put the missing units of that quant on HOLD pending a count (the
    caller released their claim first); record the confirmation. Returns the shortfall."""
    short = locked.quantity - quantity
    if quantity:
        post_moves(
            lines=[
                MoveLine(
                    locked.item_id,
                    locked.lot_id,
                    quantity,
                    locked.location,
                    InventoryStatus.AVAILABLE,
                    locked.to_location,
                    InventoryStatus.AVAILABLE,
                    consume_reserved=quantity,
                )
            ],
            kind=StockMove.Kind.PICK,
            user=user,
            reference=f"PICK-{locked.pk}",
            document=locked,
        )
    if short:
        post_moves(
            lines=[
                MoveLine(
                    locked.item_id,
                    locked.lot_id,
                    short,
                    locked.location,
                    InventoryStatus.AVAILABLE,
                    locked.location,
                    InventoryStatus.HOLD,
                    consume_reserved=short,
                    note="short pick: held pending count",
                )
            ],
            kind=StockMove.Kind.STATUS,
            user=user,
            reference=f"PICK-{locked.pk}",
            document=locked,
            reason_code="SHORT_PICK",
        )
    locked.status = PickTask.Status.SHORT if short else PickTask.Status.PICKED
    locked.picked_quantity = quantity
    locked.scanned_location = location_code
    locked.scanned_lot = lot_number or ""
    locked.confirmed_by = user
    locked.confirmed_at = timezone.now()
    set_history_user(locked, user)
    locked.save()
    return short


def report_short_pick(locked: PickTask, *, user, short: int, document_number: str) -> None:
    """A SHORT_PICK exception on the task and a count request for its location."""
    open_exception(
        site=locked.site,
        code="SHORT_PICK",
        subject=locked,
        user=user,
        summary=f"{document_number}: {short} of {locked.quantity} {locked.item.sku} missing at {locked.location.code}.",
        details={"order": document_number, "location": locked.location.code, "short": short},
    )
    CountRequest.objects.get_or_create(
        location=locked.location,
        status=CountRequest.Status.OPEN,
        defaults={"site_id": locked.site_id, "item": locked.item, "reason": f"Short pick PICK-{locked.pk}"},
    )


@atomic_with_retry
def confirm_pick(
    *, user, task: PickTask, quantity: int, location_code: str, lot_number: str = "", item_sku: str = ""
) -> PickTask:
    """Confirm a pick after validating what was scanned. Less than asked is a short pick: the shortfall is
    recorded, a SHORT_PICK exception opens, the location is to be counted, the missing units of that quant go
    on HOLD pending the count, and the line's remainder is re-allocated from other stock (or backordered).
    Confirming again with the same data is harmless; different data is a 409. A transfer's pick task is
    confirmed the same way (warehouse.services.transfers.confirm_transfer_pick)."""
    first = PickTask.objects.select_related("order_line").filter(pk=task.pk).first()
    if first is None or not permissions.can_see_site(user, first.site_id):
        raise NotFound("No such pick task.")
    permissions.require(user, "warehouse.execute", first.site_id, what="pick task")
    if first.transfer_line_id:
        from .transfers import confirm_transfer_pick

        return confirm_transfer_pick(
            user=user,
            task=first,
            quantity=quantity,
            location_code=location_code,
            lot_number=lot_number,
            item_sku=item_sku,
        )
    order = lock_rows(SalesOrder.objects.filter(pk=first.order_line.order_id))[0]
    locked = (
        PickTask.objects.select_for_update(of=("self",))
        .select_related("location", "lot", "order_line", "wave_line__allocation", "item")
        .get(pk=task.pk)
    )
    if check_scan(locked, quantity=quantity, location_code=location_code, lot_number=lot_number, item_sku=item_sku):
        return locked
    short = locked.quantity - quantity
    allocation = locked.wave_line.allocation
    site_id = locked.site_id
    if short:
        # release the claim on the missing units before they leave AVAILABLE
        change_allocated(deltas={(locked.item_id, site_id): -short})
        allocation.quantity -= short
        if allocation.quantity == 0:
            allocation.status = Allocation.Status.RELEASED
            allocation.released_at = timezone.now()
        allocation.save(update_fields=["quantity", "status", "released_at"])
        SalesOrderLine.objects.filter(pk=locked.order_line_id).update(
            allocated_quantity=locked.order_line.allocated_quantity - short
        )
    post_pick(locked, user=user, quantity=quantity, location_code=location_code, lot_number=lot_number)
    SalesOrderLine.objects.filter(pk=locked.order_line_id).update(
        picked_quantity=locked.order_line.picked_quantity + quantity
    )
    if short:
        report_short_pick(locked, user=user, short=short, document_number=order.number)
        from orders.services import allocate_orders

        allocate_orders([order.pk])
    if not locked.wave.pick_tasks.filter(status=PickTask.Status.OPEN).exists():
        Wave.objects.filter(pk=locked.wave_id).update(status=Wave.Status.COMPLETED, completed_at=timezone.now())
    return locked


def _picked_unpacked(order_ids: list[int]) -> dict[tuple[int, int | None], int]:
    """(order line, lot) -> units picked to staging and not yet in a shipment."""
    picked = defaultdict(int)
    for row in (
        PickTask.objects.filter(order_line__order_id__in=order_ids, picked_quantity__gt=0)
        .values("order_line_id", "lot_id")
        .annotate(total=Sum("picked_quantity"))
    ):
        picked[(row["order_line_id"], row["lot_id"])] += row["total"]
    for row in (
        ShipmentLine.objects.filter(order_id__in=order_ids)
        .exclude(shipment__status=Shipment.Status.CANCELLED)
        .values("order_line_id", "lot_id")
        .annotate(total=Sum("quantity"))
    ):
        picked[(row["order_line_id"], row["lot_id"])] -= row["total"]
    return {key: qty for key, qty in picked.items() if qty > 0}


@atomic_with_retry
def pack_wave(*, user, wave: Wave, packages: list[dict] | None = None) -> list[Shipment]:
    """Pack what the wave picked into shipments: one per order, or one per customer and ship-to address when
    the site consolidates. An order the customer wants complete (or the site does not ship partially) waits
    until everything is picked. Each package's ``weight_grams`` is a whole number from 0 to MAX_PACKAGE_GRAMS."""
    for index, box in enumerate(packages or []):
        weight = box.get("weight_grams", 0) if isinstance(box, dict) else None
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= MAX_PACKAGE_GRAMS:
            raise field_error(
                f"packages[{index}].weight_grams", f"Give whole grams from 0 to {MAX_PACKAGE_GRAMS:,}.", "invalid"
            )
    locked = _lock_wave(user, wave, "warehouse.execute")
    if locked.status not in (Wave.Status.RELEASED, Wave.Status.COMPLETED):
        raise StateConflict(f"{locked.number} is {locked.status}; nothing to pack.")
    order_ids = sorted(set(locked.lines.values_list("order_line__order_id", flat=True)))
    orders = lock_rows(SalesOrder.objects.filter(pk__in=order_ids).select_related("customer"))
    staged = _picked_unpacked(order_ids)
    lines_by_id = {line.pk: line for line in SalesOrderLine.objects.filter(order_id__in=order_ids)}
    site_partial = get_rule("shipping.allow_partial_shipments", locked.site_id)
    consolidate = get_rule("shipping.consolidate_orders", locked.site_id)
    groups: dict[tuple, list[tuple[SalesOrder, int, int | None, int]]] = defaultdict(list)
    for order in orders:
        mine = [
            (line_id, lot, qty) for (line_id, lot), qty in staged.items() if lines_by_id[line_id].order_id == order.pk
        ]
        if not mine:
            continue
        complete = all(
            line.picked_quantity >= line.quantity_base for line in lines_by_id.values() if line.order_id == order.pk
        )
        if not complete and not (site_partial and order.customer.allow_partial_shipment):
            continue
        key = (order.customer.code, order.ship_to_address, order.carrier) if consolidate else (order.pk,)
        groups[key] += [(order, line_id, lot, qty) for line_id, lot, qty in mine]
    if not groups:
        raise StateConflict("Nothing to pack: no picked units, or the orders wait to ship complete.")
    shipments = []
    for entries in groups.values():
        order = entries[0][0]
        shipment = Shipment(
            number=next_document_number("SH"),
            site_id=locked.site_id,
            wave=locked,
            customer_code=order.customer.code,
            ship_to_address=order.ship_to_address,
            carrier=locked.carrier or order.carrier,
            packed_by=user if getattr(user, "is_authenticated", False) else None,
        )
        set_history_user(shipment, user)
        shipment.save()
        ShipmentLine.objects.bulk_create(
            [
                ShipmentLine(
                    shipment=shipment,
                    order=o,
                    order_line_id=line_id,
                    item_id=lines_by_id[line_id].item_id,
                    lot_id=lot,
                    quantity=qty,
                )
                for o, line_id, lot, qty in entries
            ]
        )
        contents = [{"item": lines_by_id[line_id].item.sku, "quantity": qty} for _, line_id, _, qty in entries]
        boxes = packages or [{"weight_grams": 0, "contents": contents}]
        Package.objects.bulk_create(
            [
                Package(
                    shipment=shipment,
                    number=i + 1,
                    weight_grams=int(box.get("weight_grams") or 0),
                    contents=box.get("contents") or contents,
                )
                for i, box in enumerate(boxes)
            ]
        )
        shipments.append(shipment)
    return shipments


@atomic_with_retry
def confirm_shipment(*, user, shipment: Shipment, carrier: str, tracking_number: str) -> Shipment:
    """Staged stock leaves to the customer; allocations are consumed; lines record shipped quantities and
    time; orders become PARTIALLY_SHIPPED or SHIPPED. Same data again is harmless; different data is a 409."""
    first = Shipment.objects.filter(pk=shipment.pk).first()
    if first is None or not permissions.can_see_site(user, first.site_id):
        raise NotFound("No such shipment.")
    permissions.require(user, "warehouse.execute", first.site_id, what="shipment")
    if not (carrier or "").strip() or not (tracking_number or "").strip():
        raise ValidationFailed(
            "Give the carrier and the tracking number.",
            errors=[
                {"field": f, "code": "required", "message": "Required."}
                for f, v in (("carrier", carrier), ("tracking_number", tracking_number))
                if not (v or "").strip()
            ],
        )
    order_ids = sorted(set(first.lines.values_list("order_id", flat=True)))
    orders = {o.pk: o for o in lock_rows(SalesOrder.objects.filter(pk__in=order_ids))}
    locked = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if locked.status == Shipment.Status.SHIPPED:
        if (locked.carrier, locked.tracking_number) == (carrier, tracking_number):
            return locked
        raise StateConflict(f"{locked.number} was already shipped with {locked.carrier} {locked.tracking_number}.")
    if locked.status != Shipment.Status.PACKED:
        raise StateConflict(f"{locked.number} is {locked.status}.")
    staging = staging_location(locked.site_id)
    from inventory.services import virtual_location

    customer_loc = virtual_location(locked.site_id, Location.Kind.CUSTOMER)
    ship_lines = list(locked.lines.select_related("order_line"))
    moves, deltas = [], defaultdict(int)
    for sl in ship_lines:
        moves.append(MoveLine(sl.item_id, sl.lot_id, sl.quantity, staging, InventoryStatus.AVAILABLE, customer_loc, ""))
        deltas[(sl.item_id, locked.site_id)] -= sl.quantity
    post_moves(
        lines=moves,
        kind=StockMove.Kind.SHIP,
        user=user,
        reference=locked.number,
        document=locked,
        allocated_deltas=dict(deltas),
    )
    now = timezone.now()
    per_line = defaultdict(int)
    for sl in ship_lines:
        per_line[sl.order_line_id] += sl.quantity
    for line_id, qty in per_line.items():
        left = qty
        for allocation in lock_rows(
            Allocation.objects.filter(line_id=line_id, site_id=locked.site_id, status=Allocation.Status.OPEN)
        ):
            take = min(allocation.quantity, left)
            allocation.quantity -= take
            if allocation.quantity == 0:
                allocation.status = Allocation.Status.CONSUMED
                allocation.released_at = now
            allocation.save(update_fields=["quantity", "status", "released_at"])
            left -= take
            if not left:
                break
        line = SalesOrderLine.objects.select_for_update().get(pk=line_id)
        line.shipped_quantity += qty
        line.allocated_quantity -= qty - left
        line.first_shipped_at = line.first_shipped_at or now
        line.last_shipped_at = now
        line.save(update_fields=["shipped_quantity", "allocated_quantity", "first_shipped_at", "last_shipped_at"])
    for order in orders.values():
        lines = list(order.lines.all())
        done = all(line.shipped_quantity >= line.quantity_base for line in lines)
        order.status = S.SHIPPED if done else S.PARTIALLY_SHIPPED
        if done:
            order.shipped_at = now
        set_history_user(order, user)
        order.save(update_fields=["status", "shipped_at", "updated_at"])
    locked.status = Shipment.Status.SHIPPED
    locked.carrier = carrier.strip()
    locked.tracking_number = tracking_number.strip()
    locked.shipped_by = user if getattr(user, "is_authenticated", False) else None
    locked.shipped_at = now
    set_history_user(locked, user)
    locked.save()
    return locked


def sweep_late_shipment_risk(*, now: datetime | None = None) -> dict:
    """LATE_SHIPMENT_RISK for unshipped orders whose promised date falls within the site's warning window;
    resolved again once they ship or are cancelled. Idempotent."""
    from datetime import timedelta

    from governance.services import resolve_exceptions_for_subject
    from governance.services.rules import get_rule_for_sites

    now = now or timezone.now()
    counts = {"opened": 0, "already_open": 0, "resolved": 0}
    open_orders = list(
        SalesOrder.objects.filter(
            status__in=(S.RELEASED, S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.PICKING, S.PARTIALLY_SHIPPED)
        ).select_related("site")
    )
    window = get_rule_for_sites("shipping.late_risk_window_hours", sorted({o.site_id for o in open_orders}))
    for order in open_orders:
        # the start of the promised day where the order ships from
        due = datetime.combine(order.promised_date, datetime.min.time(), tzinfo=site_zone(order.site))
        if order.cutoff is not None:  # the ship-by cutoff counts when it comes first
            due = min(due, order.cutoff)
        if due - now <= timedelta(hours=window[order.site_id]):
            _, created = open_exception(
                site=order.site,
                code="LATE_SHIPMENT_RISK",
                subject=order,
                summary=f"{order.number} promised {order.promised_date} is not shipped ({order.status}).",
            )
            counts["opened" if created else "already_open"] += 1
    from django.contrib.contenttypes.models import ContentType

    from governance.models import ExceptionCase

    for case in ExceptionCase.objects.filter(
        code__code="LATE_SHIPMENT_RISK", content_type=ContentType.objects.get_for_model(SalesOrder)
    ).exclude(status=ExceptionCase.Status.RESOLVED):
        order = SalesOrder.objects.filter(pk=case.object_id).first()
        if order is not None and order.status in (S.SHIPPED, S.CANCELLED):
            counts["resolved"] += resolve_exceptions_for_subject(
                subject=order, code="LATE_SHIPMENT_RISK", note=f"Order {order.status.lower()}."
            )
    return counts


__all__ = [
    "confirm_pick",
    "confirm_shipment",
    "pack_wave",
    "plan_wave",
    "release_wave",
    "staging_location",
    "sweep_late_shipment_risk",
    "transaction",
    "Q",
]
