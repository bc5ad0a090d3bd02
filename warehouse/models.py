"""Warehouse execution: receiving with discrepancies and inspection, directed putaway."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import Site
from inventory.models import InventoryStatus, Item, Location, Lot, Zone
from orders.models import (
    Allocation,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    TransferOrder,
    TransferOrderLine,
)


class Receipt(models.Model):
    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="receipts")
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    transfer_order = models.ForeignKey(
        TransferOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="Receiving dock")
    final = models.BooleanField(default=True, help_text="The delivery is complete: what is missing is short")
    note = models.TextField(blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change (the change feed's order)")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["updated_at", "id"], name="receipt_feed_idx")]

    def __str__(self) -> str:
        return self.number


class ReceiptLine(models.Model):
    class Inspection(models.TextChoices):
        NOT_REQUIRED = "NOT_REQUIRED", "Not required"
        PENDING = "PENDING", "Pending inspection"
        DONE = "DONE", "Inspected"

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    po_line = models.ForeignKey(
        PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="receipt_lines"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="receipt_lines")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField(help_text="Good units received")
    damaged_quantity = models.BigIntegerField(default=0)
    landed_status = models.CharField(max_length=12, choices=InventoryStatus.choices)
    inspection = models.CharField(max_length=14, choices=Inspection.choices, default=Inspection.NOT_REQUIRED)
    held_quantity = models.BigIntegerField(default=0, help_text="Good units that landed on HOLD for inspection")
    released_quantity = models.BigIntegerField(default=0, help_text="Released by inspection")
    rejected_quantity = models.BigIntegerField(default=0, help_text="Rejected by inspection")

    class Meta:
        ordering = ["receipt", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0)
                & Q(damaged_quantity__gte=0)
                & (Q(quantity__gt=0) | Q(damaged_quantity__gt=0)),
                name="receipt_line_quantities",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt.number} {self.item.sku} x{self.quantity}"

    @property
    def on_hold(self) -> int:
        return self.held_quantity - self.released_quantity - self.rejected_quantity


class Discrepancy(models.Model):
    class Code(models.TextChoices):
        OVER = "OVER", "Over receipt"
        SHORT = "SHORT", "Short receipt"
        DAMAGED = "DAMAGED", "Damaged"
        WRONG_ITEM = "WRONG_ITEM", "Item not on the order"
        LOT_MISMATCH = "LOT_MISMATCH", "Lot differs from the ship notice"
        LATE = "LATE", "Received after the expected date"

    EXCEPTION_CODE = {
        Code.OVER: "OVER_RECEIPT",
        Code.SHORT: "SHORT_RECEIPT",
        Code.DAMAGED: "DAMAGED_RECEIPT",
        Code.WRONG_ITEM: "WRONG_ITEM",
        Code.LOT_MISMATCH: "LOT_MISMATCH",
        Code.LATE: "LATE_RECEIPT",
    }

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="discrepancies")
    line = models.ForeignKey(ReceiptLine, null=True, blank=True, on_delete=models.CASCADE, related_name="discrepancies")
    po_line = models.ForeignKey(PurchaseOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=14, choices=Code.choices)
    expected = models.BigIntegerField(default=0)
    actual = models.BigIntegerField(default=0)
    detail = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["receipt", "id"]
        verbose_name_plural = "discrepancies"

    def __str__(self) -> str:
        return f"{self.receipt.number} {self.get_code_display().lower()}: {self.detail}"


class PutawayRule(models.Model):
    """Where received stock should go: the first active rule matching the item (most specific first by
    priority) names a preferred zone and location kinds."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="putaway_rules")
    priority = models.PositiveSmallIntegerField(default=100, help_text="Lower is tried first")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    category = models.CharField(max_length=60, blank=True)
    storage_type = models.CharField(max_length=30, blank=True)
    abc_class = models.CharField(max_length=1, blank=True, choices=Item.AbcClass.choices)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    location_kinds = models.CharField(
        max_length=60, default="PICK,STORAGE", help_text="Comma-separated location kinds, in order of preference"
    )
    allow_mixed_lots = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "priority", "id"]

    def __str__(self) -> str:
        what = self.item or self.category or self.storage_type or self.abc_class or "any item"
        return f"{self.site.code} #{self.priority}: {what} -> {self.zone or 'any zone'} {self.location_kinds}"


class PutawayTask(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        CONFIRMED = "CONFIRMED", "Confirmed"
        CANCELLED = "CANCELLED", "Cancelled"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="putaway_tasks")
    receipt_line = models.ForeignKey(
        ReceiptLine, null=True, blank=True, on_delete=models.PROTECT, related_name="putaway_tasks"
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField()
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    suggested_location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    suggestion_reason = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    confirmed_location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    confirmed_quantity = models.BigIntegerField(null=True, blank=True)
    reason_code = models.CharField(max_length=30, blank=True, help_text="Why another location than suggested")
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(help_text="When the stock was received (dock-to-stock start)")
    dock_to_stock_seconds = models.PositiveIntegerField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "status", "created_at", "id"]
        indexes = [models.Index(fields=["site", "status"], name="putaway_site_status_idx")]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="putaway_quantity_positive")]

    def __str__(self) -> str:
        return f"PUT-{self.pk} {self.item.sku} x{self.quantity}"


