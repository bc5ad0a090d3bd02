"""Outbound execution: plan and release waves, confirm picks (short picks), pack and ship.

The orders' own rows (status, line counters, allocations) are written by orders' fulfilment services; every
step here locks the orders first and asks the order's lifecycle (``orders.policy.lifecycle``) under that lock,
so a cancelled or held order is never waved, picked, packed or shipped however requests interleave.

Lock order, as everywhere: sales orders, then the wave, then the shipment; then stock levels by (site, item),
then quants by id. Wave planning at a site is serialised on the site row (FOR NO KEY UPDATE, which foreign-key
checks of concurrent inserts do not wait for), so two waves planned at once never take the same allocation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from core.db import atomic_with_retry, lock_rows
from core.errors import NotFound, StateConflict, ValidationFailed
from core.validation import field_error
from governance import permissions
from governance.models import Site
from governance.services import get_rule, open_exception
from governance.services.history import set_history_user
from governance.services.sequences import next_document_number
from governance.services.sites import site_local_date, site_zone
from inventory.models import InventoryStatus, Location, StockMove, StockQuant
from inventory.services import MoveLine, post_moves, reserve_quants
from orders.models import Allocation, SalesOrder, SalesOrderLine
from orders.policy import lifecycle
from orders.services import fulfilment
from orders.services.orders import clean_code
from warehouse.events import emit_shipment_confirmed
from warehouse.models import Package, PickTask, Shipment, ShipmentLine, Wave, WaveLine
from warehouse.policy import picking as policy

from .labels import new_ssccs
from .picking import (
    cancel_pick_tasks,
    check_scan,
    clean_short_reason,
    post_pick,
    quant_infos,
    report_short_pick,
    staging_location,
)

S = SalesOrder.Status
#: the heaviest package a shipment may declare (10 t), for the API, the pages and pack_wave alike
MAX_PACKAGE_GRAMS = 10_000_000
WAVEABLE = (S.ALLOCATED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.PICKING, S.PARTIALLY_SHIPPED)


def _lock_site(user, site: Site, action: str) -> Site:
    if not permissions.can_see_site(user, site):
        raise NotFound("No such site.")
    permissions.require(user, action, site, what="site")
    return Site.objects.select_for_update(of=("self",), no_key=True).get(pk=site.pk)


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
    if chosen:
        # the orders chosen, locked now and asked again: one cancelled, held or re-allocated since the
        # unlocked read above is left out (its allocation is no longer open, or not as large)
        locked_orders = fulfilment.lock_sales_orders({c.order_id for c in chosen})
        still_open = fulfilment.open_allocations(locked_orders)
        chosen = [
            c
            for c in chosen
            if c.order_id in locked_orders
            and fulfilment.allows(locked_orders[c.order_id], lifecycle.WAVE)
            and c.allocation_id in still_open
            and still_open[c.allocation_id].quantity == c.quantity
        ]
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


def _lock_wave_and_orders(user, wave: Wave, action: str) -> tuple[Wave, dict[int, SalesOrder]]:
    """The wave's orders, then the wave (documents in the one lock order: sales orders before waves)."""
    first = Wave.objects.filter(pk=wave.pk).first()
    if first is None or not permissions.can_see_site(user, first.site_id):
        raise NotFound("No such wave.")
    permissions.require(user, action, first.site_id, what="wave")
    orders = fulfilment.lock_sales_orders(
        WaveLine.objects.filter(wave_id=first.pk).values_list("order_line__order_id", flat=True)
    )
    locked = Wave.objects.select_for_update(of=("self",), no_key=True).get(pk=first.pk)
    return locked, orders


WAVE_RELEASE, WAVE_PACK = "release", "pack"
#: what a wave's status allows (release_wave's and pack_wave's guards, and ``allowed_actions``)
_WAVE_BY_STATUS = {
    Wave.Status.PLANNED: frozenset({WAVE_RELEASE}),
    Wave.Status.RELEASED: frozenset({WAVE_PACK}),
    Wave.Status.COMPLETED: frozenset({WAVE_PACK}),
}


