"""Pick-face replenishment (warehouse execution) and transfer orders made from replenishment suggestions.

A PICK location with a min/max for an item (``orders.PickFacePolicy``) is refilled from reserve storage when
its level — AVAILABLE units there, less what pick tasks reserved, plus refills already on the way — is at or
below its min: when a released wave reserves it down (called from ``release_wave``), or when the periodic
sweep finds it low for any other reason. The refill is a task per source quant, chosen FEFO among reserve
STORAGE quants (never an expired lot or one with less than the site's minimum shelf life); the task reserves
the source units at once, like a pick task, and the move is posted when an operator confirms it.

Lock order as in ``release_wave``: the AVAILABLE quants of the items in PICK and STORAGE locations, in
primary-key order (a wave's release already holds them, so the refill adds no lock of its own there).
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum
from django.utils import timezone

from core.db import atomic_with_retry, lock_rows
from core.errors import NotFound, StateConflict
from core.validation import field_error
from governance import permissions
from governance.models import Site
from governance.services import get_rule
from governance.services.history import set_history_user
from governance.services.sites import site_local_date
from inventory.models import InventoryStatus, Location, StockMove, StockQuant
from inventory.services import move_stock, reserve_quants
from orders.models import PickFacePolicy
from orders.policy.replenishment import pick_face_refill
from warehouse.models import CountRequest, ReplenishmentTask, Wave
from warehouse.policy import picking, scan

from . import floor
from .picking import quant_infos

FACE, RESERVE = Location.Kind.PICK, Location.Kind.STORAGE
#: items per transaction of the periodic sweep
SWEEP_CHUNK = 500


@atomic_with_retry
def replenish_pick_faces(
    *,
    site_id: int,
    item_ids: list[int] | None = None,
    wave: Wave | None = None,
    user=None,
    locked_quants: list[StockQuant] | None = None,
) -> dict:
    """Create refill tasks for the site's pick faces (of ``item_ids``, or all) at or below their min. Safe to
    repeat: refills on the way count toward a face's level, so a second call finds nothing to do.

    ``locked_quants``: the caller (a wave release) has already locked every AVAILABLE pick and storage quant of
    ``item_ids`` in one statement, with its own reservations in ``reserved``; the refill plans from those and
    locks nothing more. A second quant-locking statement in the same transaction could otherwise meet rows
    that became visible in between, out of primary-key order, and deadlock with another release."""
    counts = {"faces": 0, "tasks": 0, "units": 0, "short_faces": 0, "not_in_reserve": 0}
    policies = PickFacePolicy.objects.filter(site_id=site_id, active=True, location__active=True)
    if item_ids is not None:
        policies = policies.filter(item_id__in=item_ids)
    faces = list(
        policies.order_by("location_id", "item_id").values_list(
            "location_id", "item_id", "min_quantity", "max_quantity"
        )
    )
    if not faces:
        return counts
    items = sorted({item for _, item, _, _ in faces})
    if locked_quants is not None:
        wanted = set(items)
        quants = [
            q
            for q in locked_quants
            if q.item_id in wanted and q.site_id == site_id and q.location.kind in (FACE, RESERVE)
        ]
    else:
        quants = lock_rows(
            StockQuant.objects.filter(
                site_id=site_id,
                item_id__in=items,
                status=InventoryStatus.AVAILABLE,
                quantity__gt=0,
                location__kind__in=[FACE, RESERVE],
                location__active=True,
            ).select_related("location__zone", "lot")
        )
    at_face: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    reserve: dict[int, list[StockQuant]] = defaultdict(list)
    for q in quants:
        if q.location.kind == FACE:
            at_face[(q.location_id, q.item_id)][0] += q.quantity
            at_face[(q.location_id, q.item_id)][1] += q.reserved
        else:
            reserve[q.item_id].append(q)
    incoming = {
        (row["to_location_id"], row["item_id"]): row["total"]
        for row in ReplenishmentTask.objects.filter(
            site_id=site_id, status=ReplenishmentTask.Status.OPEN, item_id__in=items
        )
        .values("to_location_id", "item_id")
        .annotate(total=Sum("quantity"))
    }
    today = site_local_date(Site.objects.get(pk=site_id))
    min_life = get_rule("picking.min_remaining_shelf_life_days", site_id)
    trigger = ReplenishmentTask.Trigger.WAVE if wave is not None else ReplenishmentTask.Trigger.MIN
    tasks: list[ReplenishmentTask] = []
    claims: dict[int, int] = defaultdict(int)  # quant id -> units this run reserves for refills
    for location_id, item_id, min_q, max_q in faces:
        on_hand, reserved = at_face[(location_id, item_id)]
        on_the_way = incoming.get((location_id, item_id), 0)
        refill = pick_face_refill(
            on_hand=on_hand, reserved=reserved, incoming=on_the_way, min_quantity=min_q, max_quantity=max_q
        )
        if not refill:
            continue
        counts["faces"] += 1
        plan = picking.choose_picks(refill, quant_infos(reserve[item_id]), today=today, min_shelf_life_days=min_life)
        why = {
            "min_quantity": min_q,
            "max_quantity": max_q,
            "on_hand": on_hand,
            "reserved_by_picks": reserved,
            "refills_on_the_way": on_the_way,
            "level": on_hand - reserved + on_the_way,
            "refill": refill,
            "not_in_reserve": plan.shortfall,
            "skipped_lots": plan.skipped,
        }
        if wave is not None:
            why["wave"] = wave.number
        if plan.shortfall:
            counts["short_faces"] += 1
            counts["not_in_reserve"] += plan.shortfall
        by_id = {q.pk: q for q in reserve[item_id]}
        for quant_id, qty in plan.picks:
            quant = by_id[quant_id]
            quant.reserved += qty  # in memory, so the next face of the item sees it; inventory writes it below
            claims[quant.pk] += qty
            tasks.append(
                ReplenishmentTask(
                    site_id=site_id,
                    item_id=item_id,
                    lot_id=quant.lot_id,
                    from_location_id=quant.location_id,
                    to_location_id=location_id,
                    quantity=qty,
                    trigger=trigger,
                    wave=wave,
                    reason=why,
                )
            )
            counts["tasks"] += 1
            counts["units"] += qty
    if tasks:
        reserve_quants(dict(claims))
        from simple_history.utils import bulk_create_with_history

        bulk_create_with_history(  # bulk_create alone writes no history row
            tasks, ReplenishmentTask, default_user=user if getattr(user, "is_authenticated", False) else None
        )
    return counts


def sweep_pick_faces(*, site_id: int | None = None) -> dict:
    """Periodic: refill every pick face at or below its min, site by site, a chunk of items per transaction."""
    totals: dict[str, int] = defaultdict(int)
    policies = PickFacePolicy.objects.filter(active=True, site__active=True)
    if site_id is not None:
        policies = policies.filter(site_id=site_id)
    sites = sorted(set(policies.values_list("site_id", flat=True)))
    for sid in sites:
        items = sorted(set(policies.filter(site_id=sid).values_list("item_id", flat=True)))
        for start in range(0, len(items), SWEEP_CHUNK):
            for key, value in replenish_pick_faces(site_id=sid, item_ids=items[start : start + SWEEP_CHUNK]).items():
                totals[key] += value
    totals["sites"] = len(sites)
    return dict(totals)


def _lock_task(user, task: ReplenishmentTask, action: str) -> ReplenishmentTask:
    first = ReplenishmentTask.objects.filter(pk=task.pk).values_list("site_id", flat=True).first()
    if first is None or not permissions.can_see_site(user, first):
        raise NotFound("No such replenishment task.")
    permissions.require(user, action, first, what="replenishment task")
    return (
        ReplenishmentTask.objects.select_for_update(of=("self",), no_key=True)
        .select_related("from_location", "to_location", "lot", "item")
        .get(pk=task.pk)
    )


def _release_reservation(task: ReplenishmentTask, quantity: int) -> None:
    quants = lock_rows(
        StockQuant.objects.filter(
            item_id=task.item_id,
            location_id=task.from_location_id,
            lot_id=task.lot_id,
            status=InventoryStatus.AVAILABLE,
        )
    )
    give_back: dict[int, int] = {}
    for quant in quants:
        units = min(quant.reserved, quantity)
        if units:
            give_back[quant.pk] = -units
            quantity -= units
    reserve_quants(give_back)


@atomic_with_retry
def confirm_replenishment_task(
    *, user, task: ReplenishmentTask, quantity: int, location_code: str, lot_number: str = "", item_sku: str = ""
) -> ReplenishmentTask:
    """Confirm a refill after validating the scanned source location and lot: the units move from reserve to
    the pick face (consuming the reservation). Less than asked: the rest of the reservation is released and
    the source location is to be counted. The same confirmation again is harmless; different data is a 409."""
    locked = _lock_task(user, task, "warehouse.execute")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= locked.quantity:
        raise field_error("quantity", f"Give the moved quantity, 0 to {locked.quantity}.", "invalid")
    if locked.status != ReplenishmentTask.Status.OPEN:
        if (locked.moved_quantity, locked.scanned_location, locked.scanned_lot) == (
            quantity,
            location_code,
            lot_number or "",
        ):
            return locked
        raise StateConflict(f"REPL-{locked.pk} is {locked.status.lower()} already, with other data.")
    problems = scan.confirmation_problems(  # the one scan check of pages and services
        quantity=quantity,
        maximum=locked.quantity,
        location_code=location_code,
        expected_location=locked.from_location.code,
        item_sku=item_sku,
        expected_sku=locked.item.sku,
        lot_number=lot_number,
        expected_lot=locked.lot.number if locked.lot_id else "",
        what="moved",
    )
    floor.record_confirmation_scans(
        site_id=locked.site_id,
        user=user,
        process=floor.P.REFILL,
        task_id=locked.pk,
        task_ref=f"REPL-{locked.pk}",
        problem=problems[0] if problems else None,
        expected={
            "location": locked.from_location.code,
            "item": locked.item.sku,
            "lot": locked.lot.number if locked.lot_id else "",
        },
        scanned={"location": location_code, "item": item_sku, "lot": lot_number or ""},
        quantity=quantity,
        maximum=locked.quantity,
    )
    if problems:
        raise field_error(problems[0].field, problems[0].message, problems[0].code)
    if quantity:
        move_stock(
            user=user,
            item=locked.item,
            from_location=locked.from_location,
            to_location=locked.to_location,
            quantity=quantity,
            lot=locked.lot,
            kind=StockMove.Kind.MOVE,
            consume_reserved=quantity,
            reference=f"REPL-{locked.pk}",
            document=locked,
            note="pick face replenishment",
            check_permission=False,
        )
    short = locked.quantity - quantity
    if short:
        _release_reservation(locked, short)
        CountRequest.objects.get_or_create(
            location=locked.from_location,
            status=CountRequest.Status.OPEN,
            defaults={
                "site_id": locked.site_id,
                "item": locked.item,
                "reason": f"Short replenishment REPL-{locked.pk}",
            },
        )
    locked.status = ReplenishmentTask.Status.SHORT if short else ReplenishmentTask.Status.DONE
    locked.moved_quantity = quantity
    locked.scanned_location = location_code
    locked.scanned_lot = lot_number or ""
    locked.confirmed_by = user if getattr(user, "is_authenticated", False) else None
    locked.confirmed_at = timezone.now()
    set_history_user(locked, user)
    locked.save()
    return locked


@atomic_with_retry
def cancel_replenishment_task(*, user, task: ReplenishmentTask) -> ReplenishmentTask:
    """Cancel an open refill and give its reserved units back."""
    locked = _lock_task(user, task, "warehouse.plan")
    if locked.status != ReplenishmentTask.Status.OPEN:
        raise StateConflict(f"REPL-{locked.pk} is {locked.status.lower()}; only an open task is cancelled.")
    _release_reservation(locked, locked.quantity)
    locked.status = ReplenishmentTask.Status.CANCELLED
    set_history_user(locked, user)
    locked.save()
    return locked


__all__ = [
    "cancel_replenishment_task",
    "confirm_replenishment_task",
    "replenish_pick_faces",
    "sweep_pick_faces",
]