class Wave(models.Model):
    class Status(models.TextChoices):
        PLANNED = "PLANNED", "Planned"
        RELEASED = "RELEASED", "Released (picking)"
        COMPLETED = "COMPLETED", "Completed"
        CANCELLED = "CANCELLED", "Cancelled"

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="waves")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED, db_index=True)
    carrier = models.CharField(max_length=40, blank=True)
    cutoff = models.DateTimeField(null=True, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class WaveLine(models.Model):
    """An allocation (or part of it) planned into a wave. An allocation is in at most one open wave."""

    wave = models.ForeignKey(Wave, on_delete=models.CASCADE, related_name="lines")
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="wave_lines")
    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="wave_lines")
    quantity = models.BigIntegerField()
    active = models.BooleanField(default=True, help_text="False once the wave is cancelled")

    class Meta:
        ordering = ["wave", "id"]
        constraints = [
            models.UniqueConstraint(fields=["allocation"], condition=Q(active=True), name="wave_line_one_open_wave"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="wave_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.wave.number} {self.order_line} x{self.quantity}"


class PickTask(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        PICKED = "PICKED", "Picked"
        SHORT = "SHORT", "Short picked"
        CANCELLED = "CANCELLED", "Cancelled"

    class ShortReason(models.TextChoices):
        NOT_FOUND = "NOT_FOUND", "Fewer units in the location than the system shows"
        DAMAGED = "DAMAGED", "Units found damaged"
        WRONG_ITEM = "WRONG_ITEM", "Another item in the location"
        LOT = "LOT", "The lot asked for is not there"
        NO_ACCESS = "NO_ACCESS", "Location blocked or out of reach"

    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.CASCADE, related_name="pick_tasks")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="pick_tasks")
    wave_line = models.ForeignKey(WaveLine, null=True, blank=True, on_delete=models.PROTECT, related_name="pick_tasks")
    order_line = models.ForeignKey(
        SalesOrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="pick_tasks"
    )
    transfer_line = models.ForeignKey(
        TransferOrderLine,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pick_tasks",
        help_text="Set for a transfer's pick at the source (no wave, no order line)",
    )
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="pick_tasks")
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="Staging")
    quantity = models.BigIntegerField()
    sequence = models.PositiveIntegerField(default=0, help_text="Walk order within the wave")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    picked_quantity = models.BigIntegerField(null=True, blank=True)
    scanned_location = models.CharField(max_length=40, blank=True)
    scanned_lot = models.CharField(max_length=60, blank=True)
    short_reason = models.CharField(
        max_length=20, choices=ShortReason.choices, blank=True, help_text="Why the picker found less than asked"
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["wave", "sequence", "id"]
        indexes = [models.Index(fields=["site", "status"], name="pick_site_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="pick_quantity_positive"),
            models.CheckConstraint(
                condition=(
                    Q(transfer_line__isnull=True)
                    & Q(wave__isnull=False)
                    & Q(wave_line__isnull=False)
                    & Q(order_line__isnull=False)
                )
                | (
                    Q(transfer_line__isnull=False)
                    & Q(wave__isnull=True)
                    & Q(wave_line__isnull=True)
                    & Q(order_line__isnull=True)
                ),
                name="pick_for_wave_or_transfer",
            ),
        ]

    def __str__(self) -> str:
        return f"PICK-{self.pk} {self.item.sku} x{self.quantity} at {self.location.code}"


class Shipment(models.Model):
    class Status(models.TextChoices):
        PACKED = "PACKED", "Packed"
        SHIPPED = "SHIPPED", "Shipped"
        CANCELLED = "CANCELLED", "Cancelled"

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="shipments")
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.PROTECT, related_name="shipments")
    customer_code = models.CharField(max_length=30)
    ship_to_address = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PACKED, db_index=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=80, blank=True)
    packed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    packed_at = models.DateTimeField(default=timezone.now)
    shipped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shipped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change (the change feed's order)")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-packed_at", "-id"]
        indexes = [models.Index(fields=["updated_at", "id"], name="shipment_feed_idx")]

    def __str__(self) -> str:
        return self.number


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="shipment_lines")
    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="shipment_lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.BigIntegerField()

    class Meta:
        ordering = ["shipment", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="shipment_line_quantity_positive")]

    def __str__(self) -> str:
        return f"{self.shipment.number} {self.item.sku} x{self.quantity}"