def order_on_wave(order_id: int) -> bool:
    """Has the order lines on an active wave? (orders.selectors.register_on_wave_check)"""
    return WaveLine.objects.filter(order_line__order_id=order_id, active=True).exists()


def wave_actions(wave: Wave, user) -> frozenset[str]:
    """``allowed_actions`` of a wave: release a planned wave (``warehouse.plan``); pack a released or completed
    wave that has picked units not yet packed (``warehouse.execute``)."""
    by_status = _WAVE_BY_STATUS.get(wave.status, frozenset())
    actions = set()
    if WAVE_RELEASE in by_status and permissions.can(user, "warehouse.plan", wave.site_id):
        actions.add(WAVE_RELEASE)
    if WAVE_PACK in by_status and permissions.can(user, "warehouse.execute", wave.site_id):
        picked = PickTask.objects.filter(wave_id=wave.pk).aggregate(n=Sum("picked_quantity"))["n"] or 0
        packed = (
            ShipmentLine.objects.filter(shipment__wave_id=wave.pk)
            .exclude(shipment__status=Shipment.Status.CANCELLED)
            .aggregate(n=Sum("quantity"))["n"]
            or 0
        )
        if picked > packed:
            actions.add(WAVE_PACK)
    return frozenset(actions)


@atomic_with_retry
def release_wave(*, user, wave: Wave) -> Wave:
    """Create pick tasks (location and lot chosen by the picking policy) and reserve the quants they name, so
    no other wave can plan the same units. A line whose order no longer allows it (cancelled, held) or whose
    allocation is no longer open is taken off the wave; one whose allocation shrank picks what is left."""
    locked, orders = _lock_wave_and_orders(user, wave, "warehouse.plan")
    if WAVE_RELEASE not in _WAVE_BY_STATUS.get(locked.status, ()):
        raise StateConflict(f"{locked.number} is {locked.status}; only a planned wave can be released.")
    lines = list(locked.lines.filter(active=True).select_related("order_line__order__customer", "allocation"))
    still_open = fulfilment.open_allocations(orders)
    kept, dropped = [], []
    for wl in lines:
        allocation = still_open.get(wl.allocation_id)
        if allocation is None or not fulfilment.allows(orders[wl.order_line.order_id], lifecycle.WAVE):
            dropped.append(wl)
            continue
        if allocation.quantity < wl.quantity:
            wl.quantity = allocation.quantity
            wl.save(update_fields=["quantity"])
        kept.append(wl)
    if dropped:
        WaveLine.objects.filter(pk__in=[wl.pk for wl in dropped]).update(active=False)
    lines = kept
    if not lines:
        raise StateConflict(f"{locked.number}: none of its orders can be picked any more (cancelled or held).")
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
    claims: dict[int, int] = defaultdict(int)
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
            quant.reserved += qty  # what the next line of this wave may still take (written by inventory below)
            claims[quant_id] += qty
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
    for quant in quants:  # the in-memory claims above are inventory's to write
        quant.reserved -= claims.get(quant.pk, 0)
    written = reserve_quants(dict(claims))
    for quant in quants:  # the refill below plans from these rows, as inventory wrote them
        if quant.pk in written:
            quant.reserved = written[quant.pk].reserved
    PickTask.objects.bulk_create(tasks)
    picking = sorted({wl.order_line.order_id for wl in lines})
    fulfilment.start_picking(orders=[orders[order_id] for order_id in picking], user=user)
    locked.status = Wave.Status.RELEASED
    locked.released_at = timezone.now()
    if problems:
        locked.filters = {**locked.filters, "not_pickable": problems}
    set_history_user(locked, user)
    locked.save()
    from .replenishment import replenish_pick_faces

    replenish_pick_faces(site_id=locked.site_id, item_ids=item_ids, wave=locked, user=user, locked_quants=quants)
    return locked


