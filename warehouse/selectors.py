"""Reads of the warehouse app for other layers' pages and reports.

The lot recall (``inventory.services.holds.recall_lot``) holds the stock; where the lot already went is the
warehouse's to say (inventory may not import warehouse), so :func:`lot_recall_report` composes the two for the
recall API and page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Sum

from governance import permissions
from inventory.models import Item, Lot
from warehouse.models import PickTask, PutawayTask, ReplenishmentTask, Shipment, ShipmentLine


@dataclass(frozen=True)
class LotShipment:
    shipment_id: int
    number: str
    site: str
    status: str
    status_label: str
    customer_code: str
    customer_name: str
    ship_to_address: str
    order_numbers: tuple[str, ...]
    quantity: int
    shipped_at: object
    carrier: str
    tracking_number: str


def lot_shipments(user, *, item: Item, lot: Lot) -> list[LotShipment]:
    """Shipments (packed or shipped, not cancelled) of the user's sites carrying ``lot``: to whom, how many, when;
    newest first."""
    lines = (
        permissions.restrict(ShipmentLine.objects.all(), user, site_field="shipment__site")
        .filter(item=item, lot=lot)
        .exclude(shipment__status=Shipment.Status.CANCELLED)
        .values("shipment_id", "order__number", "order__customer__name")
        .annotate(units=Sum("quantity"))
    )
    per: dict[int, dict] = {}
    for row in lines:
        entry = per.setdefault(row["shipment_id"], {"orders": set(), "units": 0, "name": row["order__customer__name"]})
        entry["orders"].add(row["order__number"])
        entry["units"] += row["units"]
    shipments = Shipment.objects.filter(pk__in=per).select_related("site")
    out = [
        LotShipment(
            shipment_id=s.pk,
            number=s.number,
            site=s.site.code,
            status=s.status,
            status_label=s.get_status_display(),
            customer_code=s.customer_code,
            customer_name=per[s.pk]["name"] or "",
            ship_to_address=s.ship_to_address,
            order_numbers=tuple(sorted(per[s.pk]["orders"])),
            quantity=per[s.pk]["units"],
            shipped_at=s.shipped_at,
            carrier=s.carrier,
            tracking_number=s.tracking_number,
        )
        for s in shipments
    ]
    return sorted(out, key=lambda s: (s.shipped_at is not None, s.shipped_at or 0, s.shipment_id), reverse=True)


@dataclass(frozen=True)
class LotTask:
    kind: str  # PICK, REFILL or PUTAWAY
    task_id: int
    site: str
    location: str
    quantity: int
    document: str


def lot_open_tasks(user, *, item: Item, lot: Lot) -> list[LotTask]:
    """Open tasks of the user's sites on units of ``lot``: pick and refill tasks reserve AVAILABLE units (a recall
    leaves them: cancel or confirm the task, then recall again); putaway tasks move RECEIVED units from the dock
    (a recall holds those: the task waits until they are released, back to RECEIVED at the dock)."""
    out: list[LotTask] = []
    picks = (
        permissions.restrict(PickTask.objects.all(), user)
        .filter(item=item, lot=lot, status=PickTask.Status.OPEN)
        .select_related("site", "location", "order_line__order", "transfer_line__transfer", "wave")
        .order_by("site__code", "id")
    )
    for t in picks:
        if t.order_line_id:
            doc = t.order_line.order.number
        elif t.transfer_line_id:
            doc = t.transfer_line.transfer.number
        else:  # pragma: no cover - every pick task has an order or a transfer line
            doc = ""
        out.append(LotTask("PICK", t.pk, t.site.code, t.location.code, t.quantity, doc))
    refills = (
        permissions.restrict(ReplenishmentTask.objects.all(), user)
        .filter(item=item, lot=lot, status=ReplenishmentTask.Status.OPEN)
        .select_related("site", "from_location", "to_location")
        .order_by("site__code", "id")
    )
    for t in refills:
        out.append(LotTask("REFILL", t.pk, t.site.code, t.from_location.code, t.quantity, f"to {t.to_location.code}"))
    putaways = (
        permissions.restrict(PutawayTask.objects.all(), user)
        .filter(item=item, lot=lot, status=PutawayTask.Status.OPEN)
        .select_related("site", "from_location")
        .order_by("site__code", "id")
    )
    for t in putaways:
        out.append(LotTask("PUTAWAY", t.pk, t.site.code, t.from_location.code, t.quantity, "putaway"))
    return out


@dataclass
class LotRecallReport:
    """A recall's result (or a preview, ``result`` None) with where the lot was shipped and its open tasks."""

    item: Item
    lot: Lot
    result: object = None  # inventory.services.holds.HoldResult
    shipments: list[LotShipment] = field(default_factory=list)
    tasks: list[LotTask] = field(default_factory=list)

    @property
    def shipped_units(self) -> int:
        return sum(s.quantity for s in self.shipments if s.status == Shipment.Status.SHIPPED)

    @property
    def customers(self) -> list[str]:
        return sorted({s.customer_code for s in self.shipments if s.status == Shipment.Status.SHIPPED})


