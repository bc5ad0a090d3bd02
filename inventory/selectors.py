"""Every non-trivial read of the inventory app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet

from governance import permissions
from inventory.models import StockLevel, StockMove, StockQuant


@dataclass(frozen=True)
class Drift:
    kind: str  # QUANT_VS_LEDGER, LEVEL_VS_QUANTS, NEGATIVE, ALLOCATED_VS_ALLOCATIONS ...
    key: str
    expected: int
    actual: int
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.key}: expected {self.expected}, found {self.actual} {self.detail}".strip()


#: Extra integrity checks contributed by higher apps (orders adds allocated vs. allocation rows).
EXTRA_CHECKS: list[Callable[[], list[Drift]]] = []


def register_integrity_check(check: Callable[[], list[Drift]]) -> None:
    if check not in EXTRA_CHECKS:
        EXTRA_CHECKS.append(check)


QUANT_VS_LEDGER_SQL = """
WITH ledger AS (
    SELECT item_id, location_id, lot_id, status, SUM(qty) AS qty FROM (
        SELECT item_id, to_location_id AS location_id, lot_id, to_status AS status, quantity AS qty
          FROM inventory_stockmove WHERE to_status <> ''
        UNION ALL
        SELECT item_id, from_location_id, lot_id, from_status, -quantity
          FROM inventory_stockmove WHERE from_status <> ''
    ) m GROUP BY item_id, location_id, lot_id, status
)
SELECT COALESCE(l.item_id, q.item_id), COALESCE(l.location_id, q.location_id), COALESCE(l.lot_id, q.lot_id),
       COALESCE(l.status, q.status), COALESCE(l.qty, 0), COALESCE(q.quantity, 0)
  FROM ledger l
  FULL OUTER JOIN inventory_stockquant q
    ON q.item_id = l.item_id AND q.location_id = l.location_id AND q.status = l.status
   AND q.lot_id IS NOT DISTINCT FROM l.lot_id
 WHERE COALESCE(l.qty, 0) <> COALESCE(q.quantity, 0)
"""

LEVEL_VS_QUANTS_SQL = """
WITH sums AS (
    SELECT item_id, site_id,
           SUM(quantity) FILTER (WHERE status = 'RECEIVED') AS received,
           SUM(quantity) FILTER (WHERE status = 'AVAILABLE') AS available,
           SUM(quantity) FILTER (WHERE status = 'HOLD') AS hold,
           SUM(quantity) FILTER (WHERE status = 'DAMAGED') AS damaged,
           SUM(quantity) FILTER (WHERE status = 'IN_TRANSIT') AS in_transit
      FROM inventory_stockquant GROUP BY item_id, site_id
)
SELECT COALESCE(s.item_id, v.item_id), COALESCE(s.site_id, v.site_id), f.name, f.expected, f.actual
  FROM sums s
  FULL OUTER JOIN inventory_stocklevel v ON v.item_id = s.item_id AND v.site_id = s.site_id
  CROSS JOIN LATERAL (VALUES
      ('received', COALESCE(s.received, 0), COALESCE(v.received, 0)),
      ('available', COALESCE(s.available, 0), COALESCE(v.available, 0)),
      ('hold', COALESCE(s.hold, 0), COALESCE(v.hold, 0)),
      ('damaged', COALESCE(s.damaged, 0), COALESCE(v.damaged, 0)),
      ('in_transit', COALESCE(s.in_transit, 0), COALESCE(v.in_transit, 0))
  ) AS f(name, expected, actual)
 WHERE f.expected <> f.actual
"""

NEGATIVE_SQL = """
SELECT 'quant ' || id, quantity, reserved FROM inventory_stockquant
 WHERE quantity < 0 OR reserved < 0 OR reserved > quantity
UNION ALL
SELECT 'level ' || id, available, allocated FROM inventory_stocklevel
 WHERE allocated < 0 OR allocated > available OR available < 0 OR received < 0 OR hold < 0 OR damaged < 0
    OR in_transit < 0
"""

QUANT_SITE_SQL = """
SELECT q.id, q.site_id, l.site_id FROM inventory_stockquant q JOIN inventory_location l ON l.id = q.location_id
 WHERE q.site_id <> l.site_id
"""


def find_inventory_drift() -> list[Drift]:
    """Recompute every balance from the ledger and report each mismatch (empty list: all consistent).

    The checks are several statements; outside a transaction they run in one REPEATABLE READ, READ ONLY
    transaction so that they all read one snapshot: a move committed between two statements cannot show as
    drift (seen under load with READ COMMITTED). Inside the caller's transaction they read what it reads."""
    from django.db import transaction

    if connection.in_atomic_block:
        return _find_drift()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return _find_drift()


