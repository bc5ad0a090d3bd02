"""Import batches (one uploaded file of one kind for one site), their row errors, and reconciliations of posted
opening balances against legacy control totals."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from governance.models import ApprovalRequest, Site, SiteStageChange
from inventory.models import Item

from . import policy


class ImportBatch(models.Model):
    class Kind(models.TextChoices):
        ITEMS = "ITEMS", "Items (with units and barcodes)"
        LOCATIONS = "LOCATIONS", "Locations and zones"
        CUSTOMERS = "CUSTOMERS", "Customers"
        SUPPLIERS = "SUPPLIERS", "Suppliers"
        OPENING_BALANCES = "OPENING_BALANCES", "Opening balances"
        SITE_RULES = "SITE_RULES", "Site rule overrides"
        PUTAWAY_RULES = "PUTAWAY_RULES", "Putaway rules"
        REPLENISHMENT_POLICIES = "REPLENISHMENT_POLICIES", "Replenishment policies and pick-face min/max"
        OPEN_PURCHASE_ORDERS = "OPEN_PURCHASE_ORDERS", "Open purchase orders"
        OPEN_SALES_ORDERS = "OPEN_SALES_ORDERS", "Open sales orders (with allocations)"
        TRANSFERS_IN_TRANSIT = "TRANSFERS_IN_TRANSIT", "Transfers in transit"

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Uploaded, not validated"
        VALIDATING = "VALIDATING", "Dry run in progress"
        VALIDATED = "VALIDATED", "Dry run passed"
        INVALID = "INVALID", "Dry run found errors"
        AWAITING_APPROVAL = "AWAITING_APPROVAL", "Post awaiting approval"
        REJECTED = "REJECTED", "Post rejected"
        POSTING = "POSTING", "Posting"
        POSTED = "POSTED", "Posted"

    class Format(models.TextChoices):
        CSV = "CSV", "CSV"
        XLSX = "XLSX", "Excel (XLSX)"
        JSON = "JSON", "JSON rows"

    #: a batch in these states may be (re)validated (cutover.policy, the one answer)
    VALIDATABLE = tuple(sorted(policy.VALIDATABLE))

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="import_batches")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_format = models.CharField(max_length=4, choices=Format.choices)
    content = models.BinaryField(help_text="The uploaded file as received (JSON rows: their JSON)")
    content_sha256 = models.CharField(max_length=64)
    total_rows = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0, help_text="Progress of the running dry run")
    valid_rows = models.PositiveIntegerField(default=0)
    error_count = models.PositiveIntegerField(default=0)
    posted_rows = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    validation_started_at = models.DateTimeField(null=True, blank=True)
    validated_at = models.DateTimeField(null=True, blank=True)
    validation_seconds = models.FloatField(null=True, blank=True)
    approval = models.ForeignKey(
        ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="Of the post"
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(null=True, blank=True)
    post_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["site", "status"], name="import_batch_site_status_idx")]
        constraints = [
            # the idempotency guard: a batch is POSTED exactly when it has a post time, and it gets one only once
            models.CheckConstraint(
                condition=Q(status="POSTED", posted_at__isnull=False)
                | (~Q(status="POSTED") & Q(posted_at__isnull=True)),
                name="import_batch_posted_has_time",
            ),
            models.CheckConstraint(condition=Q(rows_done__lte=models.F("total_rows")), name="import_batch_progress"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def progress_percent(self) -> float:
        return round(100.0 * self.rows_done / self.total_rows, 1) if self.total_rows else 100.0

    # the states the pages show differently (templates ask these, never the stored codes)
    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_validating(self) -> bool:
        return self.status == self.Status.VALIDATING

    @property
    def is_posted(self) -> bool:
        return self.status == self.Status.POSTED


class ImportRowError(models.Model):
    """One problem of one row (row 0: the file itself, e.g. a missing column). ``row`` is the row as a spreadsheet
    numbers it (the header is row 1); for JSON rows, the row's position counted from 1."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField()
    column = models.CharField(max_length=60, blank=True)
    code = models.CharField(max_length=40)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["batch", "row", "id"]
        indexes = [models.Index(fields=["batch", "row"], name="import_error_batch_row_idx")]

    def __str__(self) -> str:
        return f"{self.batch_id} row {self.row} {self.column}: {self.message}"


