"""Customers, sales orders, allocations and the record of every allocation decision."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import Site
from inventory.models import Item


class Customer(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    email = models.EmailField(blank=True)
    ship_to_address = models.TextField(blank=True)
    region = models.CharField(max_length=60, blank=True, help_text="Used to prefer sites of the same region")
    home_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="home_customers")
    credit_limit = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, default="USD")
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    credit_overdue = models.BooleanField(default=False, help_text="Has overdue invoices: every release is held")
    priority = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(5)], help_text="Priority tier, 1 (highest) to 5"
    )
    allow_partial_shipment = models.BooleanField(
        default=True, help_text="Ship what is available (and split across sites); off: hold until complete"
    )
    allow_backorders = models.BooleanField(default=True)
    allow_substitution = models.BooleanField(default=False)
    min_shelf_life_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(3650)],
        help_text="Minimum remaining shelf life (days) of lots picked for this customer; the stricter of this and "
        "the site's rule applies",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="customer_credit_limit_not_negative"),
            models.CheckConstraint(condition=Q(priority__gte=1) & Q(priority__lte=5), name="customer_priority_1_5"),
        ]

    def __str__(self) -> str:
        return self.code


class SalesOrder(models.Model):
    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        VALIDATED = "VALIDATED", "Validated"
        ON_HOLD = "ON_HOLD", "On hold"
        RELEASED = "RELEASED", "Released"
        ALLOCATED = "ALLOCATED", "Allocated"
        PARTIALLY_ALLOCATED = "PARTIALLY_ALLOCATED", "Partially allocated"
        BACKORDERED = "BACKORDERED", "Backordered"
        PICKING = "PICKING", "Picking"
        PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED", "Partially shipped"
        SHIPPED = "SHIPPED", "Shipped"
        CANCELLED = "CANCELLED", "Cancelled"

    class Channel(models.TextChoices):
        WEB = "WEB", "Web shop"
        EDI = "EDI", "EDI"
        PHONE = "PHONE", "Phone"
        EMAIL = "EMAIL", "Email"
        SALES_REP = "SALES_REP", "Sales representative"
        API = "API", "API"

    #: statuses in which allocation may still add to the order
    ALLOCATABLE = (Status.RELEASED, Status.PARTIALLY_ALLOCATED, Status.BACKORDERED, Status.ALLOCATED)
    #: statuses the allocation engine works on (picking orders may need a short-picked remainder re-allocated)
    ENGINE = (
        Status.RELEASED,
        Status.PARTIALLY_ALLOCATED,
        Status.BACKORDERED,
        Status.ALLOCATED,
        Status.PICKING,
        Status.PARTIALLY_SHIPPED,
    )
    #: statuses whose unshipped value counts against the customer's credit
    OPEN_FOR_CREDIT = (
        Status.RELEASED,
        Status.PARTIALLY_ALLOCATED,
        Status.BACKORDERED,
        Status.ALLOCATED,
        Status.PICKING,
        Status.PARTIALLY_SHIPPED,
    )
    CANCELLABLE = (
        Status.DRAFT,
        Status.VALIDATED,
        Status.ON_HOLD,
        Status.RELEASED,
        Status.ALLOCATED,
        Status.PARTIALLY_ALLOCATED,
        Status.BACKORDERED,
    )

    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    site = models.ForeignKey(
        Site,
        on_delete=models.PROTECT,
        related_name="sales_orders",
        help_text="Owning site: the ship-from site, else the customer's home site",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.API)
    customer_reference = models.CharField(max_length=60, blank=True)
    priority = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(5)])
    promised_date = models.DateField()
    ship_from = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Fill only from this site"
    )
    ship_to_address = models.TextField(blank=True)
    carrier = models.CharField(max_length=20, blank=True, db_index=True, help_text="Carrier code, e.g. UPS")
    route = models.CharField(max_length=20, blank=True, db_index=True, help_text="Delivery route code")
    cutoff = models.DateTimeField(null=True, blank=True, help_text="Ship-by time (carrier pickup cutoff)")
    currency = models.CharField(max_length=3, default="USD")
    allow_duplicate_lines = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    hold_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    validated_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True, db_index=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"], name="order_customer_status_idx"),
            models.Index(fields=["status", "promised_date"], name="order_status_promise_idx"),
            models.Index(fields=["updated_at", "id"], name="order_feed_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(priority__gte=1) & Q(priority__lte=5), name="order_priority_1_5"),
        ]

    def __str__(self) -> str:
        return self.number


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="order_lines")
    unit = models.CharField(max_length=12, help_text="Unit the quantity was entered in")
    unit_factor = models.PositiveIntegerField(default=1)
    quantity = models.DecimalField(max_digits=14, decimal_places=3, help_text="As entered, in `unit`")
    quantity_base = models.BigIntegerField(help_text="In the item's base unit")
    unit_price = models.DecimalField(max_digits=12, decimal_places=2, help_text="Per entered unit")
    ship_from = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    allocated_quantity = models.BigIntegerField(default=0)
    backordered_quantity = models.BigIntegerField(default=0)
    picked_quantity = models.BigIntegerField(default=0)
    shipped_quantity = models.BigIntegerField(default=0)
    first_shipped_at = models.DateTimeField(null=True, blank=True)
    last_shipped_at = models.DateTimeField(null=True, blank=True)
    backordered_since = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_unique_number"),
            models.CheckConstraint(condition=Q(quantity_base__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(allocated_quantity__gte=0)
                & Q(backordered_quantity__gte=0)
                & Q(picked_quantity__gte=0)
                & Q(shipped_quantity__gte=0),
                name="order_line_counters_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(allocated_quantity__lte=F("quantity_base") - F("shipped_quantity"))
                & Q(backordered_quantity__lte=F("quantity_base")),
                name="order_line_counters_within_quantity",
            ),
        ]
        indexes = [
            # KPIs by first shipment (order fill rate; the supervisor dashboard's tile reads the last 7 days)
            models.Index(
                fields=["first_shipped_at"],
                name="order_line_first_shipped_idx",
                condition=Q(first_shipped_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.line_number}"

    @property
    def open_quantity(self) -> int:
        """Units still to be claimed: ordered, less what is allocated or already shipped."""
        return self.quantity_base - self.allocated_quantity - self.shipped_quantity

    @property
    def value(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


class Allocation(models.Model):
    """A claim of ``quantity`` units of ``item`` at ``site`` for an order line; the sum of open claims per
    (item, site) equals ``StockLevel.allocated``."""

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        RELEASED = "RELEASED", "Released"
        CONSUMED = "CONSUMED", "Consumed (shipped)"

    line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="allocations")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="allocations")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.BigIntegerField(help_text="Currently claimed")
    original_quantity = models.BigIntegerField()
    is_substitute = models.BooleanField(default=False)
    rule = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["line", "id"]
        indexes = [
            models.Index(fields=["item", "site"], name="allocation_item_site_idx", condition=Q(status="OPEN")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=0) & Q(quantity__lte=F("original_quantity")),
                name="allocation_quantity_within_original",
            ),
            models.CheckConstraint(condition=~Q(status="OPEN") | Q(quantity__gt=0), name="allocation_open_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line} {self.quantity}@{self.site_id}"

    @property
    def is_open(self) -> bool:
        """Still claims its units (templates ask this, never the stored code)."""
        return self.status == self.Status.OPEN


class AllocationDecision(models.Model):
    """Why the engine did what it did, line by line, so a coordinator can see why an order was split or
    backordered."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="decisions")
    line = models.ForeignKey(SalesOrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="decisions")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    rule = models.CharField(max_length=30)
    quantity = models.BigIntegerField(default=0)
    message = models.CharField(max_length=400)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["order", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.rule}: {self.message}"