def _find_drift() -> list[Drift]:
    drifts: list[Drift] = []
    with connection.cursor() as cursor:
        cursor.execute(QUANT_VS_LEDGER_SQL)
        for item, location, lot, status, expected, actual in cursor.fetchall():
            drifts.append(
                Drift(
                    "QUANT_VS_LEDGER",
                    f"item={item} location={location} lot={lot} status={status}",
                    int(expected),
                    int(actual),
                )
            )
        cursor.execute(LEVEL_VS_QUANTS_SQL)
        for item, site, name, expected, actual in cursor.fetchall():
            drifts.append(Drift("LEVEL_VS_QUANTS", f"item={item} site={site} {name}", int(expected), int(actual)))
        cursor.execute(NEGATIVE_SQL)
        for key, a, b in cursor.fetchall():
            drifts.append(Drift("NEGATIVE_OR_OVER_RESERVED", key, 0, int(a), f"(second value {b})"))
        cursor.execute(QUANT_SITE_SQL)
        for quant, quant_site, location_site in cursor.fetchall():
            drifts.append(Drift("QUANT_SITE", f"quant={quant}", int(location_site), int(quant_site)))
    for check in EXTRA_CHECKS:
        drifts.extend(check())
    return drifts


#: Expression (over a StockLevel row) of the units of that item shipped from that site and still in transit
#: to another; contributed by the orders app (transfer lines), 0 without it.
IN_TRANSIT_OUT: list[Callable[[], object]] = []


def register_in_transit_out(expression: Callable[[], object]) -> None:
    IN_TRANSIT_OUT[:] = [expression]