class ImportedDocument(models.Model):
    """An in-flight document a posted batch created (open purchase order, open sales order, transfer in transit):
    the legacy number it had and the document the owning app made for it. A legacy number is imported once per
    kind (the dry run refuses it again); reconciliation reads the batch's documents here."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(max_length=30, choices=ImportBatch.Kind.choices)
    legacy_number = models.CharField(max_length=40)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    document = GenericForeignKey("content_type", "object_id")
    number = models.CharField(max_length=20, help_text="The document's number in this system")
    lines = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["batch", "legacy_number"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "legacy_number"], name="imported_document_once_per_kind")
        ]
        indexes = [models.Index(fields=["content_type", "object_id"], name="imported_document_object_idx")]

    def __str__(self) -> str:
        return f"{self.legacy_number} -> {self.number}"


class Reconciliation(models.Model):
    """A posted opening-balance batch compared with the legacy system's control totals (units per item and site,
    optionally their value). Each line is inside or outside the site's tolerance
    (rule ``cutover.reconciliation_tolerance_percent``)."""

    class Source(models.TextChoices):
        UPLOAD = "UPLOAD", "Uploaded file"
        TYPED = "TYPED", "Typed in"

    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="reconciliations")
    source = models.CharField(max_length=6, choices=Source.choices)
    tolerance_percent = models.DecimalField(max_digits=6, decimal_places=2)
    lines_total = models.PositiveIntegerField(default=0)
    lines_outside = models.PositiveIntegerField(default=0)
    legacy_units = models.BigIntegerField(default=0)
    system_units = models.BigIntegerField(default=0)
    legacy_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    system_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    value_difference = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    legacy_lines = models.PositiveIntegerField(null=True, blank=True, help_text="Open order and transfer batches")
    system_lines = models.PositiveIntegerField(null=True, blank=True, help_text="Open order and transfer batches")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.batch.number} reconciliation {self.pk}"

    @property
    def within_tolerance(self) -> bool:
        return self.lines_outside == 0


class ReconciliationLine(models.Model):
    reconciliation = models.ForeignKey(Reconciliation, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=40)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    legacy_units = models.BigIntegerField()
    system_units = models.BigIntegerField()
    difference_units = models.BigIntegerField(help_text="System minus legacy")
    difference_percent = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Empty: legacy has none"
    )
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    legacy_value = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    system_value = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    value_difference = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    legacy_lines = models.PositiveIntegerField(
        null=True, blank=True, help_text="Open order and transfer batches: the item's open lines in the legacy system"
    )
    system_lines = models.PositiveIntegerField(null=True, blank=True, help_text="The same, in this system")
    within_tolerance = models.BooleanField()

    class Meta:
        ordering = ["reconciliation", "within_tolerance", "sku"]

    def __str__(self) -> str:
        return f"{self.sku}: {self.difference_units:+d}"


class TrainingRecord(models.Model):
    """A user trained and certified for one process at one site (issue 13, the readiness scorecard's "users
    trained"). Valid from ``certified_on`` up to and including ``valid_until`` (empty: does not expire) unless
    revoked. Recorded by the site's admins or an enterprise admin (``cutover.services.training``)."""

    class Process(models.TextChoices):
        RECEIVING = "RECEIVING", "Receiving"
        PUTAWAY = "PUTAWAY", "Putaway"
        PICKING = "PICKING", "Picking"
        SHIPPING = "SHIPPING", "Packing and shipping"
        COUNTING = "COUNTING", "Cycle counting"
        EXCEPTIONS = "EXCEPTIONS", "Exceptions and approvals"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="training_records")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="training_records")
    process = models.CharField(max_length=12, choices=Process.choices)
    certified_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: does not expire")
    trainer = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=300, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site", "user", "process", "-certified_on", "-id"]
        indexes = [models.Index(fields=["site", "process"], name="training_site_process_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("certified_on")),
                name="training_valid_after_certified",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.process} @ {self.site.code} ({self.certified_on})"


class GoLiveRequest(models.Model):
    """The go / no-go request of a PILOT site: the scorecard as it stood when asked (``scorecard``), decided
    through an approval of kind GO_LIVE by an enterprise admin other than the requester. Approved: the site moves
    to LIVE (``stage_change``, which holds the scorecard as it stood at the decision and any waiver)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Awaiting the decision"
        APPROVED = "APPROVED", "Go: the site went live"
        REJECTED = "REJECTED", "No-go"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="go_live_requests")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.CharField(max_length=500, blank=True)
    scorecard = models.JSONField(default=list, blank=True, help_text="The criteria when the request was made")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approval = models.ForeignKey(ApprovalRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    waiver_reason = models.CharField(max_length=500, blank=True)
    stage_change = models.ForeignKey(SiteStageChange, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["site"], condition=Q(status="PENDING"), name="go_live_one_pending_per_site"
            ),
            models.CheckConstraint(
                condition=Q(status="PENDING") | Q(decided_at__isnull=False), name="go_live_decided_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"Go-live {self.site.code} #{self.pk}"

    @property
    def red_at_request(self) -> list[dict]:
        return [c for c in self.scorecard if c.get("status") == "RED"]