class Supplier(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    email = models.EmailField(blank=True)
    lead_time_days = models.PositiveSmallIntegerField(default=7)
    requires_inspection = models.BooleanField(default=False, help_text="Everything received lands on HOLD")
    over_receipt_tolerance_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Overrides the site's over-receipt tolerance for this supplier",
    )
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PurchaseOrder(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED", "Partially received"
        RECEIVED = "RECEIVED", "Received"
        CLOSED = "CLOSED", "Closed"
        CANCELLED = "CANCELLED", "Cancelled"

    RECEIVABLE = (Status.OPEN, Status.PARTIALLY_RECEIVED)

    number = models.CharField(max_length=20, unique=True)
    supplier = models.ForeignKey(Supplier, on_delete=models.PROTECT, related_name="purchase_orders")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="purchase_orders")
    expected_date = models.DateField(db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    supplier_reference = models.CharField(max_length=60, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["updated_at", "id"], name="purchase_order_feed_idx")]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    purchase_order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="purchase_lines")
    quantity = models.BigIntegerField(help_text="Ordered, base units")
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, help_text="Per base unit")
    received_quantity = models.BigIntegerField(default=0, help_text="Good units received")
    rejected_quantity = models.BigIntegerField(default=0, help_text="Damaged or rejected units")
    history = HistoricalRecords()

    class Meta:
        ordering = ["purchase_order", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["purchase_order", "line_number"], name="po_line_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="po_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__gte=0) & Q(rejected_quantity__gte=0),
                name="po_line_received_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order.number}/{self.line_number}"

    @property
    def open_quantity(self) -> int:
        return max(self.quantity - self.received_quantity - self.rejected_quantity, 0)


