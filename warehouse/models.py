"""Warehouse execution: receiving with discrepancies and inspection, directed putaway."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import Site
from inventory.models import InventoryStatus, Item, Location, Lot, Zone
from orders.models import PurchaseOrder, PurchaseOrderLine


class Receipt(models.Model):
    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="receipts")
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", help_text="Receiving dock")
    final = models.BooleanField(default=True, help_text="The delivery is complete: what is missing is short")
    note = models.TextField(blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]

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
        return f"{self.receipt.number} {self.item_id} x{self.quantity}"

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
        return f"{self.receipt.number} {self.code}: {self.detail}"


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
        return f"PUT-{self.pk} {self.item_id} x{self.quantity}"
