"""Import batches (one uploaded file of one kind for one site), their row errors, and reconciliations of posted
opening balances against legacy control totals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.models import ApprovalRequest, Site
from inventory.models import Item


class ImportBatch(models.Model):
    class Kind(models.TextChoices):
        ITEMS = "ITEMS", "Items (with units and barcodes)"
        LOCATIONS = "LOCATIONS", "Locations and zones"
        CUSTOMERS = "CUSTOMERS", "Customers"
        SUPPLIERS = "SUPPLIERS", "Suppliers"
        OPENING_BALANCES = "OPENING_BALANCES", "Opening balances"
        SITE_RULES = "SITE_RULES", "Site rule overrides"

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

    #: a batch in these states may be (re)validated
    VALIDATABLE = (Status.DRAFT, Status.VALIDATED, Status.INVALID, Status.REJECTED)

    number = models.CharField(max_length=20, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="import_batches")
    kind = models.CharField(max_length=20, choices=Kind.choices)
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
    within_tolerance = models.BooleanField()

    class Meta:
        ordering = ["reconciliation", "within_tolerance", "sku"]

    def __str__(self) -> str:
        return f"{self.sku}: {self.difference_units:+d}"
