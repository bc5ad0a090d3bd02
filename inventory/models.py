"""The one inventory truth: items, locations, lots, the append-only ledger and the balances derived from it."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import Site


class InventoryStatus(models.TextChoices):
    RECEIVED = "RECEIVED", "Received (not yet put away)"
    AVAILABLE = "AVAILABLE", "Available"
    HOLD = "HOLD", "Hold"
    DAMAGED = "DAMAGED", "Damaged"
    IN_TRANSIT = "IN_TRANSIT", "In transit"


#: StockLevel column for each status
LEVEL_FIELD = {
    InventoryStatus.RECEIVED: "received",
    InventoryStatus.AVAILABLE: "available",
    InventoryStatus.HOLD: "hold",
    InventoryStatus.DAMAGED: "damaged",
    InventoryStatus.IN_TRANSIT: "in_transit",
}


class Item(models.Model):
    class BaseUnit(models.TextChoices):
        EACH = "EA", "Each"
        GRAM = "G", "Gram"
        MILLILITRE = "ML", "Millilitre"

    class AbcClass(models.TextChoices):
        A = "A", "A"
        B = "B", "B"
        C = "C", "C"

    sku = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=200)
    base_unit = models.CharField(max_length=4, choices=BaseUnit.choices, default=BaseUnit.EACH)
    category = models.CharField(max_length=60, blank=True, db_index=True)
    storage_type = models.CharField(max_length=30, blank=True, help_text="e.g. AMBIENT, CHILLED, HAZMAT, BULKY")
    standard_cost = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    lot_tracked = models.BooleanField(default=False)
    shelf_life_days = models.PositiveIntegerField(null=True, blank=True)
    abc_class = models.CharField(max_length=1, choices=AbcClass.choices, default=AbcClass.C)
    requires_inspection = models.BooleanField(default=False)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["sku"]
        indexes = [models.Index(fields=["updated_at", "id"], name="item_feed_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(standard_cost__gte=0), name="item_standard_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(shelf_life_days__isnull=True) | Q(lot_tracked=True), name="item_shelf_life_needs_lots"
            ),
        ]

    def __str__(self) -> str:
        return self.sku


class ItemUnit(models.Model):
    """A unit an item is counted in, with its factor in base units (EA=1, CASE=12, PALLET=480)."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(max_length=12)
    factor = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    history = HistoricalRecords()

    class Meta:
        ordering = ["item", "factor"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="item_unit_unique_code"),
            models.CheckConstraint(condition=Q(factor__gte=1), name="item_unit_factor_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.item.sku} {self.code}={self.factor}"


class ItemBarcode(models.Model):
    """A GTIN (EAN/UPC) printed on an item or on one of its units (case, pallet), stored as GTIN-14 so the
    EAN-13 and UPC-A forms of one number are one code. Unique across all items and units."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="barcodes")
    unit = models.ForeignKey(
        ItemUnit, null=True, blank=True, on_delete=models.CASCADE, related_name="barcodes", help_text="Empty: base unit"
    )
    gtin = models.CharField(max_length=14, unique=True, help_text="GTIN-14 (leading zeros kept)")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["item", "unit", "gtin"]
        constraints = [
            models.CheckConstraint(condition=Q(gtin__regex=r"^[0-9]{14}$"), name="item_barcode_gtin_14_digits")
        ]

    def __str__(self) -> str:
        return f"{self.item_id} {self.gtin}"


class ItemSubstitute(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="substitute_links")
    substitute = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="substitute_for")
    preference = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["item", "preference"]
        constraints = [
            models.UniqueConstraint(fields=["item", "substitute"], name="item_substitute_unique"),
            models.CheckConstraint(condition=~Q(item=F("substitute")), name="item_substitute_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} -> {self.substitute_id} (#{self.preference})"


class Zone(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="zones")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="zone_unique_code_per_site")]

    def __str__(self) -> str:
        return f"{self.site.code}/{self.code}"


class Location(models.Model):
    class Kind(models.TextChoices):
        RECEIVING = "RECEIVING", "Receiving dock"
        STORAGE = "STORAGE", "Reserve storage"
        PICK = "PICK", "Pick face"
        STAGING = "STAGING", "Outbound staging"
        QUALITY = "QUALITY", "Quality hold"
        DAMAGED = "DAMAGED", "Damaged"
        SUPPLIER = "SUPPLIER", "Supplier (virtual)"
        CUSTOMER = "CUSTOMER", "Customer (virtual)"
        IN_TRANSIT = "IN_TRANSIT", "In transit (virtual)"
        ADJUSTMENT = "ADJUSTMENT", "Inventory adjustment (virtual)"
        SCRAP = "SCRAP", "Scrap (virtual)"

    VIRTUAL_KINDS = frozenset({Kind.SUPPLIER, Kind.CUSTOMER, Kind.IN_TRANSIT, Kind.ADJUSTMENT, Kind.SCRAP})
    #: virtual locations that are sources or sinks: no balance is kept there
    UNTRACKED_KINDS = frozenset({Kind.SUPPLIER, Kind.CUSTOMER, Kind.ADJUSTMENT, Kind.SCRAP})

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="locations")
    code = models.CharField(max_length=40)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    zone = models.ForeignKey(Zone, null=True, blank=True, on_delete=models.PROTECT, related_name="locations")
    aisle = models.CharField(max_length=10, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Units the location holds; empty: no limit")
    active = models.BooleanField(default=True)
    last_counted_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "code"]
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="location_unique_code_per_site")]
        indexes = [models.Index(fields=["site", "kind"], name="location_site_kind_idx")]

    def __str__(self) -> str:
        return f"{self.site.code}/{self.code}"

    @property
    def is_virtual(self) -> bool:
        return self.kind in self.VIRTUAL_KINDS

    @property
    def holds_stock(self) -> bool:
        return self.kind not in self.UNTRACKED_KINDS


class Lot(models.Model):
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="lots")
    number = models.CharField(max_length=60)
    expiry_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "expiry_date", "number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="lot_unique_number_per_item")]

    def __str__(self) -> str:
        return f"{self.item.sku}/{self.number}"


class StockMove(models.Model):
    """The ledger. Append-only: never updated or deleted; a mistake is corrected by a reversing move."""

    class Kind(models.TextChoices):
        RECEIPT = "RECEIPT", "Receipt"
        PUTAWAY = "PUTAWAY", "Putaway"
        MOVE = "MOVE", "Move"
        PICK = "PICK", "Pick"
        SHIP = "SHIP", "Ship"
        TRANSFER_OUT = "TRANSFER_OUT", "Transfer out"
        TRANSFER_IN = "TRANSFER_IN", "Transfer in"
        ADJUST = "ADJUST", "Adjustment"
        COUNT = "COUNT", "Count"
        STATUS = "STATUS", "Status change"
        RETURN = "RETURN", "Return"
        SCRAP = "SCRAP", "Scrap"
        OPENING = "OPENING", "Opening balance (cutover)"

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="moves")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="moves")
    quantity = models.PositiveBigIntegerField()
    from_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_out")
    from_status = models.CharField(max_length=12, choices=InventoryStatus.choices, blank=True)
    to_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="moves_in")
    to_status = models.CharField(max_length=12, choices=InventoryStatus.choices, blank=True)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    reference = models.CharField(max_length=40, blank=True, db_index=True, help_text="Document number, e.g. ADJ-000012")
    document_type = models.CharField(max_length=40, blank=True)
    document_id = models.PositiveBigIntegerField(null=True, blank=True)
    reason_code = models.CharField(max_length=30, blank=True)
    note = models.CharField(max_length=300, blank=True)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["item", "created_at"], name="move_item_time_idx"),
            models.Index(fields=["from_location", "created_at"], name="move_from_loc_time_idx"),
            models.Index(fields=["to_location", "created_at"], name="move_to_loc_time_idx"),
            models.Index(fields=["document_type", "document_id"], name="move_document_idx"),
            models.Index(fields=["kind", "created_at"], name="move_kind_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="move_quantity_positive"),
            models.CheckConstraint(
                condition=~(Q(from_location=F("to_location")) & Q(from_status=F("to_status"))),
                name="move_changes_something",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.item_id} {self.from_location_id}->{self.to_location_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise RuntimeError("The stock ledger is append-only: moves are never updated.")
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("The stock ledger is append-only: moves are never deleted.")


class StockQuant(models.Model):
    """Balance per (item, location, lot, status); ``reserved`` is claimed by pick and move tasks."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="quants")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="quants")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="quants")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="quants")
    status = models.CharField(max_length=12, choices=InventoryStatus.choices)
    quantity = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    last_counted_at = models.DateTimeField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "location", "item", "lot", "status"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "location", "lot", "status"], name="quant_unique_key", nulls_distinct=False
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="quant_quantity_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("quantity")), name="quant_reserved_within_quantity"
            ),
        ]
        indexes = [models.Index(fields=["site", "item"], name="quant_site_item_idx")]

    def __str__(self) -> str:
        return (
            f"{self.item_id}@{self.location_id} lot={self.lot_id} {self.status}: {self.quantity} ({self.reserved} res.)"
        )

    @property
    def free(self) -> int:
        return self.quantity - self.reserved


