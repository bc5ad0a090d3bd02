"""The allocation engine: lock, turn rows into plain values, call the pure policy, write the result.

Lock order, the same everywhere: sales orders (pk order), then stock levels (pk order), then quants.
The ledger never locks orders, so no cycle can form.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from core.db import (
    atomic_with_retry,
    bulk_insert_rows,
    bulk_update_columns,
    lock_rows,
    snapshot_history,
)
from core.errors import InsufficientStock, StateConflict, ValidationFailed
from governance.models import ExceptionCase, Site
from governance.services import open_exception, resolve_exceptions_for_subject
from governance.services.rules import get_rule_for_sites
from inventory.models import ItemSubstitute, StockLevel
from inventory.selectors import Drift
from inventory.services.ledger import change_allocated, lock_levels
from orders.events import emit_order_event
from orders.models import Allocation, AllocationDecision, SalesOrder, SalesOrderLine, TransferOrderLine
from orders.policy import allocation as policy

S = SalesOrder.Status
BATCH_SIZE = 200
ALLOCATION_FIELDS = [
    "line",
    "site",
    "item",
    "quantity",
    "original_quantity",
    "is_substitute",
    "rule",
    "status",
    "created_at",
]
DECISION_FIELDS = ["order", "line", "site", "item", "rule", "quantity", "message", "created_at"]

#: what each allocation rule (orders.policy.allocation) reads as on the pages; the codes stay in the API and the rows
RULE_LABELS = {
    policy.SHIP_FROM: gettext_lazy("Ship-from site"),
    policy.HOME_SITE: gettext_lazy("Home site fills it"),
    policy.REGION_SITE: gettext_lazy("Site in the region fills it"),
    policy.OTHER_SITE: gettext_lazy("Other site fills it"),
    policy.SPLIT: gettext_lazy("Split across sites"),
    policy.PARTIAL: gettext_lazy("Partial at one site"),
    policy.BACKORDER: gettext_lazy("Backordered"),
    policy.WAIT: gettext_lazy("Waiting (no backorders)"),
    "CUTOVER": gettext_lazy("Recreated at cutover"),
}
#: the rule of an allocation recreated from the legacy system's (``recreate_allocations``)
CUTOVER_RULE = "CUTOVER"


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return str(label) if label is not None else rule.replace("_", " ").capitalize()


def _sites() -> list[policy.SiteInfo]:
    # a site in its cutover freeze ships nothing: its orders wait, or ship from elsewhere when the rules allow it
    sites = list(Site.objects.filter(active=True).exclude(stage=Site.Stage.CUTOVER).order_by("code"))
    split = get_rule_for_sites("orders.allow_split_shipments", [s.pk for s in sites])
    return [policy.SiteInfo(s.pk, s.code, s.region, bool(split[s.pk])) for s in sites]


def derive_status(lines: list[SalesOrderLine], current: str) -> str:
    """Pure: the order status after allocation, from its line counters."""
    if current not in SalesOrder.ALLOCATABLE:
        return current
    open_units = sum(line.quantity_base - line.allocated_quantity - line.shipped_quantity for line in lines)
    allocated = sum(line.allocated_quantity for line in lines)
    backordered = sum(line.backordered_quantity for line in lines)
    if open_units == 0:
        return S.ALLOCATED
    if allocated == 0:
        return S.BACKORDERED if backordered else S.RELEASED
    return S.PARTIALLY_ALLOCATED


def _level_keys(orders, lines) -> tuple[list[tuple[int, int]], dict[int, tuple[int, ...]], list]:
    """The stock levels allocating ``orders`` reads and changes: every item of their lines (and its substitutes
    when a customer allows them) at every site that may ship; with the substitutes per item and the sites."""
    item_ids = {line.item_id for line in lines}
    subs: dict[int, tuple[int, ...]] = defaultdict(tuple)
    if any(o.customer.allow_substitution for o in orders):
        for link in ItemSubstitute.objects.filter(item_id__in=item_ids, substitute__active=True).order_by(
            "item_id", "preference"
        ):
            subs[link.item_id] += (link.substitute_id,)
            item_ids.add(link.substitute_id)
    sites = _sites()
    return [(item, site.id) for item in sorted(item_ids) for site in sites], subs, sites


def lock_allocation_levels(order_ids: list[int]) -> None:
    """Lock, in one statement, the stock levels that ``allocate_orders(order_ids)`` will lock. For a caller that
    posts stock before it re-allocates in the same transaction (a short pick): taking these first keeps its level
    locks in one global order, instead of one level for the post and then the whole set."""
    orders = list(SalesOrder.objects.filter(pk__in=order_ids).select_related("customer"))
    lines = list(SalesOrderLine.objects.filter(order__in=orders))
    lock_levels(_level_keys(orders, lines)[0])


@atomic_with_retry
def allocate_orders(order_ids: list[int], *, now: datetime | None = None) -> dict:
    """Allocate what can be allocated for the given orders; idempotent (a second run finds nothing open)."""
    now = now or timezone.now()
    orders = lock_rows(
        SalesOrder.objects.filter(pk__in=order_ids, status__in=SalesOrder.ENGINE).select_related("customer")
    )
    counts = {"orders": len(orders), "allocated_units": 0, "backordered_units": 0, "waiting_units": 0}
    if not orders:
        return counts
    lines = list(SalesOrderLine.objects.filter(order__in=orders).order_by("order_id", "line_number"))
    by_order: dict[int, list[SalesOrderLine]] = defaultdict(list)
    for line in lines:
        by_order[line.order_id].append(line)
    keys, subs, sites = _level_keys(orders, lines)
    levels = lock_levels(keys)
    free = {key: level.available - level.allocated for key, level in levels.items()}

    demands = []
    for order in orders:
        demand_lines = tuple(
            policy.LineDemand(
                line.pk,
                line.item_id,
                line.quantity_base - line.allocated_quantity - line.shipped_quantity,
                (line.ship_from_id or order.ship_from_id),
                subs[line.item_id],
            )
            for line in by_order[order.pk]
        )
        demands.append(
            policy.OrderDemand(
                order_id=order.pk,
                priority=order.priority,
                promised_date=order.promised_date,
                released_at=order.released_at or order.created_at,
                lines=demand_lines,
                home_site_id=order.customer.home_site_id,
                region=order.customer.region,
                allow_split=order.customer.allow_partial_shipment,
                allow_backorders=order.customer.allow_backorders,
                allow_substitution=order.customer.allow_substitution,
            )
        )
    plan = policy.allocate(demands, sites, free)

    line_by_id = {line.pk: line for line in lines}
    decisions: list[tuple] = []
    new_allocations: list[tuple] = []
    level_deltas: dict[tuple[int, int], int] = defaultdict(int)
    for a in plan.allocations:
        line = line_by_id[a.line_id]
        line.allocated_quantity += a.quantity
        level_deltas[(a.item_id, a.site_id)] += a.quantity
        counts["allocated_units"] += a.quantity
        new_allocations.append(
            (line.pk, a.site_id, a.item_id, a.quantity, a.quantity, a.is_substitute, a.rule, "OPEN", now)
        )
        decisions.append((a.order_id, line.pk, a.site_id, a.item_id, a.rule, a.quantity, a.reason[:400], now))
    unfilled = {u.line_id: u for u in plan.unfilled}
    last_decision = {
        d.line_id: (d.rule, d.quantity)
        for d in AllocationDecision.objects.filter(line_id__in=list(unfilled))
        .order_by("line_id", "-id")
        .distinct("line_id")
    }
    waiting_lines, cleared_lines = [], []
    for line in lines:
        u = unfilled.get(line.pk)
        new_backorder = u.quantity if (u and u.rule == policy.BACKORDER) else 0
        if u and last_decision.get(line.pk) != (u.rule, u.quantity):
            decisions.append((line.order_id, line.pk, None, line.item_id, u.rule, u.quantity, u.reason[:400], now))
        if new_backorder and not line.backordered_quantity:
            line.backordered_since = now
        if not new_backorder:
            line.backordered_since = None
        line.backordered_quantity = new_backorder
        if u is not None:
            counts["backordered_units" if u.rule == policy.BACKORDER else "waiting_units"] += u.quantity
            if u.rule == policy.WAIT:
                waiting_lines.append(line)
        else:
            cleared_lines.append(line)
    for order_id, rule, message in plan.notes:
        decisions.append((order_id, None, None, None, rule, 0, message[:400], now))

    bulk_insert_rows(Allocation, ALLOCATION_FIELDS, new_allocations)
    bulk_insert_rows(AllocationDecision, DECISION_FIELDS, decisions)
    bulk_update_columns(SalesOrderLine, lines, ["allocated_quantity", "backordered_quantity", "backordered_since"])
    change_allocated(deltas=dict(level_deltas), locked=levels)  # inventory owns the stock levels
    changed_orders = []
    for order in orders:
        status = derive_status(by_order[order.pk], order.status)
        if status != order.status or (status == S.ALLOCATED and order.allocated_at is None):
            order.status = status
            if status == S.ALLOCATED:
                order.allocated_at = now
            order.updated_at = now
            changed_orders.append(order)
    if changed_orders:
        # status changes are written with history rows, as any document change is
        bulk_update_columns(SalesOrder, changed_orders, ["status", "allocated_at", "updated_at"])
        snapshot_history(SalesOrder, [o.pk for o in changed_orders], when=now, reason="allocation")
        for order in changed_orders:  # the order's event, in the allocation's transaction
            if order.status in (S.ALLOCATED, S.PARTIALLY_ALLOCATED):
                emit_order_event("order.allocated", order, lines=by_order[order.pk])
            elif order.status == S.BACKORDERED:
                emit_order_event("order.backordered", order, lines=by_order[order.pk])
    for line in waiting_lines:
        order = next(o for o in orders if o.pk == line.order_id)
        open_exception(
            site=order.site,
            code="UNALLOCATED_LINE",
            subject=line,
            summary=f"{order.number} line {line.line_number}: {unfilled[line.pk].quantity} cannot be "
            f"filled and the customer accepts no backorders.",
        )
    if cleared_lines:
        line_type = ContentType.objects.get_for_model(SalesOrderLine)
        flagged = set(
            ExceptionCase.objects.filter(
                content_type=line_type, object_id__in=[line.pk for line in cleared_lines], code__code="UNALLOCATED_LINE"
            )
            .exclude(status=ExceptionCase.Status.RESOLVED)
            .values_list("object_id", flat=True)
        )
        for line in cleared_lines:
            if line.pk in flagged:
                resolve_exceptions_for_subject(subject=line, code="UNALLOCATED_LINE", note="Line fully allocated.")
    return counts


def recreate_allocations(
    *, order: SalesOrder, quantities: dict[int, int], site: Site, note: str = "", now: datetime | None = None
) -> dict:
    """Recreate the legacy system's allocations of a released order being imported at cutover: ``{line id:
    units}`` claimed at ``site`` (the order's own site), exactly those units, at that site, whatever the
    allocation rules would choose now. Runs in the caller's transaction (which released the order, holding its
    lock). A site in its cutover freeze is allowed: an allocation claims no stock (the levels' ``allocated``),
    and these are the cutover postings of its open orders. Refused (InsufficientStock, nothing written) when the
    site has fewer free units (available less allocated) than the lines claim, naming the item and what is free;
    a line claiming more than it orders is a ValidationFailed."""
    if not connection.in_atomic_block:
        raise RuntimeError("recreate_allocations must run inside the caller's transaction")
    now = now or timezone.now()
    (locked,) = lock_rows(SalesOrder.objects.filter(pk=order.pk))
    if locked.status not in SalesOrder.ALLOCATABLE:
        raise StateConflict(f"{locked.number} is {locked.status}; only a released order takes allocations.")
    lines = {line.pk: line for line in SalesOrderLine.objects.filter(order=locked).select_related("item")}
    wanted = {line_id: units for line_id, units in quantities.items() if units}
    errors = []
    for line_id, units in sorted(wanted.items()):
        line = lines.get(line_id)
        if line is None:
            raise ValidationFailed(f"Line {line_id} is not a line of {locked.number}.")
        if isinstance(units, bool) or not isinstance(units, int) or units < 0 or units > line.open_quantity:
            errors.append(
                {
                    "field": f"lines[{line.line_number - 1}].allocated_quantity",
                    "code": "above_open",
                    "message": f"{line.item.sku}: {units} cannot be allocated; the line has {line.open_quantity} open.",
                }
            )
    if errors:
        raise ValidationFailed("; ".join(e["message"] for e in errors), errors=errors)
    if not wanted:
        return {"allocated_units": 0}
    need: dict[tuple[int, int], int] = defaultdict(int)
    for line_id, units in wanted.items():
        need[(lines[line_id].item_id, site.pk)] += units
    levels = lock_levels(need)
    for (item_id, _site_id), units in sorted(need.items()):
        level = levels[(item_id, site.pk)]
        free = level.available - level.allocated
        if units > free:
            first = min(
                (line for line in lines.values() if line.item_id == item_id and line.pk in wanted),
                key=lambda line: line.line_number,
            )
            raise InsufficientStock(
                f"{first.item.sku}: {units} to allocate at {site.code} but only {max(free, 0)} free there "
                f"({level.available} available, {level.allocated} already allocated).",
                field=f"lines[{first.line_number - 1}].allocated_quantity",
            )
    message = (note or "Allocation recreated from the legacy system at cutover.")[:400]
    rows, decisions = [], []
    for line_id, units in sorted(wanted.items()):
        line = lines[line_id]
        line.allocated_quantity += units
        rows.append((line.pk, site.pk, line.item_id, units, units, False, CUTOVER_RULE, "OPEN", now))
        decisions.append((locked.pk, line.pk, site.pk, line.item_id, CUTOVER_RULE, units, message, now))
    bulk_insert_rows(Allocation, ALLOCATION_FIELDS, rows)
    bulk_insert_rows(AllocationDecision, DECISION_FIELDS, decisions)
    bulk_update_columns(SalesOrderLine, [lines[i] for i in sorted(wanted)], ["allocated_quantity"])
    snapshot_history(SalesOrderLine, sorted(wanted), when=now, reason="cutover allocation")
    change_allocated(deltas=dict(need), locked=levels)
    all_lines = list(lines.values())
    status = derive_status(all_lines, locked.status)
    if status != locked.status:
        locked.status = status
        if status == S.ALLOCATED:
            locked.allocated_at = now
        locked.updated_at = now
        bulk_update_columns(SalesOrder, [locked], ["status", "allocated_at", "updated_at"])
        snapshot_history(SalesOrder, [locked.pk], when=now, reason="cutover allocation")
        if status in (S.ALLOCATED, S.PARTIALLY_ALLOCATED):
            emit_order_event("order.allocated", locked, lines=all_lines)
    return {"allocated_units": sum(wanted.values())}


def release_allocations(queryset) -> dict[tuple[int, int], int]:
    """Give back open allocations (cancel): lock their stock levels, lower ``allocated``, mark them released.
    Must run inside the transaction that holds the order lock. Returns released units per (item, site)."""
    if not connection.in_atomic_block:
        raise RuntimeError("release_allocations must run inside a transaction")
    allocations = lock_rows(queryset.filter(status=Allocation.Status.OPEN))
    released: dict[tuple[int, int], int] = defaultdict(int)
    for a in allocations:
        released[(a.item_id, a.site_id)] += a.quantity
    if not released:
        return {}
    levels = lock_levels(released)
    now = timezone.now()
    change_allocated(deltas={key: -qty for key, qty in released.items()}, locked=levels)
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(
        quantity=0, status=Allocation.Status.RELEASED, released_at=now
    )
    by_site: dict[int, list[int]] = defaultdict(list)
    for item_id, site_id in released:
        by_site[site_id].append(item_id)

    def wake():
        from governance.services.outbox import enqueue_task
        from orders.tasks import fill_backorders_task

        for site_id, item_ids in by_site.items():
            enqueue_task(fill_backorders_task, args=[site_id, sorted(item_ids)], site=site_id)

    wake()  # outbox rows in this transaction
    return dict(released)


def orders_waiting_for(item_ids: list[int] | None = None) -> list[int]:
    """Ids of released orders with lines still to allocate, oldest promise first (durable pending work)."""
    lines = SalesOrderLine.objects.filter(
        order__status__in=(S.RELEASED, S.PARTIALLY_ALLOCATED, S.BACKORDERED, S.PICKING, S.PARTIALLY_SHIPPED),
        allocated_quantity__lt=F("quantity_base") - F("shipped_quantity"),
    )
    if item_ids is not None:
        subs = ItemSubstitute.objects.filter(substitute_id__in=item_ids).values_list("item_id", flat=True)
        lines = lines.filter(
            Q(item_id__in=item_ids) | Q(item_id__in=list(subs), order__customer__allow_substitution=True)
        )
    rows = (
        lines.values("order_id", "order__promised_date", "order__priority", "order__released_at")
        .distinct()
        .order_by("order__promised_date", "order__priority", "order__released_at", "order_id")
    )
    seen, out = set(), []
    for row in rows:
        if row["order_id"] not in seen:
            seen.add(row["order_id"])
            out.append(row["order_id"])
    return out


#: rounds of ``BATCH_SIZE`` orders one ``allocate_released`` run takes before it hands the rest to a new task
RELEASED_ROUNDS = 10


def released_waiting(site_id: int, *, exclude: set[int] | frozenset = frozenset(), limit: int = BATCH_SIZE) -> list:
    """Ids of the site's released orders that no allocation has looked at yet (no decision recorded), in the
    engine's priority order (priority, promised date, release time, id): what a release is waiting for."""
    tried = AllocationDecision.objects.filter(order_id=OuterRef("pk"))
    rows = (
        SalesOrder.objects.filter(site_id=site_id, status=S.RELEASED)
        .exclude(pk__in=list(exclude))
        .exclude(Exists(tried))
        .order_by("priority", "promised_date", "released_at", "pk")
        .values_list("pk", flat=True)
    )
    return list(rows[:limit])


def allocate_released(site_id: int, *, batch_size: int = BATCH_SIZE, rounds: int = RELEASED_ROUNDS) -> dict:
    """Allocate the site's released orders waiting for their first allocation, ``batch_size`` orders per
    transaction (one ``allocate_orders`` call), highest priority first. Each round asks again, so an order of
    higher priority released meanwhile goes before the lower ones still waiting. Idempotent: a second run finds
    nothing waiting (and ``allocate_orders`` allocates nothing twice). After ``rounds`` rounds the rest is handed
    to a new task through the outbox. Returns the summed counts and ``batches``."""
    total = {"orders": 0, "allocated_units": 0, "backordered_units": 0, "waiting_units": 0, "batches": 0}
    done: set[int] = set()
    for _ in range(rounds):
        ids = released_waiting(site_id, exclude=done, limit=batch_size)
        if not ids:
            return total
        counts = allocate_orders(ids)
        done.update(ids)
        total["batches"] += 1
        for key in ("orders", "allocated_units", "backordered_units", "waiting_units"):
            total[key] += counts.get(key, 0)
    if released_waiting(site_id, exclude=done, limit=1):
        with transaction.atomic():
            enqueue_released_allocation(site_id)
    return total


def enqueue_released_allocation(site_id: int) -> None:
    """In the caller's transaction: an outbox row that runs ``allocate_released`` for the site (one waiting row
    per site: releases while it waits share it)."""
    from governance.services.outbox import enqueue_task
    from orders.tasks import allocate_released_task

    enqueue_task(allocate_released_task, args=[site_id], site=site_id, dedup_key=f"allocate_released:{site_id}")


def fill_backorders(*, item_ids: list[int] | None = None, batch_size: int = BATCH_SIZE) -> dict:
    """Allocate waiting and backordered lines (all, or those of ``item_ids``), oldest promise first, in
    batches of orders per transaction."""
    total = {"orders": 0, "allocated_units": 0, "backordered_units": 0, "waiting_units": 0}
    pending = orders_waiting_for(item_ids)
    for start in range(0, len(pending), batch_size):
        counts = allocate_orders(pending[start : start + batch_size])
        for key in total:
            total[key] += counts.get(key, 0)
    return total


def allocation_drift() -> list[Drift]:
    """Stock levels whose ``allocated`` differs from the sum of their open allocations and of the claims of
    transfers being picked at that site (``TransferOrderLine.allocated_quantity``)."""
    sums = {
        (row["item_id"], row["site_id"]): row["total"]
        for row in Allocation.objects.filter(status=Allocation.Status.OPEN)
        .values("item_id", "site_id")
        .annotate(total=Sum("quantity"))
    }
    for row in (
        TransferOrderLine.objects.filter(allocated_quantity__gt=0)
        .values("item_id", "transfer__from_site_id")
        .annotate(total=Sum("allocated_quantity"))
    ):
        key = (row["item_id"], row["transfer__from_site_id"])
        sums[key] = sums.get(key, 0) + row["total"]
    drifts = []
    for level in StockLevel.objects.filter(Q(allocated__gt=0) | Q(pk__in=[])).values(
        "id", "item_id", "site_id", "allocated"
    ):
        expected = sums.pop((level["item_id"], level["site_id"]), 0)
        if expected != level["allocated"]:
            drifts.append(
                Drift(
                    "ALLOCATED_VS_ALLOCATIONS",
                    f"item={level['item_id']} site={level['site_id']}",
                    int(expected),
                    int(level["allocated"]),
                )
            )
    for (item_id, site_id), expected in sums.items():
        if expected:
            drifts.append(Drift("ALLOCATED_VS_ALLOCATIONS", f"item={item_id} site={site_id}", int(expected), 0))
    line_sums = SalesOrderLine.objects.annotate(
        open_alloc=Sum("allocations__quantity", filter=Q(allocations__status=Allocation.Status.OPEN))
    ).exclude(allocated_quantity=0, open_alloc__isnull=True)
    for line in line_sums.values("id", "allocated_quantity", "open_alloc"):
        if (line["open_alloc"] or 0) != line["allocated_quantity"]:
            drifts.append(
                Drift(
                    "LINE_VS_ALLOCATIONS",
                    f"order_line={line['id']}",
                    int(line["open_alloc"] or 0),
                    int(line["allocated_quantity"]),
                )
            )
    return drifts


def reconcile_allocations() -> dict:
    """Recompute every stock level's ``allocated`` from the allocation rows (and transfers' claims); repair and
    report each drift with an ALLOCATION_DRIFT exception (Saleor-style reconciliation)."""
    counts = {"checked_levels": StockLevel.objects.count(), "drift": 0, "repaired": 0}
    drifting: set[tuple[int, int]] = set()
    for drift in [d for d in allocation_drift() if d.kind == "ALLOCATED_VS_ALLOCATIONS"]:
        counts["drift"] += 1
        item_id, site_id = (int(part.split("=")[1]) for part in drift.key.split())
        drifting.add((item_id, site_id))
        with transaction.atomic():
            (level,) = lock_levels([(item_id, site_id)]).values()
            expected = (
                Allocation.objects.filter(status=Allocation.Status.OPEN, item_id=item_id, site_id=site_id).aggregate(
                    t=Sum("quantity")
                )["t"]
                or 0
            ) + (
                TransferOrderLine.objects.filter(
                    allocated_quantity__gt=0, item_id=item_id, transfer__from_site_id=site_id
                ).aggregate(t=Sum("allocated_quantity"))["t"]
                or 0
            )
            found = level.allocated
            if expected != found and expected <= level.available:
                # inventory writes the level: the repair is a change of allocated by the difference
                change_allocated(deltas={(item_id, site_id): expected - found}, locked={(item_id, site_id): level})
                counts["repaired"] += 1
            open_exception(
                site=level.site,
                code="ALLOCATION_DRIFT",
                subject=level,
                summary=f"allocated was {found}, open allocations sum to {expected}"
                + ("; repaired" if expected <= level.available else "; NOT repaired"),
                details={"found": found, "expected": expected},
            )
    counts["resolved"] = _resolve_cleared_allocation_drift(drifting)
    return counts


def _resolve_cleared_allocation_drift(drifting: set[tuple[int, int]]) -> int:
    """Close the open ALLOCATION_DRIFT cases of stock levels that agree with their allocations again (repaired
    by an earlier run): the sweep opens and closes its exceptions. Cases locked by a person are left for the next
    run; the case, its announcement and its history stay as the record of the drift."""
    from governance.services.alerts import resolve_cases

    open_cases = ExceptionCase.objects.filter(
        code__code="ALLOCATION_DRIFT", content_type=ContentType.objects.get_for_model(StockLevel)
    ).exclude(status=ExceptionCase.Status.RESOLVED)
    keys = {
        pk: (item_id, site_id)
        for pk, item_id, site_id in StockLevel.objects.filter(pk__in=open_cases.values("object_id")).values_list(
            "pk", "item_id", "site_id"
        )
    }
    cleared = [
        case_pk for case_pk, level_pk in open_cases.values_list("pk", "object_id") if keys.get(level_pk) not in drifting
    ]
    return resolve_cases(
        case_ids=cleared,
        note="Reconciliation found the allocated counter equal to the open allocations again.",
        now=timezone.now(),
    )