class Package(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="packages")
    number = models.PositiveSmallIntegerField()
    weight_grams = models.PositiveIntegerField(default=0)
    contents = models.JSONField(default=list, blank=True, help_text="[{item, quantity}]")
    sscc = models.CharField(
        max_length=18, null=True, blank=True, unique=True, help_text="Serial Shipping Container Code, with check digit"
    )

    class Meta:
        ordering = ["shipment", "number"]
        constraints = [models.UniqueConstraint(fields=["shipment", "number"], name="package_unique_number")]

    def __str__(self) -> str:
        return f"{self.shipment.number}#{self.number}"


class CountRequest(models.Model):
    """A request to count a location (after a short pick, a variance, or a supervisor's ask)."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        DONE = "DONE", "Done"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="count_requests")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="count_requests")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=200)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    requested_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["location"], condition=Q(status="OPEN"), name="count_request_one_open_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"Count {self.location} ({self.reason})"


class ReplenishmentTask(models.Model):
    """Move stock from reserve storage to a pick face (FEFO). The source quant's units are reserved when the
    task is created, as for pick tasks, and the move is posted when the operator confirms it."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        DONE = "DONE", "Done"
        SHORT = "SHORT", "Short (less found than reserved)"
        CANCELLED = "CANCELLED", "Cancelled"

    class Trigger(models.TextChoices):
        MIN = "MIN", "Pick face at or below its min"
        WAVE = "WAVE", "Released wave needs more than the pick face holds"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="replenishment_tasks")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="Reserve")
    to_location = models.ForeignKey(
        Location, on_delete=models.PROTECT, related_name="replenishment_tasks", help_text="Pick face"
    )
    quantity = models.BigIntegerField()
    trigger = models.CharField(max_length=6, choices=Trigger.choices, default=Trigger.MIN)
    wave = models.ForeignKey(Wave, null=True, blank=True, on_delete=models.PROTECT, related_name="replenishment_tasks")
    reason = models.JSONField(default=dict, blank=True, help_text="The pick face's numbers when the task was made")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    moved_quantity = models.BigIntegerField(null=True, blank=True)
    scanned_location = models.CharField(max_length=40, blank=True)
    scanned_lot = models.CharField(max_length=60, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "status", "created_at", "id"]
        indexes = [
            models.Index(fields=["site", "status"], name="repl_task_site_status_idx"),
            models.Index(fields=["to_location", "item"], name="repl_task_open_face_idx", condition=Q(status="OPEN")),
        ]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="repl_task_quantity_positive")]

    def __str__(self) -> str:
        return f"REPL-{self.pk} {self.item.sku} x{self.quantity} to {self.to_location.code}"


class FloorEvent(models.Model):
    """What the floor did instead of what a task asked for (issue 13, adoption): a scan the checks refused, a
    confirmation without a scan the step asks for, an override of the system's direction. Append-only: written by
    ``warehouse.services.floor`` only, never updated or deleted. Holds what was expected and what was scanned
    (a location, SKU, barcode or lot: no personal data, no secrets), cut to 80 characters."""

    class Process(models.TextChoices):
        PICK = "PICK", "Pick"
        TRANSFER_PICK = "TRANSFER_PICK", "Transfer pick"
        PUTAWAY = "PUTAWAY", "Putaway"
        REFILL = "REFILL", "Pick-face refill"
        COUNT = "COUNT", "Cycle count"
        RECEIVE = "RECEIVE", "Receive"
        MOVE = "MOVE", "Stock move"

    class Kind(models.TextChoices):
        REFUSED_SCAN = "REFUSED_SCAN", "Refused scan"
        SKIPPED_SCAN = "SKIPPED_SCAN", "Skipped scan"
        OVERRIDE = "OVERRIDE", "Override"

    class Channel(models.TextChoices):
        SCREEN = "SCREEN", "Scan screen"
        API = "API", "API"
        DESKTOP = "DESKTOP", "Desktop page"
        OTHER = "OTHER", "Other"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    process = models.CharField(max_length=14, choices=Process.choices)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    field = models.CharField(max_length=20, blank=True, help_text="The scan field: location, item, lot, quantity ...")
    code = models.CharField(max_length=30, blank=True, help_text="Why: wrong_location, short_pick, not_suggested ...")
    expected = models.CharField(max_length=80, blank=True)
    scanned = models.CharField(max_length=80, blank=True)
    detail = models.CharField(max_length=200, blank=True, help_text="The message the operator saw")
    task_id = models.PositiveBigIntegerField(null=True, blank=True, help_text="The task, count or PO of the process")
    task_ref = models.CharField(max_length=40, blank=True, help_text="PICK-12, PUT-3, CC-000004, PO-000123 ...")
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.OTHER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["site", "kind", "created_at"], name="floor_event_site_kind_idx"),
            models.Index(fields=["process", "task_id"], name="floor_event_task_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.process} {self.task_ref} {self.field}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Floor events are append-only.")
        super().save(*args, **kwargs)