class StockLevel(models.Model):
    """Per (item, site): on hand per status and ``allocated`` (claims of open allocations). Allocation locks it."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="levels")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="stock_levels")
    received = models.BigIntegerField(default=0)
    available = models.BigIntegerField(default=0)
    hold = models.BigIntegerField(default=0)
    damaged = models.BigIntegerField(default=0)
    in_transit = models.BigIntegerField(default=0)
    allocated = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["site", "item"]
        constraints = [
            models.UniqueConstraint(fields=["item", "site"], name="level_unique_item_site"),
            models.CheckConstraint(
                condition=Q(received__gte=0)
                & Q(available__gte=0)
                & Q(hold__gte=0)
                & Q(damaged__gte=0)
                & Q(in_transit__gte=0),
                name="level_balances_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(allocated__gte=0) & Q(allocated__lte=F("available")),
                name="level_allocated_within_available",
            ),
        ]
        indexes = [
            models.Index(fields=["site", "item"], name="level_site_item_idx"),
            models.Index(fields=["updated_at", "id"], name="level_feed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.site_id}: {self.available} avail, {self.allocated} alloc"

    @property
    def on_hand(self) -> int:
        return self.received + self.available + self.hold + self.damaged

    @property
    def available_to_promise(self) -> int:
        return self.available - self.allocated


class Adjustment(models.Model):
    class Status(models.TextChoices):
        APPLIED = "APPLIED", "Applied"
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        REJECTED = "REJECTED", "Rejected"

    class Reason(models.TextChoices):
        DAMAGE = "DAMAGE", "Damaged in warehouse"
        LOST = "LOST", "Lost / missing"
        FOUND = "FOUND", "Found"
        EXPIRED = "EXPIRED", "Expired"
        THEFT = "THEFT", "Theft"
        DATA_CORRECTION = "DATA_CORRECTION", "Data correction"
        OPENING_BALANCE = "OPENING_BALANCE", "Opening balance"
        OTHER = "OTHER", "Other"

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="adjustments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="adjustments")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="adjustments")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments")
    stock_status = models.CharField(max_length=12, choices=InventoryStatus.choices, default=InventoryStatus.AVAILABLE)
    quantity_delta = models.BigIntegerField()
    reason_code = models.CharField(max_length=20, choices=Reason.choices)
    note = models.TextField(blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=~Q(quantity_delta=0), name="adjustment_delta_not_zero")]

    def __str__(self) -> str:
        return self.number


class CycleCount(models.Model):
    """A count document: locations (per item and lot) to count blind. Planned daily per site from the ABC
    frequencies and triggers, or requested by a supervisor."""

    class Origin(models.TextChoices):
        PLANNED = "PLANNED", "Daily plan"
        REQUESTED = "REQUESTED", "Requested"

    class Status(models.TextChoices):
        OPEN = "OPEN", "Counting"
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        COMPLETED = "COMPLETED", "Completed"

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="cycle_counts")
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.REQUESTED)
    plan_date = models.DateField(default=timezone.localdate, help_text="The day the count is for")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    counted_at = models.DateTimeField(null=True, blank=True, help_text="When the last line was counted")
    completed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "status"], name="count_site_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "plan_date"], condition=Q(origin="PLANNED"), name="count_one_plan_per_site_and_day"
            )
        ]

    def __str__(self) -> str:
        return self.number


class CycleCountLine(models.Model):
    """One (location, item, lot) to count. The expected quantity is the system's quantity taken under lock
    when a count is entered, never shown to counters. A variance beyond tolerance is recounted by another
    counter; the final variance is posted as COUNT moves (after approval when its value is above the site's
    threshold)."""

    class Trigger(models.TextChoices):
        SCHEDULE = "SCHEDULE", "ABC schedule"
        SHORT_PICK = "SHORT_PICK", "Short pick"
        VARIANCE = "VARIANCE", "Recent variance"
        REQUEST = "REQUEST", "Requested"
        FOUND = "FOUND", "Found during a count"

    class Status(models.TextChoices):
        OPEN = "OPEN", "To count"
        RECOUNT = "RECOUNT", "To recount (another counter)"
        PENDING_APPROVAL = "PENDING_APPROVAL", "Variance pending approval"
        POSTED = "POSTED", "Counted and posted"
        REJECTED = "REJECTED", "Variance rejected"

    #: statuses in which counting is not finished yet
    TO_COUNT = (Status.OPEN, Status.RECOUNT)

    count = models.ForeignKey(CycleCount, on_delete=models.CASCADE, related_name="lines")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="count_lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="count_lines")
    lot = models.ForeignKey(Lot, null=True, blank=True, on_delete=models.PROTECT, related_name="count_lines")
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.REQUEST)
    trigger_reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    first_quantity = models.BigIntegerField(null=True, blank=True)
    first_expected = models.BigIntegerField(null=True, blank=True)
    first_counted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    first_counted_at = models.DateTimeField(null=True, blank=True)
    recount_quantity = models.BigIntegerField(null=True, blank=True)
    recount_expected = models.BigIntegerField(null=True, blank=True)
    recounted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recounted_at = models.DateTimeField(null=True, blank=True)
    counted_quantity = models.BigIntegerField(null=True, blank=True, help_text="Final count")
    expected_quantity = models.BigIntegerField(null=True, blank=True, help_text="System quantity at final count")
    variance = models.BigIntegerField(null=True, blank=True, help_text="Counted minus expected")
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    variance_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["count", "location__code", "item__sku", "id"]
        indexes = [models.Index(fields=["location", "status"], name="count_line_location_status_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["count", "location", "item", "lot"], name="count_line_unique_key", nulls_distinct=False
            ),
            models.CheckConstraint(
                condition=(Q(first_quantity__isnull=True) | Q(first_quantity__gte=0))
                & (Q(recount_quantity__isnull=True) | Q(recount_quantity__gte=0)),
                name="count_line_quantities_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count.number} {self.location.code} {self.item.sku}" + (f"/{self.lot.number}" if self.lot else "")