def lot_recall_report(user, *, item: Item, lot: Lot, result=None) -> LotRecallReport:
    return LotRecallReport(
        item=item,
        lot=lot,
        result=result,
        shipments=lot_shipments(user, item=item, lot=lot),
        tasks=lot_open_tasks(user, item=item, lot=lot),
    )


# --- printed pick list ------------------------------------------------------------------------------------------


@dataclass
class PickListLine:
    task: PickTask
    in_units: str  # '3 CASE + 2 EA'
    in_base: str  # '38 EA'
    location_barcode: object  # warehouse.labels.Barcode
    item_barcode: object | None  # the item's (base unit) GTIN, when it has one


@dataclass
class PickListZone:
    code: str  # the zone's code ('' for locations without a zone)
    name: str
    lines: list[PickListLine] = field(default_factory=list)

    @property
    def units(self) -> int:
        return sum(line.task.quantity for line in self.lines)


def pick_list(wave) -> list[PickListZone]:
    """The wave's pick tasks for the printed list: grouped by zone, the zones in the order the walk reaches them and
    the tasks in walk order (``sequence``) within each, each quantity in handling units (3 CASE + 2 EA) with the
    location's and the item's barcodes. Three queries whatever the size of the wave."""
    from inventory.models import ItemBarcode
    from inventory.units import in_units_text, unit_factors
    from warehouse.labels import Barcode, gtin_barcode

    tasks = list(
        wave.pick_tasks.select_related("item", "lot", "location__zone", "to_location", "order_line__order")
        .prefetch_related("item__units")
        .order_by("sequence", "id")
    )
    gtins: dict[int, str] = {}
    base_codes = ItemBarcode.objects.filter(item_id__in={t.item_id for t in tasks}, unit__isnull=True)
    for item_id, gtin in base_codes.order_by("item_id", "gtin").values_list("item_id", "gtin"):
        gtins.setdefault(item_id, gtin)  # the first of an item's base-unit GTINs
    zones: dict[str, PickListZone] = {}
    for task in tasks:
        zone = task.location.zone
        key = zone.code if zone else ""
        group = zones.get(key)
        if group is None:
            group = zones[key] = PickListZone(code=key, name=(zone.name if zone else "") or key or "No zone")
        gtin = gtins.get(task.item_id)
        group.lines.append(
            PickListLine(
                task=task,
                in_units=in_units_text(task.quantity, unit_factors(task.item)),
                in_base=f"{task.quantity} {task.item.base_unit}",
                location_barcode=Barcode("CODE128", task.location.code),
                item_barcode=gtin_barcode(gtin) if gtin else None,
            )
        )
    return list(zones.values())


@dataclass
class WaveProgress:
    tasks: int
    tasks_done: int  # confirmed, short or cancelled: nothing left to walk to
    units: int  # planned units of the tasks not cancelled
    units_picked: int

    @property
    def percent(self) -> int:
        """Picked units of the planned ones (tasks when no units are planned), 0-100."""
        if self.units:
            return min(100, round(100 * self.units_picked / self.units))
        return round(100 * self.tasks_done / self.tasks) if self.tasks else 0


def wave_progress(tasks: list[PickTask]) -> WaveProgress:
    """How far the wave's picking is, from its (already read) pick tasks."""
    live = [t for t in tasks if t.status != PickTask.Status.CANCELLED]
    return WaveProgress(
        tasks=len(tasks),
        tasks_done=sum(1 for t in tasks if t.status != PickTask.Status.OPEN),
        units=sum(t.quantity for t in live),
        units_picked=sum(t.picked_quantity or 0 for t in live),
    )


# --- allowed_actions of the floor's tasks (core.actions) -----------------------------------------------------

CONFIRM, CANCEL = "confirm", "cancel"


def task_actions(task, user) -> frozenset[str]:
    """``allowed_actions`` of a pick, putaway or refill task: ``confirm`` while it is open, for a user who executes
    at its site (the scan screens); a refill also ``cancel`` for a planner. The services refuse a task that is no
    longer open (``confirm_pick``, ``confirm_putaway``, ``confirm_replenishment``, ``cancel_replenishment_task``)."""
    if task.status != "OPEN":
        return frozenset()
    actions = set()
    if permissions.can(user, "warehouse.execute", task.site_id):
        actions.add(CONFIRM)
    if isinstance(task, ReplenishmentTask) and permissions.can(user, "warehouse.plan", task.site_id):
        actions.add(CANCEL)
    return frozenset(actions)