@atomic_with_retry
def confirm_pick(
    *,
    user,
    task: PickTask,
    quantity: int,
    location_code: str,
    lot_number: str = "",
    item_sku: str = "",
    short_reason: str = "",
) -> PickTask:
    """Confirm a pick after validating what was scanned. Less than asked is a short pick: the shortfall is
    recorded, a SHORT_PICK exception opens, the location is to be counted, the missing units of that quant go
    on HOLD pending the count, and the line's remainder is re-allocated from other stock (or backordered).
    Confirming again with the same data is harmless; different data is a 409, and so is a pick of an order
    that was cancelled or held meanwhile. ``short_reason`` (PickTask.ShortReason) says why a short pick is short;
    it goes on the task and its exception. A transfer's pick task is confirmed the same way
    (warehouse.services.transfers.confirm_transfer_pick)."""
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
            short_reason=short_reason,
        )
    order = fulfilment.lock_sales_orders([first.order_line.order_id])[first.order_line.order_id]
    locked = (
        PickTask.objects.select_for_update(of=("self",), no_key=True)
        .select_related("location", "lot", "order_line", "wave_line__allocation", "item")
        .get(pk=task.pk)
    )
    if check_scan(
        locked, quantity=quantity, location_code=location_code, lot_number=lot_number, item_sku=item_sku, user=user
    ):
        return locked
    fulfilment.require_action(order, lifecycle.PICK)
    short = locked.quantity - quantity
    reason = clean_short_reason(short_reason, short=short)
    if short:
        from orders.services.allocation import lock_allocation_levels

        # the re-allocation below locks the order's items at every site: take those levels now, before the pick's
        # ledger post locks one of them, so the levels are locked in one global order
        lock_allocation_levels([order.pk])
    fulfilment.record_pick(
        order=order,
        line_id=locked.order_line_id,
        allocation_id=locked.wave_line.allocation_id,
        picked=quantity,
        short=short,
        user=user,
    )
    post_pick(
        locked, user=user, quantity=quantity, location_code=location_code, lot_number=lot_number, short_reason=reason
    )
    if short:
        report_short_pick(locked, user=user, short=short, document_number=order.number)
        from orders.services import allocate_orders

        allocate_orders([order.pk])
    if not locked.wave.pick_tasks.filter(status=PickTask.Status.OPEN).exists():
        Wave.objects.filter(pk=locked.wave_id).update(status=Wave.Status.COMPLETED, completed_at=timezone.now())
    return locked