def with_in_transit_out(qs: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
    """Annotate ``in_transit_out`` (units of the item shipped from the site, not yet received at the other end)."""
    from django.db.models import BigIntegerField, Value
    from django.db.models.functions import Coalesce

    if not IN_TRANSIT_OUT:
        return qs.annotate(in_transit_out=Value(0, output_field=BigIntegerField()))
    return qs.annotate(in_transit_out=Coalesce(IN_TRANSIT_OUT[0](), Value(0), output_field=BigIntegerField()))


def stock_levels_for(user) -> QuerySet[StockLevel]:
    return with_in_transit_out(permissions.restrict(StockLevel.objects.select_related("item", "site"), user))


def stock_quants_for(user) -> QuerySet[StockQuant]:
    return permissions.restrict(StockQuant.objects.select_related("item", "location", "site", "lot"), user)


def stock_moves_for(user) -> QuerySet[StockMove]:
    """Moves touching a site the user can see (either end)."""
    from django.db.models import Q

    ids = permissions.site_ids_for(user)
    qs = StockMove.objects.select_related("item", "lot", "from_location__site", "to_location__site", "user")
    if ids is None:
        return qs
    return qs.filter(Q(from_location__site_id__in=ids) | Q(to_location__site_id__in=ids))


# --- blind counts ---------------------------------------------------------------------------------------------

#: the rule that says who is blind to the quantities of a location being counted
BLIND_SCOPE_RULE = "counting.blind_stock_scope"


@dataclass(frozen=True)
class BlindStock:
    """What ``user`` must not see while count lines are still to count or recount: the quantities at those
    lines' locations (quants and moves), and the site totals (stock levels) of the items counted there."""

    location_ids: frozenset[int] = frozenset()
    level_keys: frozenset[tuple[int, int]] = frozenset()  # (item id, site id)

    def __bool__(self) -> bool:
        return bool(self.location_ids)

    def hides_level(self, level: StockLevel) -> bool:
        return (level.item_id, level.site_id) in self.level_keys

    def hides_move(self, move: StockMove) -> bool:
        return move.from_location_id in self.location_ids or move.to_location_id in self.location_ids

    # the same rules as querysets: the rows hidden, left out (quantity filters and orderings of the API, admin)

    def exclude_levels(self, qs: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
        if not self.level_keys:
            return qs
        hidden = Q()
        for item_id, site_id in sorted(self.level_keys):
            hidden |= Q(item_id=item_id, site_id=site_id)
        return qs.exclude(hidden)

    def exclude_quants(self, qs: QuerySet[StockQuant]) -> QuerySet[StockQuant]:
        return qs.exclude(location_id__in=self.location_ids) if self.location_ids else qs

    def exclude_moves(self, qs: QuerySet[StockMove]) -> QuerySet[StockMove]:
        if not self.location_ids:
            return qs
        return qs.exclude(from_location_id__in=self.location_ids).exclude(to_location_id__in=self.location_ids)


def blind_stock_for(user) -> BlindStock:
    """Blind counting beyond the count itself: a counter must not read a location's quantity from the stock
    endpoints while the count there is open. Blind are, at a site with such lines: anyone who already counted a
    line there that is still open (a recount by someone else is pending), and the users who may count at the site,
    either only those who may not approve (rule ``counting.blind_stock_scope`` COUNTERS: operators, integrators)
    or all of them (ALL_COUNTERS)."""
    from governance.services.rules import get_rule_for_sites
    from inventory.models import CycleCountLine

    if not (user and user.is_authenticated):
        return BlindStock()
    lines = permissions.restrict(
        CycleCountLine.objects.filter(status__in=CycleCountLine.TO_COUNT), user, site_field="count__site"
    ).values_list("count__site_id", "location_id", "item_id", "first_counted_by_id")
    rows = list(lines)
    if not rows:
        return BlindStock()
    site_ids = sorted({row[0] for row in rows})
    scope = get_rule_for_sites(BLIND_SCOPE_RULE, site_ids)
    blind_sites = set()
    for site_id in site_ids:
        may_count = permissions.can(user, "inventory.count", site_id)
        approver = permissions.can(user, "approval.decide", site_id)
        if may_count and (scope[site_id] == "ALL_COUNTERS" or not approver):
            blind_sites.add(site_id)
    hidden = [row for row in rows if row[0] in blind_sites or row[3] == user.pk]
    return BlindStock(
        location_ids=frozenset(row[1] for row in hidden),
        level_keys=frozenset((row[2], row[0]) for row in hidden),
    )


# --- barcodes and scanned codes ------------------------------------------------------------------------------


def gtin_factors(item) -> dict[str, int]:
    """GTIN-14 -> base units in one of what it labels, for every barcode of ``item`` (base unit: 1)."""
    from inventory.models import ItemBarcode

    return {
        b.gtin: (b.unit.factor if b.unit_id else 1)
        for b in ItemBarcode.objects.filter(item=item).select_related("unit")
    }


def barcode_for_gtin(gtin14: str):
    """The :class:`ItemBarcode` (with item and unit) of a GTIN-14, or None."""
    from inventory.models import ItemBarcode

    return ItemBarcode.objects.select_related("item", "unit").filter(gtin=gtin14).first()


@dataclass
class CodeResolution:
    """What a scanned code is: items (by GTIN of the item or a unit, or by SKU), locations of the user's sites
    (by code), lots (by number), and the parsed GS1 label when the code is one."""

    code: str
    gs1: object = None  # inventory.policy.gs1.GS1Label
    error: str = ""
    items: list = None  # [(item, unit or None, gtin14 or "")]
    locations: list = None
    lots: list = None
    extra: list = None  # matches contributed by higher apps (warehouse: packages by SSCC)

    def __post_init__(self):
        self.items = self.items or []
        self.locations = self.locations or []
        self.lots = self.lots or []
        self.extra = self.extra or []

    @property
    def found(self) -> bool:
        return bool(self.items or self.locations or self.lots or self.extra)


def resolve_code(user, raw: str) -> CodeResolution:
    """Resolve a scanned or typed code. A location is looked up only among the sites ``user`` sees, so a user of
    one site never learns another site's location codes."""
    from inventory.models import Item, Location, Lot
    from inventory.policy import gs1
    from inventory.policy.barcodes import clean_gtin

    code = "".join(ch for ch in (raw or "") if ch.isprintable() or ch == gs1.GS).strip()
    result = CodeResolution(code=code)
    if not code:
        result.error = "Give the scanned code."
        return result
    if gs1.looks_like_gs1(code):
        try:
            label = gs1.parse(code)
        except gs1.GS1Error as exc:
            result.error = str(exc)
            return result
        result.gs1 = label
        if label.item_gtin:
            barcode = barcode_for_gtin(label.item_gtin)
            if barcode is not None:
                result.items.append((barcode.item, barcode.unit, barcode.gtin))
            if label.lot and barcode is not None:
                result.lots = list(Lot.objects.filter(item=barcode.item, number=label.lot).select_related("item"))
        return result
    gtin = clean_gtin(code) if code.isdigit() else None
    if gtin is not None and gtin.ok:
        barcode = barcode_for_gtin(gtin.gtin14)
        if barcode is not None:
            result.items.append((barcode.item, barcode.unit, barcode.gtin))
    item = Item.objects.filter(sku=code).first()
    if item is not None:
        result.items.append((item, None, ""))
    result.locations = list(
        permissions.restrict(Location.objects.filter(code=code).select_related("site", "zone"), user)
    )
    result.lots = list(Lot.objects.filter(number=code).select_related("item")[:20])
    return result


# --- held stock, lots and an item's stock (the hold, recall and item pages) -------------------------------------


def held_stock(*, site, item=None) -> QuerySet[StockQuant]:
    """HOLD and DAMAGED quants of ``site`` with units, by item, lot and location (what a supervisor releases)."""
    from inventory.models import InventoryStatus

    qs = StockQuant.objects.filter(
        site=site, status__in=[InventoryStatus.HOLD, InventoryStatus.DAMAGED], quantity__gt=0
    ).select_related("item", "lot", "location")
    if item is not None:
        qs = qs.filter(item=item)
    return qs.order_by("item__sku", "lot__number", "location__code", "status")


def lot_stock_for(user, *, item, lot) -> QuerySet[StockQuant]:
    """Every quant of ``lot`` with units at the sites ``user`` can see (physical locations), by site and location
    (the recall preview); blind-count locations left out."""
    from inventory.models import Location

    qs = (
        stock_quants_for(user)
        .filter(item=item, lot=lot, quantity__gt=0)
        .exclude(location__kind__in=Location.VIRTUAL_KINDS)
        .order_by("site__code", "location__code", "status")
    )
    return blind_stock_for(user).exclude_quants(qs)


def item_stock_for(user, *, item) -> QuerySet[StockQuant]:
    """The item's quants with units at the sites ``user`` can see, by site, location, lot and status (the item
    page); blind-count locations left out."""
    qs = (
        stock_quants_for(user)
        .filter(item=item, quantity__gt=0)
        .order_by("site__code", "location__code", "lot__number", "status")
    )
    return blind_stock_for(user).exclude_quants(qs)


def recent_moves_for(user, *, item, limit: int = 20) -> list[StockMove]:
    """The item's latest ledger rows the user may see (moves at blind-count locations left out)."""
    qs = stock_moves_for(user).filter(item=item).order_by("-created_at", "-id")
    return list(blind_stock_for(user).exclude_moves(qs)[:limit])


def hold_reasons(quants) -> dict[int, StockMove]:
    """quant id -> the latest STATUS move that put units into it (why and by whom it is held), one query."""
    quants = list(quants)
    if not quants:
        return {}
    rows = (
        StockMove.objects.filter(
            kind=StockMove.Kind.STATUS,
            item_id__in={q.item_id for q in quants},
            to_location_id__in={q.location_id for q in quants},
            to_status__in={q.status for q in quants},
        )
        .select_related("user")
        .order_by("-created_at", "-id")
    )
    wanted = {(q.item_id, q.location_id, q.lot_id, q.status): q.pk for q in quants}
    out: dict[int, StockMove] = {}
    for move in rows.iterator():
        pk = wanted.get((move.item_id, move.to_location_id, move.lot_id, move.to_status))
        if pk is not None and pk not in out:
            out[pk] = move
            if len(out) == len(wanted):
                break
    return out


# --- adjustments ----------------------------------------------------------------------------------------------

#: what can be done to an adjustment (``adjustment_actions``)
ADJUSTMENT_DECIDE = "decide"


def adjustments_for(user) -> QuerySet:
    """Stock adjustments of the sites the user sees, with what their pages show."""
    from inventory.models import Adjustment

    return permissions.restrict(
        Adjustment.objects.select_related("site", "location", "item", "lot", "requested_by", "decided_by"), user
    )


def pending_adjustment_approvals(adjustments) -> dict[int, object]:
    """adjustment id -> its pending approval request, for the given adjustments (one query)."""
    from django.contrib.contenttypes.models import ContentType

    from governance.models import ApprovalRequest
    from inventory.models import Adjustment
    from inventory.services.adjustments import APPROVAL_KIND

    ids = [a.pk for a in adjustments]
    if not ids:
        return {}
    rows = ApprovalRequest.objects.select_related("requested_by").filter(
        content_type=ContentType.objects.get_for_model(Adjustment),
        object_id__in=ids,
        kind=APPROVAL_KIND,
        status=ApprovalRequest.Status.PENDING,
    )
    return {row.object_id: row for row in rows}


def adjustment_actions(adjustment, user, *, approval=None) -> frozenset[str]:
    """``allowed_actions`` of an adjustment: ``decide`` a pending one for an approver who is not its requester
    (governance's approval rule, the one ``decide_adjustment`` applies under the lock); nothing otherwise.
    ``approval``: its pending approval request (``pending_adjustment_approvals``)."""
    from governance.services.approvals import approval_actions
    from inventory.models import Adjustment

    if adjustment.status != Adjustment.Status.PENDING_APPROVAL or approval is None:
        return frozenset()
    return frozenset({ADJUSTMENT_DECIDE}) if approval_actions(approval, user) else frozenset()


def cycle_count_actions(count, user) -> frozenset[str]:
    """``allowed_actions`` of a cycle count: ``count`` (on the scan screen) while it is open, for a counter of its
    site; deciding it is its approval's (governance's allowed_actions of the ApprovalRequest)."""
    from governance import permissions as perms
    from inventory.models import CycleCount

    if count.status == CycleCount.Status.OPEN and perms.can(user, "inventory.count", count.site_id):
        return frozenset({"count"})
    return frozenset()