class ShipNoticeLine(models.Model):
    """Advance ship notice: the lots and quantities the supplier says are coming for a PO line."""

    po_line = models.ForeignKey(PurchaseOrderLine, on_delete=models.CASCADE, related_name="ship_notice_lines")
    lot_number = models.CharField(max_length=60, blank=True)
    expiry_date = models.DateField(null=True, blank=True)
    quantity = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["po_line", "id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="asn_quantity_positive")]

    def __str__(self) -> str:
        return f"ASN {self.po_line} lot={self.lot_number} {self.quantity}"


class TransferOrder(models.Model):
    class Status(models.TextChoices):
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        APPROVED = "APPROVED", "Approved"
        PICKING = "PICKING", "Picking at the source"
        SHIPPED = "SHIPPED", "Shipped (in transit)"
        RECEIVED = "RECEIVED", "Received"
        CANCELLED = "CANCELLED", "Cancelled"

    number = models.CharField(max_length=20, unique=True)
    from_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="transfers_out")
    to_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    priority = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1), MaxValueValidator(5)])
    reason = models.CharField(max_length=300, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    cycle_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Shipment to receipt")
    updated_at = models.DateTimeField(auto_now=True, help_text="Last change (the change feed's order)")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["updated_at", "id"], name="transfer_feed_idx")]
        constraints = [models.CheckConstraint(condition=~Q(from_site=F("to_site")), name="transfer_between_sites")]

    def __str__(self) -> str:
        return self.number


class TransferOrderLine(models.Model):
    transfer = models.ForeignKey(TransferOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="transfer_lines")
    quantity = models.BigIntegerField()
    allocated_quantity = models.BigIntegerField(
        default=0, help_text="Claimed at the source (counted in its stock level's allocated) while picking"
    )
    picked_quantity = models.BigIntegerField(default=0)
    shipped_quantity = models.BigIntegerField(default=0)
    received_quantity = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["transfer", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "line_number"], name="transfer_line_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(allocated_quantity__gte=0) & Q(allocated_quantity__lte=F("quantity")),
                name="transfer_line_allocated_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.transfer.number}/{self.line_number}"


