"""Picking, the one machinery behind every pick task (sales order waves and transfers) and pick-face refill:
which quants a task may take (``quant_infos`` for the pure picking policy), the staging location, the one scan
check of a confirmation (``check_scan``, the pure ``warehouse.policy.scan``), posting a confirmed pick to the
ledger (``post_pick``), reporting a short pick (``report_short_pick``) and cancelling open tasks with their
reservations given back (``cancel_pick_tasks``).

Waves (``outbound``), transfers (``transfers``) and refills (``replenishment``) import this module; it imports
none of them.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from core.db import lock_rows
from core.errors import StateConflict
from core.validation import field_error
from governance.services import open_exception
from governance.services.history import set_history_user
from inventory.models import InventoryStatus, Location, StockMove, StockQuant
from inventory.services import MoveLine, post_moves, reserve_quants
from warehouse.models import CountRequest, PickTask
from warehouse.policy import picking as policy
from warehouse.policy import scan

from . import floor


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
        from core.errors import RuleViolation

        raise RuleViolation("This site has no active STAGING location; an admin must create one.")
    return location


def check_scan(locked: PickTask, *, quantity, location_code: str, lot_number: str, item_sku: str, user=None) -> bool:
    """Validate a pick confirmation against the locked task. True: the task was already confirmed with the
    same data (nothing to do). Different data on a confirmed task, or a cancelled task, is a 409; wrong scans
    are 400s (the scan policy's words, the same as on the scan screen). Adoption events (``floor``): a wrong scan
    is a refused scan; a confirmation without the item scan a skipped scan; less than asked a short-pick override."""
    if locked.status == PickTask.Status.CANCELLED:
        raise StateConflict(f"PICK-{locked.pk} was cancelled; there is nothing to pick.")
    if locked.status != PickTask.Status.OPEN:
        if (locked.picked_quantity, locked.scanned_location, locked.scanned_lot) == (
            quantity,
            location_code,
            lot_number or "",
        ):
            return True
        raise StateConflict("This pick was already confirmed with different data.")
    problems = scan.confirmation_problems(
        quantity=quantity,
        maximum=locked.quantity,
        location_code=location_code,
        expected_location=locked.location.code,
        item_sku=item_sku,
        expected_sku=locked.item.sku,
        lot_number=lot_number,
        expected_lot=locked.lot.number if locked.lot_id else "",
    )
    floor.record_confirmation_scans(
        site_id=locked.site_id,
        user=user,
        process=floor.P.TRANSFER_PICK if locked.transfer_line_id else floor.P.PICK,
        task_id=locked.pk,
        task_ref=f"PICK-{locked.pk}",
        problem=problems[0] if problems else None,
        expected={
            "location": locked.location.code,
            "item": locked.item.sku,
            "lot": locked.lot.number if locked.lot_id else "",
        },
        scanned={"location": location_code, "item": item_sku, "lot": lot_number or ""},
        quantity=quantity,
        maximum=locked.quantity,
    )
    if problems:
        raise field_error(problems[0].field, problems[0].message, problems[0].code)
    return False


def clean_short_reason(reason: str, *, short: int) -> str:
    """The reason of a short pick, checked: one of PickTask.ShortReason (optional through the API, asked for by
    the scan screen); a reason given for a full pick is refused, so it never reads as if something was missing."""
    reason = (reason or "").strip().upper()
    if not reason:
        return ""
    if reason not in PickTask.ShortReason.values:
        choices = ", ".join(f"{value} ({label.lower()})" for value, label in PickTask.ShortReason.choices)
        raise field_error("short_reason", f"Choose one of: {choices}.", "invalid")
    if not short:
        raise field_error(
            "short_reason", "Nothing is short: give a reason only when picking less than asked.", "invalid"
        )
    return reason


def post_pick(
    locked: PickTask, *, user, quantity: int, location_code: str, lot_number: str, short_reason: str = ""
) -> int:
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
    locked.short_reason = short_reason if short else ""
    locked.confirmed_by = user
    locked.confirmed_at = timezone.now()
    set_history_user(locked, user)
    locked.save()
    return short


def report_short_pick(locked: PickTask, *, user, short: int, document_number: str) -> None:
    """A SHORT_PICK exception on the task (with the picker's reason) and a count request for its location."""
    why = f" Picker: {locked.get_short_reason_display().lower()}." if locked.short_reason else ""
    open_exception(
        site=locked.site,
        code="SHORT_PICK",
        subject=locked,
        user=user,
        summary=f"{document_number}: {short} of {locked.quantity} {locked.item.sku} missing at "
        f"{locked.location.code}.{why}",
        details={
            "order": document_number,
            "location": locked.location.code,
            "short": short,
            "reason": locked.short_reason or None,
        },
    )
    CountRequest.objects.get_or_create(
        location=locked.location,
        status=CountRequest.Status.OPEN,
        defaults={"site_id": locked.site_id, "item": locked.item, "reason": f"Short pick PICK-{locked.pk}"},
    )


def cancel_pick_tasks(tasks: list[PickTask], *, user) -> int:
    """Cancel open pick tasks (locked by the caller, after their documents) and give their reserved units back
    to their quants. Returns how many were cancelled."""
    open_tasks = [t for t in tasks if t.status == PickTask.Status.OPEN]
    if not open_tasks:
        return 0
    keys = Q(pk__in=[])
    for t in open_tasks:
        keys |= Q(item_id=t.item_id, location_id=t.location_id, lot_id=t.lot_id)
    quants = {
        (q.item_id, q.location_id, q.lot_id): q.pk
        for q in StockQuant.objects.filter(keys, status=InventoryStatus.AVAILABLE).only(
            "pk", "item_id", "location_id", "lot_id"
        )
    }
    give_back: dict[int, int] = {}
    for t in open_tasks:
        quant_id = quants[(t.item_id, t.location_id, t.lot_id)]
        give_back[quant_id] = give_back.get(quant_id, 0) - t.quantity
    reserve_quants(give_back)
    for t in open_tasks:
        t.status = PickTask.Status.CANCELLED
        set_history_user(t, user)
        t.save(update_fields=["status"])
    return len(open_tasks)


def lock_pick_tasks(queryset) -> list[PickTask]:
    return lock_rows(queryset)
