"""The ledger engine: every change of stock goes through :func:`post_moves`.

It writes the moves and maintains the balances in the same transaction:

1. make sure every balance row it will touch exists (``INSERT .. ON CONFLICT DO NOTHING``);
2. lock the ``StockLevel`` rows, then the ``StockQuant`` rows, each in primary-key order — the
   same order in every service, so concurrent transactions queue instead of deadlocking;
3. compute the new balances from the locked values and refuse (``InsufficientStock``) anything
   that would make a quantity negative, use reserved stock it was not given, or leave less
   available than allocated;
4. write balances and ledger rows, and after commit tell the order side which items became
   available at which site.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from core.db import bulk_update_columns, lock_rows
from core.errors import InsufficientStock, ValidationFailed
from core.validation import MAX_QUANTITY
from governance.services.lifecycle import refuse_frozen
from inventory.events import emit_level_changes
from inventory.models import LEVEL_FIELD, InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant
from inventory.signals import stock_available

QuantKey = tuple[int, int, int | None, str]  # item, location, lot, status
LevelKey = tuple[int, int]  # item, site


@dataclass(frozen=True)
class MoveLine:
    """One movement of ``quantity`` base units of an item/lot from (location, status) to (location, status).

    ``consume_reserved`` is how much of the quantity was reserved on the source quant (by a pick or
    move task) and is released by this move; the rest must come from unreserved stock.
    """

    item_id: int
    lot_id: int | None
    quantity: int
    from_location: Location
    from_status: str
    to_location: Location
    to_status: str
    consume_reserved: int = 0
    unit_cost: Decimal | None = None
    note: str = ""


def _check_line(line: MoveLine) -> None:
    if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity <= 0:
        raise ValidationFailed("Every move needs a positive whole quantity.")
    if line.quantity > MAX_QUANTITY:
        raise ValidationFailed(f"A move may carry at most {MAX_QUANTITY:,} units.")
    if not 0 <= line.consume_reserved <= line.quantity:
        raise ValidationFailed("Reserved quantity consumed must be between zero and the moved quantity.")
    for location, status, side in (
        (line.from_location, line.from_status, "from"),
        (line.to_location, line.to_status, "to"),
    ):
        if location.holds_stock:
            if status not in InventoryStatus.values:
                raise ValidationFailed(f"The {side} side at {location} needs an inventory status.")
            if (location.kind == Location.Kind.IN_TRANSIT) != (status == InventoryStatus.IN_TRANSIT):
                raise ValidationFailed("Stock is IN_TRANSIT exactly when it is in an in-transit location.")
        elif status:
            raise ValidationFailed(f"{location} is a virtual source/sink and has no inventory status.")
    if line.from_location.pk == line.to_location.pk and line.from_status == line.to_status:
        raise ValidationFailed("A move must change the location or the status.")


def _ensure_rows(quant_keys: list[QuantKey], level_keys: list[LevelKey], site_of: dict[int, int]) -> None:
    """Create missing balance rows at zero, in natural-key order."""
    if level_keys:
        StockLevel.objects.bulk_create(
            [StockLevel(item_id=item, site_id=site) for item, site in sorted(level_keys)], ignore_conflicts=True
        )
    if quant_keys:
        StockQuant.objects.bulk_create(
            [
                StockQuant(item_id=item, location_id=loc, lot_id=lot, status=status, site_id=site_of[loc])
                for item, loc, lot, status in sorted(quant_keys, key=lambda k: (k[0], k[1], k[2] or 0, k[3]))
            ],
            ignore_conflicts=True,
        )


def lock_levels(level_keys, *, create: bool = True) -> dict[LevelKey, StockLevel]:
    """Lock the stock levels of ``level_keys`` (creating missing ones at zero), in primary-key order.

    Rows are selected by item and site sets (a superset of the keys when they are not a full cross
    product, which is harmless: extra rows are locked in the same global order)."""
    keys = set(level_keys)
    if not keys:
        return {}
    items = sorted({k[0] for k in keys})
    sites = sorted({k[1] for k in keys})
    rows = {
        (r.item_id, r.site_id): r for r in lock_rows(StockLevel.objects.filter(item_id__in=items, site_id__in=sites))
    }
    missing = keys - set(rows)
    if missing and create:
        StockLevel.objects.bulk_create(
            [StockLevel(item_id=i, site_id=s) for i, s in sorted(missing)], ignore_conflicts=True
        )
        rows = {
            (r.item_id, r.site_id): r
            for r in lock_rows(StockLevel.objects.filter(item_id__in=items, site_id__in=sites))
        }
    return {key: rows[key] for key in keys if key in rows}


def lock_quants(quant_keys) -> dict[QuantKey, StockQuant]:
    """Lock the quants of ``quant_keys`` in primary-key order (selected by item and location sets, every status:
    a later post in the same transaction, e.g. the HOLD of a short pick's missing units, then finds its rows
    locked already instead of locking lower keys after higher ones)."""
    keys = set(quant_keys)
    if not keys:
        return {}
    items = sorted({k[0] for k in keys})
    locations = sorted({k[1] for k in keys})
    rows = lock_rows(StockQuant.objects.filter(item_id__in=items, location_id__in=locations))
    found = {(row.item_id, row.location_id, row.lot_id, row.status): row for row in rows}
    return {key: found[key] for key in keys if key in found}


def lock_site_quants(site_id: int, item_ids) -> list[StockQuant]:
    """Lock every quant of ``item_ids`` at ``site_id`` (every location and status) in one statement, in
    primary-key order. For a transaction that will lock some of them in the ledger and then plan picks from
    the rest (a transfer's short pick re-picks from other stock): taking the whole set first keeps its quant
    locks in one global order. Lock the item's stock levels before (``lock_levels``), as the ledger does."""
    return lock_rows(StockQuant.objects.filter(site_id=site_id, item_id__in=sorted(set(item_ids))))


def _describe(item_id: int, location: Location, status: str) -> str:
    sku = Item.objects.filter(pk=item_id).values_list("sku", flat=True).first()
    return f"{sku} at {location.code} ({status.lower()})"


def post_moves(
    *,
    lines: list[MoveLine],
    kind: str,
    user,
    reference: str = "",
    document=None,
    reason_code: str = "",
    note: str = "",
    allocated_deltas: dict[LevelKey, int] | None = None,
    received_at=None,
) -> list[StockMove]:
    """Write ``lines`` to the ledger and update quants and stock levels, all or nothing."""
    if not lines:
        return []
    # Its own transaction, or a savepoint inside the caller's: a refusal leaves nothing behind, not even the
    # zero balance rows created before the check, also when the caller catches the error and goes on.
    with transaction.atomic():
        return _post_moves(
            lines=lines,
            kind=kind,
            user=user,
            reference=reference,
            document=document,
            reason_code=reason_code,
            note=note,
            allocated_deltas=allocated_deltas,
            received_at=received_at,
        )


def _post_moves(
    *,
    lines: list[MoveLine],
    kind: str,
    user,
    reference: str,
    document,
    reason_code: str,
    note: str,
    allocated_deltas: dict[LevelKey, int] | None,
    received_at,
) -> list[StockMove]:
    if kind not in StockMove.Kind.values:
        raise ValidationFailed(f"Unknown move kind {kind!r}.")
    for line in lines:
        _check_line(line)

    quant_delta: dict[QuantKey, int] = defaultdict(int)
    reserved_delta: dict[QuantKey, int] = defaultdict(int)
    level_delta: dict[LevelKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    location_of: dict[QuantKey, Location] = {}
    site_of: dict[int, int] = {}
    for line in lines:
        for location, status, sign in (
            (line.from_location, line.from_status, -1),
            (line.to_location, line.to_status, +1),
        ):
            if not location.holds_stock:
                continue
            key = (line.item_id, location.pk, line.lot_id, status)
            quant_delta[key] += sign * line.quantity
            location_of[key] = location
            site_of[location.pk] = location.site_id
            level_delta[(line.item_id, location.site_id)][LEVEL_FIELD[status]] += sign * line.quantity
            if sign < 0 and line.consume_reserved:
                reserved_delta[key] -= line.consume_reserved
    for level_key, delta in (allocated_deltas or {}).items():
        level_delta[level_key]["allocated"] += delta
    if kind != StockMove.Kind.OPENING:  # a site in its cutover freeze takes the cutover postings only
        refuse_frozen({site_id for _, site_id in level_delta})

    # Source quants must exist already; only destinations are created.
    to_create = [k for k, d in quant_delta.items() if d > 0]
    # Levels first: every quant belongs to one (item, site) level, so holding the level lock also
    # serialises the creation of that level's quants.
    levels = lock_levels(level_delta)
    _ensure_rows(to_create, [], site_of)
    quants = lock_quants(quant_delta)

    now = timezone.now()
    changed_quants = []
    for key, delta in quant_delta.items():
        quant = quants.get(key)
        location = location_of[key]
        have = quant.quantity if quant else 0
        reserved = quant.reserved if quant else 0
        new_reserved = reserved + reserved_delta.get(key, 0)
        if have + delta < 0:
            raise InsufficientStock(
                f"Only {have} of {_describe(key[0], location, key[3])} on hand; cannot take {-delta}.",
                field="quantity",
            )
        if new_reserved < 0:
            raise InsufficientStock(
                f"Only {reserved} of {_describe(key[0], location, key[3])} are reserved; cannot release more.",
                field="quantity",
            )
        if have + delta < new_reserved:
            free = have - reserved
            raise InsufficientStock(
                f"Only {free} of {_describe(key[0], location, key[3])} are free ({reserved} reserved for tasks); "
                f"cannot take {-delta - (reserved - new_reserved)} more.",
                field="quantity",
            )
        if quant is None:
            if delta == 0:
                continue  # lines of the batch cancel out at a place that holds nothing: nothing to write
            raise InsufficientStock(f"No stock of {_describe(key[0], location, key[3])}.")  # pragma: no cover
        quant.quantity = have + delta
        quant.reserved = new_reserved
        quant.updated_at = now
        if delta > 0 and kind in (StockMove.Kind.RECEIPT, StockMove.Kind.TRANSFER_IN, StockMove.Kind.RETURN):
            quant.last_received_at = received_at or now
        changed_quants.append(quant)

    became_available: dict[int, set[int]] = defaultdict(set)
    changed_levels = []
    for key, deltas in level_delta.items():
        level = levels[key]
        for field_name, delta in deltas.items():
            setattr(level, field_name, getattr(level, field_name) + delta)
        for field_name in ("received", "available", "hold", "damaged", "in_transit", "allocated"):
            if getattr(level, field_name) < 0:
                raise InsufficientStock(f"This would make {field_name} stock negative for {key}.")
        if level.allocated > level.available:
            sku = Item.objects.filter(pk=key[0]).values_list("sku", flat=True).first()
            raise InsufficientStock(
                f"{sku}: only {level.available} would stay available at the site, but {level.allocated} are "
                f"allocated to orders; release allocations first.",
                field="quantity",
            )
        if deltas.get("available", 0) > 0:
            became_available[key[1]].add(key[0])
        level.updated_at = now
        changed_levels.append(level)

    bulk_update_columns(StockQuant, changed_quants, ["quantity", "reserved", "updated_at", "last_received_at"])
    bulk_update_columns(
        StockLevel,
        changed_levels,
        ["received", "available", "hold", "damaged", "in_transit", "allocated", "updated_at"],
    )
    emit_level_changes(changed_levels)

    document_type = document_id = None
    if document is not None:
        document_type = f"{document._meta.app_label}.{document._meta.model_name}"
        document_id = document.pk
    moves = StockMove.objects.bulk_create(
        [
            StockMove(
                item_id=line.item_id,
                lot_id=line.lot_id,
                quantity=line.quantity,
                from_location=line.from_location,
                from_status=line.from_status,
                to_location=line.to_location,
                to_status=line.to_status,
                kind=kind,
                reference=reference,
                document_type=document_type or "",
                document_id=document_id,
                reason_code=reason_code,
                note=(line.note or note)[:300],
                unit_cost=line.unit_cost,
                user=user if getattr(user, "is_authenticated", False) else None,
                created_at=now,
            )
            for line in lines
        ]
    )

    for site_id, item_ids in became_available.items():
        ids = sorted(item_ids)
        # inside the transaction: receivers write outbox rows that commit (or roll back) with the moves
        stock_available.send(sender=StockMove, site_id=site_id, item_ids=ids)
    return moves


def change_allocated(
    *, deltas: dict[LevelKey, int], locked: dict[LevelKey, StockLevel] | None = None
) -> dict[LevelKey, StockLevel]:
    """Move the ``allocated`` counters of stock levels (used by allocation), under the same lock order.

    ``locked``: the levels, already locked by the caller in this transaction with :func:`lock_levels` (the
    allocation engine locks them before it plans); they are written without locking them again.
    Refuses to allocate more than is available or to release more than is allocated.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("change_allocated must run inside the allocation transaction")
    deltas = {key: delta for key, delta in deltas.items() if delta}
    if not deltas:
        return {}
    if locked is not None and all(key in locked for key in deltas):
        levels = {key: locked[key] for key in deltas}
    else:
        StockLevel.objects.bulk_create(
            [StockLevel(item_id=i, site_id=s) for i, s in sorted(deltas)], ignore_conflicts=True
        )
        levels = lock_levels(deltas)
    now = timezone.now()
    for key, delta in deltas.items():
        level = levels[key]
        new = level.allocated + delta
        if new < 0:
            raise InsufficientStock(f"Cannot release {-delta}: only {level.allocated} allocated.")
        if new > level.available:
            raise InsufficientStock(f"Cannot allocate {delta}: only {level.available - level.allocated} free.")
        level.allocated = new
        level.updated_at = now
    bulk_update_columns(StockLevel, list(levels.values()), ["allocated", "updated_at"])
    emit_level_changes(list(levels.values()))
    return levels


def reserve_quants(reservations: dict[int, int]) -> dict[int, StockQuant]:
    """Claim (positive) or give back (negative) units of many quants at once for pick, refill and transfer
    tasks: ``{quant id: delta}``. The quants are locked in primary-key order (a caller that locked them already
    in this transaction gets them again at no cost); only AVAILABLE stock is claimed, never more than is free,
    never more given back than is reserved. All or nothing (InsufficientStock)."""
    if not connection.in_atomic_block:
        raise RuntimeError("reserve_quants must run inside the caller's transaction")
    reservations = {pk: delta for pk, delta in reservations.items() if delta}
    if not reservations:
        return {}
    quants = {q.pk: q for q in lock_rows(StockQuant.objects.filter(pk__in=sorted(reservations)))}
    claimed = {quants[pk].location_id for pk, delta in reservations.items() if delta > 0 and pk in quants}
    if claimed:  # no new pick, refill or transfer task takes stock at a site in its cutover freeze
        refuse_frozen(Location.objects.filter(pk__in=claimed).values_list("site_id", flat=True).distinct())
    now = timezone.now()
    for pk, delta in reservations.items():
        quant = quants.get(pk)
        if quant is None:
            raise InsufficientStock(f"Stock quant {pk} no longer exists.")
        if delta > 0 and quant.status != InventoryStatus.AVAILABLE:
            raise InsufficientStock(f"Only AVAILABLE stock can be reserved; quant {pk} is {quant.status}.")
        if delta > 0 and quant.quantity - quant.reserved < delta:
            raise InsufficientStock(
                f"Only {quant.quantity - quant.reserved} free in quant {pk} ({quant.reserved} reserved); "
                f"cannot reserve {delta}."
            )
        if delta < 0 and quant.reserved < -delta:
            raise InsufficientStock(f"Only {quant.reserved} reserved in quant {pk}; cannot release {-delta}.")
        quant.reserved += delta
        quant.updated_at = now
    bulk_update_columns(StockQuant, [quants[pk] for pk in reservations], ["reserved", "updated_at"])
    return {pk: quants[pk] for pk in reservations}
