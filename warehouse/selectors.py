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