def withdraw_order_from_waves(sender, order: SalesOrder, user, action: str, **kwargs) -> None:
    """orders.signals.order_withdrawing: the (locked) order is being cancelled or held. Its lines leave every
    wave and their open pick tasks are cancelled, the units given back to their quants; refused (409) once a
    unit was picked, or when the site does not take waved orders back (``orders.cancel_waved_orders``)."""
    lines = list(WaveLine.objects.filter(order_line__order_id=order.pk, active=True))
    if not lines:
        return
    facts = lifecycle.OrderFacts(
        status=order.status,
        on_wave=True,
        cancel_waved_orders=bool(get_rule("orders.cancel_waved_orders", order.site_id)),
    )
    why = lifecycle.refusal(facts, action, order.number)
    if why:
        raise StateConflict(why)
    waves = lock_rows(Wave.objects.filter(pk__in={wl.wave_id for wl in lines}))
    tasks = lock_rows(PickTask.objects.filter(wave_line__in=lines))
    units = sum(t.picked_quantity or 0 for t in tasks)
    if units:
        raise StateConflict(
            lifecycle.refusal(facts.__class__(status=order.status, picked_units=units), action, order.number)
        )
    cancel_pick_tasks(tasks, user=user)
    WaveLine.objects.filter(pk__in=[wl.pk for wl in lines]).update(active=False)
    now = timezone.now()
    for wave in waves:
        if wave.lines.filter(active=True).exists():
            if wave.status == Wave.Status.RELEASED and not wave.pick_tasks.filter(status=PickTask.Status.OPEN).exists():
                wave.status, wave.completed_at = Wave.Status.COMPLETED, now
                set_history_user(wave, user)
                wave.save(update_fields=["status", "completed_at"])
            continue
        if wave.status in (Wave.Status.PLANNED, Wave.Status.RELEASED):
            wave.status = Wave.Status.CANCELLED
            set_history_user(wave, user)
            wave.save(update_fields=["status"])


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
    locked, locked_orders = _lock_wave_and_orders(user, wave, "warehouse.execute")
    if WAVE_PACK not in _WAVE_BY_STATUS.get(locked.status, ()):
        raise StateConflict(f"{locked.number} is {locked.status}; nothing to pack.")
    order_ids = sorted(locked_orders)
    # only orders that may still be packed (a cancelled or held order never is)
    orders = [locked_orders[pk] for pk in order_ids if fulfilment.allows(locked_orders[pk], lifecycle.PACK)]
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
        ssccs = new_ssccs(locked.site_id, len(boxes))
        Package.objects.bulk_create(
            [
                Package(
                    shipment=shipment,
                    number=i + 1,
                    weight_grams=int(box.get("weight_grams") or 0),
                    contents=box.get("contents") or contents,
                    sscc=sscc,
                )
                for i, (box, sscc) in enumerate(zip(boxes, ssccs, strict=True))
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
    orders = fulfilment.lock_sales_orders(order_ids)
    locked = Shipment.objects.select_for_update(of=("self",), no_key=True).get(pk=shipment.pk)
    if locked.status == Shipment.Status.SHIPPED:
        if (locked.carrier, locked.tracking_number) == (carrier, tracking_number):
            return locked
        raise StateConflict(f"{locked.number} was already shipped with {locked.carrier} {locked.tracking_number}.")
    if locked.status != Shipment.Status.PACKED:
        raise StateConflict(f"{locked.number} is {locked.status}.")
    staging = staging_location(locked.site_id)
    from inventory.services import virtual_location

    customer_loc = virtual_location(locked.site_id, Location.Kind.CUSTOMER)
    ship_lines = list(locked.lines.all())
    per_line: dict[int, int] = defaultdict(int)
    for sl in ship_lines:
        per_line[sl.order_line_id] += sl.quantity
    now = timezone.now()
    # orders consume exactly the open allocations behind these units (409 if the order changed since packing)
    consumed = fulfilment.consume_for_shipment(
        orders=orders, site_id=locked.site_id, per_line=dict(per_line), user=user, now=now
    )
    moves = [
        MoveLine(sl.item_id, sl.lot_id, sl.quantity, staging, InventoryStatus.AVAILABLE, customer_loc, "")
        for sl in ship_lines
    ]
    post_moves(
        lines=moves,
        kind=StockMove.Kind.SHIP,
        user=user,
        reference=locked.number,
        document=locked,
        allocated_deltas={key: -units for key, units in consumed.items()},
    )
    locked.status = Shipment.Status.SHIPPED
    locked.carrier = carrier.strip()
    locked.tracking_number = tracking_number.strip()
    locked.shipped_by = user if getattr(user, "is_authenticated", False) else None
    locked.shipped_at = now
    set_history_user(locked, user)
    locked.save()
    # packages packed before SSCCs were given at packing get theirs now, before anything ships without one
    unlabelled = list(locked.packages.filter(sscc__isnull=True).order_by("number").select_for_update(no_key=True))
    for package, code in zip(unlabelled, new_ssccs(locked.site_id, len(unlabelled)), strict=True):
        package.sscc = code
        package.save(update_fields=["sscc"])
    emit_shipment_confirmed(locked)
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