class ReturnAuthorization(models.Model):
    """An RMA: the customer may send back shipped units of an order's lines. Above the site's value rule it
    needs approval first; receiving records inspection and a disposition per line, and a credit that needs
    approval above its own threshold."""

    class Status(models.TextChoices):
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        AUTHORIZED = "AUTHORIZED", "Authorized"
        RECEIVED = "RECEIVED", "Received and disposed"
        REJECTED = "REJECTED", "Rejected"

    class CreditStatus(models.TextChoices):
        NONE = "NONE", "Not computed yet"
        PENDING_APPROVAL = "PENDING_APPROVAL", "Pending approval"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"

    #: statuses whose line quantities count as returned (or about to be) against the order lines
    OPEN = (Status.PENDING_APPROVAL, Status.AUTHORIZED)

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="returns", help_text="Receiving site")
    sales_order = models.ForeignKey(SalesOrder, on_delete=models.PROTECT, related_name="returns")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    value = models.DecimalField(max_digits=14, decimal_places=2, help_text="Authorized units at their order price")
    note = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    authorized_at = models.DateTimeField(null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField(null=True, blank=True, help_text="When the return arrived at the dock")
    disposed_at = models.DateTimeField(null=True, blank=True, help_text="When every line had its disposition")
    turnaround_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Receipt to disposition")
    credit_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    credit_status = models.CharField(max_length=20, choices=CreditStatus.choices, default=CreditStatus.NONE)
    credit_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credit_decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "status"], name="rma_site_status_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0) & Q(credit_amount__gte=0), name="rma_amounts_not_negative")
        ]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    class Reason(models.TextChoices):
        DAMAGED = "DAMAGED", "Arrived damaged"
        DEFECTIVE = "DEFECTIVE", "Defective"
        WRONG_ITEM = "WRONG_ITEM", "Wrong item shipped"
        NOT_NEEDED = "NOT_NEEDED", "No longer needed"
        LATE = "LATE", "Arrived too late"
        EXPIRED = "EXPIRED", "Expired or short dated"
        OTHER = "OTHER", "Other"

    class Inspection(models.TextChoices):
        GOOD = "GOOD", "Good, resaleable"
        DAMAGED = "DAMAGED", "Damaged"
        DEFECTIVE = "DEFECTIVE", "Defective"
        NOT_INSPECTED = "NOT_INSPECTED", "Not inspected"

    class Disposition(models.TextChoices):
        RESTOCK = "RESTOCK", "Restock (putaway to available)"
        QUARANTINE = "QUARANTINE", "Quarantine (hold)"
        SCRAP = "SCRAP", "Scrap"
        RETURN_TO_VENDOR = "RETURN_TO_VENDOR", "Return to vendor"

    rma = models.ForeignKey(ReturnAuthorization, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    order_line = models.ForeignKey(SalesOrderLine, on_delete=models.PROTECT, related_name="return_lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.BigIntegerField(help_text="Authorized, base units")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    unit_price = models.DecimalField(max_digits=14, decimal_places=4, help_text="Order price per base unit")
    received_quantity = models.BigIntegerField(default=0)
    lot_number = models.CharField(max_length=60, blank=True)
    inspection = models.CharField(max_length=14, choices=Inspection.choices, blank=True)
    inspection_note = models.CharField(max_length=300, blank=True)
    disposition = models.CharField(max_length=16, choices=Disposition.choices, blank=True)
    scrap_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    credit_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    disposed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rma", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["rma", "line_number"], name="rma_line_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="rma_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__gte=0) & Q(received_quantity__lte=F("quantity")),
                name="rma_line_received_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rma.number}/{self.line_number}"


class ReturnDisposition(models.Model):
    """One part of a received return line with its own inspection and disposition: a line of 4 can come back as
    3 good units restocked and 1 damaged unit scrapped. Every received line has at least one; the line keeps the
    totals (received quantity, scrap value, credit) and, when its parts agree, their inspection and disposition
    (a line split between dispositions has none of its own: see its parts)."""

    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, related_name="dispositions")
    quantity = models.BigIntegerField(help_text="Base units")
    lot_number = models.CharField(max_length=60, blank=True)
    inspection = models.CharField(max_length=14, choices=ReturnLine.Inspection.choices)
    disposition = models.CharField(max_length=16, choices=ReturnLine.Disposition.choices)
    note = models.CharField(max_length=300, blank=True)
    scrap_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0.00"))
    disposed_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["line", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="rma_disposition_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.line}: {self.quantity} {self.disposition}"


# --- replenishment -----------------------------------------------------------------------------------------


class ReplenishmentPolicy(models.Model):
    """How one item is replenished at one site: MIN_MAX (reorder at ``min_quantity``, order up to
    ``max_quantity``) or REORDER_POINT (computed from demand history, lead time and ``service_level``; min and
    max are floors under the computed levels). Purchases respect ``min_order_quantity`` and ``pack_multiple``."""

    class Method(models.TextChoices):
        MIN_MAX = "MIN_MAX", "Min / max"
        REORDER_POINT = "REORDER_POINT", "Reorder point from demand"

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="replenishment_policies")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="replenishment_policies")
    method = models.CharField(max_length=14, choices=Method.choices, default=Method.MIN_MAX)
    min_quantity = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    max_quantity = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    service_level = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.9500"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.9999"))],
        help_text="Probability of not running out during the lead time (REORDER_POINT), 0.5 to 0.9999",
    )
    review_days = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(365)], help_text="Days between reviews: demand they cover"
    )
    lead_time_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(365)], help_text="Empty: the supplier's lead time"
    )
    pack_multiple = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    min_order_quantity = models.PositiveIntegerField(default=0)
    supplier = models.ForeignKey(
        Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="replenishment_policies"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "item"]
        verbose_name_plural = "replenishment policies"
        constraints = [
            models.UniqueConstraint(fields=["site", "item"], name="replenishment_policy_unique_site_item"),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=0) & Q(max_quantity__gte=F("min_quantity")),
                name="replenishment_policy_min_max",
            ),
            models.CheckConstraint(condition=Q(pack_multiple__gte=1), name="replenishment_policy_pack_positive"),
            models.CheckConstraint(
                condition=Q(service_level__gte=Decimal("0.5")) & Q(service_level__lt=1),
                name="replenishment_policy_service_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.site_id} {self.method}"


class PickFacePolicy(models.Model):
    """A PICK location's min/max for one item: at or below ``min_quantity`` it is refilled from reserve
    storage up to ``max_quantity``."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="pick_face_policies")
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="pick_face_policies")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="pick_face_policies")
    min_quantity = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    max_quantity = models.BigIntegerField(validators=[MinValueValidator(1)])
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "location", "item"]
        verbose_name_plural = "pick face policies"
        constraints = [
            models.UniqueConstraint(fields=["location", "item"], name="pick_face_policy_unique_location_item"),
            models.CheckConstraint(
                condition=Q(min_quantity__gte=0) & Q(max_quantity__gt=F("min_quantity")),
                name="pick_face_policy_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.location_id}/{self.item_id} {self.min_quantity}-{self.max_quantity}"


class ReplenishmentRun(models.Model):
    """One planning run for one site (queued by the API or the schedule, done by the replenishment worker)."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    class Trigger(models.TextChoices):
        REQUEST = "REQUEST", "Requested"
        SCHEDULE = "SCHEDULE", "Scheduled"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="replenishment_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.REQUEST)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "created_at"], name="replenishment_run_site_idx")]

    def __str__(self) -> str:
        return f"RUN-{self.pk} {self.site_id} {self.status}"


class ReplenishmentSuggestion(models.Model):
    """What a planning run proposes for one item at one site: a TRANSFER from an overstocked site or a
    PURCHASE from the supplier. ``reason`` holds every number behind it. A later run updates an open
    suggestion in place (one open suggestion per site, item, kind and source) or supersedes it."""

    class Kind(models.TextChoices):
        PURCHASE = "PURCHASE", "Purchase"
        TRANSFER = "TRANSFER", "Transfer"

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        ACCEPTED = "ACCEPTED", "Accepted"
        DISMISSED = "DISMISSED", "Dismissed"
        SUPERSEDED = "SUPERSEDED", "Superseded by a later run"

    run = models.ForeignKey(ReplenishmentRun, on_delete=models.PROTECT, related_name="suggestions")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="replenishment_suggestions")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="replenishment_suggestions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.BigIntegerField()
    source_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0.00"))
    reason = models.JSONField(default=dict, blank=True, help_text="Every number that went into the suggestion")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    auto_accepted = models.BooleanField(default=False)
    purchase_order = models.ForeignKey(
        PurchaseOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="replenishment_suggestions"
    )
    transfer_order = models.ForeignKey(
        TransferOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="replenishment_suggestions"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    #: decisions (accept, dismiss, auto-accept) are in history; the planning run writes rows in bulk without it
    history = HistoricalRecords(excluded_fields=["reason"])

    class Meta:
        ordering = ["site", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["site", "status"], name="repl_suggestion_site_status"),
            models.Index(
                fields=["item", "source_site"],
                name="repl_suggestion_open_transfer",
                condition=Q(status="OPEN", kind="TRANSFER"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "item", "kind", "source_site"],
                condition=Q(status="OPEN"),
                nulls_distinct=False,
                name="repl_suggestion_one_open",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="repl_suggestion_quantity_positive"),
            models.CheckConstraint(
                condition=(Q(kind="PURCHASE") & Q(supplier__isnull=False) & Q(source_site__isnull=True))
                | (Q(kind="TRANSFER") & Q(source_site__isnull=False) & Q(supplier__isnull=True)),
                name="repl_suggestion_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.item_id}@{self.site_id} x{self.quantity}"
