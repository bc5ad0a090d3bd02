"""Governance: sites, memberships, site rules, approvals, exceptions, jobs, API plumbing tables."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.api import scopes as token_scopes
from core.downloads import display_value


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    COORDINATOR = "coordinator", "Order coordinator"
    SUPERVISOR = "supervisor", "Warehouse supervisor"
    PLANNER = "planner", "Planner"
    OPERATOR = "operator", "Warehouse operator"
    INTEGRATOR = "integrator", "Integrator"
    AUDITOR = "auditor", "Auditor"
    CREDIT = "credit", "Credit controller"


class Site(models.Model):
    class Kind(models.TextChoices):
        DISTRIBUTION_CENTER = "DC", "Distribution centre"
        BRANCH = "BRANCH", "Branch"
        CROSS_DOCK = "CROSS_DOCK", "Cross-dock"

    class Stage(models.TextChoices):
        """Where the site is in its roll-out (issue 13): ``governance.services.lifecycle`` moves it."""

        PLANNED = "PLANNED", "Planned"
        CUTOVER = "CUTOVER", "Cutover (stock frozen)"
        PILOT = "PILOT", "Pilot"
        LIVE = "LIVE", "Live"

    code = models.SlugField(max_length=20, unique=True, help_text="Short code used everywhere, e.g. DC1.")
    name = models.CharField(max_length=120)
    region = models.CharField(max_length=60, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DISTRIBUTION_CENTER)
    timezone = models.CharField(max_length=60, default="UTC")
    address = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    #: the roll-out stage; in CUTOVER the site's stock is frozen (only cutover postings change it)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PLANNED, db_index=True)
    stage_changed_at = models.DateTimeField(null=True, blank=True)
    #: LIVE sites: the last day of hypercare (null: none, or ended)
    hypercare_ends_on = models.DateField(null=True, blank=True)
    rollout_wave = models.ForeignKey(
        "RolloutWave",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sites",
        help_text="Its rollout wave",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class RolloutWave(models.Model):
    """A group of sites brought live together (issue 13, "Rollout waves"): planned cutover and go-live dates, the
    sites in it (``Site.rollout_wave``; a site is in one wave at most). Whether a wave is on plan is read from its
    sites' stages against these dates (``governance.services.rollout.wave_progress``), never typed."""

    code = models.SlugField(max_length=20, unique=True, help_text="Short code, e.g. WAVE-1")
    name = models.CharField(max_length=120)
    planned_cutover = models.DateField(help_text="The day the wave's sites start their cutover (stock frozen)")
    planned_pilot = models.DateField(null=True, blank=True, help_text="The day they start the pilot")
    planned_go_live = models.DateField(help_text="The day they go live")
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["planned_cutover", "code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_go_live__gte=F("planned_cutover")),
                name="rollout_wave_go_live_after_cutover",
                violation_error_message="Go-live cannot be before the cutover.",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class SiteStageChange(models.Model):
    """One step of a site's roll-out, with who took it, the gate results it was taken on (a snapshot of the
    readiness scorecard) and, when a gate was red, the enterprise admin's recorded waiver."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(max_length=10, choices=Site.Stage.choices)
    to_stage = models.CharField(max_length=10, choices=Site.Stage.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    #: the gate criteria as evaluated at the step: [{key, label, status, value, threshold, evidence}]
    scorecard = models.JSONField(default=list, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    waiver_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["site", "changed_at", "id"]
        indexes = [models.Index(fields=["site", "changed_at"], name="stage_change_site_idx")]

    def __str__(self) -> str:
        return f"{self.site} {self.from_stage} -> {self.to_stage} at {self.changed_at:%Y-%m-%d}"


class SiteMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="site_memberships")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["site__code", "user__username", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="membership_unique_user_site_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.site.code} as {self.role}"


def readable_value(value) -> str:
    """A stored (JSON) value as people read it: yes/no, numbers, a list joined with commas, a mapping as
    ``name: value`` pairs; never JSON or Python's repr (``true``, ``['X']``, ``{'a': 1}``)."""
    if isinstance(value, list | tuple):
        return ", ".join(readable_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {readable_value(v)}" for k, v in value.items())
    return display_value(value)


class SiteRuleValue(models.Model):
    """A value for a declared rule: at enterprise level (site empty) or a local override for one site.

    Rule definitions (type, bounds, default, standardization) live in code, in
    ``governance.rules``; this table holds only the values people set.
    """

    key = models.CharField(max_length=100, db_index=True)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="rule_values")
    value = models.JSONField()
    reason = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who approved the change of a control rule (``updated_by`` asked for it)",
    )
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["key", "site__code"]
        constraints = [
            models.UniqueConstraint(fields=["key", "site"], name="rule_value_unique_key_site", nulls_distinct=False)
        ]

    def __str__(self) -> str:
        return f"{self.key}@{self.site.code if self.site_id else 'enterprise'} = {readable_value(self.value)}"


class RuleChange(models.Model):
    """A requested change of a control rule's site override (set a value, or remove the override): the subject of
    an approval request of kind RULE_CHANGE. The value changes only when another person approves."""

    class Action(models.TextChoices):
        SET = "SET", "Set the override"
        CLEAR = "CLEAR", "Remove the override"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending approval"
        APPLIED = "APPLIED", "Approved and applied"
        REJECTED = "REJECTED", "Rejected"

    key = models.CharField(max_length=100, db_index=True)
    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_changes",
        help_text="Empty: the enterprise value (approved by another enterprise admin)",
    )
    action = models.CharField(max_length=5, choices=Action.choices)
    value = models.JSONField(null=True, blank=True, help_text="The new value (SET), as stored")
    previous_value = models.JSONField(null=True, blank=True, help_text="The effective value when requested")
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key", "site"],
                condition=Q(status="PENDING"),
                nulls_distinct=False,  # one pending change of the enterprise value too
                name="rule_change_one_pending_per_key_site",
            )
        ]

    def __str__(self) -> str:
        what = f"= {readable_value(self.value)}" if self.action == self.Action.SET else "override removed"
        return f"{self.key}@{self.site.code if self.site_id else 'enterprise'} {what}"


class ApprovalRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        CANCELLED = "CANCELLED", "Cancelled"

    kind = models.CharField(max_length=40, db_index=True)
    site = models.ForeignKey(
        Site,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_requests",
        help_text="Empty: an enterprise matter (a change of a control rule's enterprise value), decided by an "
        "enterprise admin",
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    subject_label = models.CharField(max_length=200)
    reason = models.TextField()
    rule_key = models.CharField(max_length=100, blank=True)
    threshold = models.CharField(max_length=60, blank=True)
    value = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_requests_made"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="approvals_decided"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="approval_subject_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "kind"],
                condition=Q(status="PENDING"),
                name="approval_one_pending_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(status="PENDING") | Q(decided_at__isnull=False), name="approval_decided_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_label} ({self.status})"

    @property
    def is_pending(self) -> bool:
        """Still waiting for its decision (templates ask this, never the stored code)."""
        return self.status == self.Status.PENDING


class ExceptionCode(models.Model):
    class Severity(models.TextChoices):
        LOW = "LOW", "Low"
        MEDIUM = "MEDIUM", "Medium"
        HIGH = "HIGH", "High"
        CRITICAL = "CRITICAL", "Critical"

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    sla_minutes = models.PositiveIntegerField()
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ExceptionCase(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        ACKNOWLEDGED = "ACKNOWLEDGED", "Acknowledged"
        RESOLVED = "RESOLVED", "Resolved"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="exceptions")
    code = models.ForeignKey(ExceptionCode, on_delete=models.PROTECT, related_name="cases")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    subject_label = models.CharField(max_length=200)
    summary = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN, db_index=True)
    severity = models.CharField(max_length=10, choices=ExceptionCode.Severity.choices)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="exceptions_assigned"
    )
    opened_at = models.DateTimeField(default=timezone.now, db_index=True)
    due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["site", "status"], name="exception_site_status_idx"),
            models.Index(fields=["content_type", "object_id"], name="exception_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "code"],
                condition=~Q(status="RESOLVED"),
                name="exception_one_open_per_subject_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code.code} {self.subject_label} ({self.status})"

    @property
    def is_overdue(self) -> bool:
        return self.status != self.Status.RESOLVED and self.due_at < timezone.now()


class JobRun(models.Model):
    """One run of a background job, visible to supervisors."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"

    kind = models.CharField(max_length=60, db_index=True)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="job_runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M} {self.status}"


class DocumentSequence(models.Model):
    """Gap-free document numbers (SO-000001): the counter row is locked by the transaction that takes a number."""

    prefix = models.CharField(max_length=10, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}-{self.last_value:06d}"


class ApiToken(models.Model):
    """An API token; only its SHA-256 digest is stored. ``scopes`` narrow what it may do (issue 12, finding 7)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=8, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=token_scopes.all_token_scopes, help_text="Scopes of core.api.scopes")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class IdempotencyRecord(models.Model):
    """The first response to a create request sent with an Idempotency-Key, replayed for repeats."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} key={self.key}"


class EscalationStep(models.Model):
    """One step of an exception's alert ladder, written once: level 0 is the owning role told that the case
    opened; level n is the n-th escalation past the SLA (owner role -> supervisor -> site admin -> region
    admins). The unique (case, level) pair makes each step happen once, however many workers sweep."""

    case = models.ForeignKey(ExceptionCase, on_delete=models.CASCADE, related_name="escalation_steps")
    level = models.PositiveSmallIntegerField()
    target = models.CharField(max_length=20, help_text="Role told at this level, or 'region' for region admins")
    happened_at = models.DateTimeField()
    due_before = models.DateTimeField(help_text="The case's due time that was missed (level 0: its first due time)")
    due_after = models.DateTimeField(help_text="The case's due time after this step")
    recipients = models.JSONField(default=list, blank=True, help_text="Usernames notified")

    class Meta:
        ordering = ["case", "level"]
        constraints = [models.UniqueConstraint(fields=["case", "level"], name="escalation_step_once_per_level")]

    def __str__(self) -> str:
        return f"{self.case_id} level {self.level} ({self.target})"


class Notification(models.Model):
    """A message to one user about one event, on one channel. In-app rows form the user's notification list;
    email rows are delivered immediately (critical) or in the user's digest and then carry ``sent_at``.
    The unique (user, event key, channel) triple means nobody is told twice about the same event."""

    class Channel(models.TextChoices):
        IN_APP = "IN_APP", "In app"
        EMAIL = "EMAIL", "Email"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    event_key = models.CharField(max_length=150, help_text="What happened, e.g. exception:12:level:1")
    exception = models.ForeignKey(
        ExceptionCase, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("content_type", "object_id")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    severity = models.CharField(max_length=10, choices=ExceptionCode.Severity.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Email rows: when the email went out")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "channel", "read_at"], name="notification_user_unread_idx"),
            models.Index(
                fields=["user", "created_at"],
                condition=Q(channel="EMAIL", sent_at__isnull=True),
                name="notification_email_unsent_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event_key", "channel"], name="notification_once_per_user_event_channel"
            ),
            models.CheckConstraint(
                condition=Q(channel="EMAIL") | Q(sent_at__isnull=True), name="notification_only_email_is_sent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.channel} {self.event_key}"


class OutboxMessage(models.Model):
    """Work a commit must trigger, written in that commit (ARCHITECTURE.md, "Ownership, lifecycle and background
    work"): ``governance.services.outbox`` writes it, the relay (``manage.py outbox_relay``) publishes it to Celery
    and re-publishes it when it is not done within its lease (a worker killed, Redis restarted).

    A TASK names a Celery task with its args/kwargs; an EVENT carries a domain event (``topic`` + ``payload``) for
    subscribers (webhooks). ``dedup_key``: at most one row per key waits to be dispatched (a second enqueue of the
    same work before the first is published is absorbed)."""

    class Kind(models.TextChoices):
        TASK = "TASK", "Celery task"
        EVENT = "EVENT", "Domain event"

    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.TASK)
    topic = models.CharField(max_length=150, help_text="TASK: the Celery task name; EVENT: the event type")
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    payload = models.JSONField(default=dict, blank=True, help_text="EVENT: the event body")
    queue = models.CharField(max_length=60, blank=True)
    dedup_key = models.CharField(max_length=200, null=True, blank=True)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    available_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    #: EVENT: the document the event is about (``sales_order:17``): events of one document are ordered by id
    document_key = models.CharField(max_length=80, null=True, blank=True)
    #: EVENT: when its webhook deliveries were written (``governance.services.webhooks.fan_out``)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    #: the writing transaction's id: the ``events/`` feed shows a row only once every transaction that might
    #: still insert a smaller id has ended (``xid < pg_snapshot_xmin``), so a poller's cursor never skips one
    xid = models.BigIntegerField(null=True, blank=True, db_default=RawSQL("(pg_current_xact_id()::text::bigint)", []))

    class Meta:
        ordering = ["id"]
        indexes = [
            # the events/ feed and the per-document order of webhook deliveries
            models.Index(fields=["document_key", "id"], condition=Q(kind="EVENT"), name="outbox_event_doc_idx"),
            models.Index(fields=["topic", "id"], condition=Q(kind="EVENT"), name="outbox_event_topic_idx"),
            # the relay: not done, due, oldest first (dispatched ones are re-checked against their lease)
            models.Index(fields=["available_at", "id"], condition=Q(done_at__isnull=True), name="outbox_pending_idx"),
            # the purge of done rows
            models.Index(fields=["done_at"], condition=Q(done_at__isnull=False), name="outbox_done_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["dedup_key"],
                condition=Q(done_at__isnull=True, dispatched_at__isnull=True, dedup_key__isnull=False),
                name="outbox_one_waiting_row_per_dedup_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.topic} #{self.pk}"


class ServiceHeartbeat(models.Model):
    """A background process says it is alive: the Celery worker, beat and the outbox relay write theirs every few
    seconds (``governance.services.heartbeats``); ``/health/ready/`` and the jobs page read them."""

    name = models.CharField(max_length=40, help_text="worker, beat or outbox_relay")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "-seen_at"]
        constraints = [models.UniqueConstraint(fields=["name", "host", "pid"], name="heartbeat_one_row_per_process")]
        indexes = [models.Index(fields=["name", "seen_at"], name="heartbeat_name_seen_idx")]

    def __str__(self) -> str:
        return f"{self.name} {self.host}:{self.pid} {self.seen_at:%H:%M:%S}"


class WebhookSubscription(models.Model):
    """An integrator's webhook: events of the chosen types at the sites its owner can see are POSTed to ``url``,
    signed with ``secret`` (and, during a rotation's overlap, also with ``previous_secret``)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="webhook_subscriptions")
    name = models.CharField(max_length=100, blank=True)
    url = models.URLField(max_length=500, help_text="http or https")
    event_types = models.JSONField(default=list, blank=True, help_text="Declared event types; empty: every type")
    sites = models.ManyToManyField(
        Site, blank=True, related_name="+", help_text="Empty: every site the owner can see at delivery time"
    )
    #: stock.level_changed: the SKUs whose stock levels are watched (stock events exist only for watched items)
    items = models.JSONField(default=list, blank=True, help_text="SKUs watched for stock.level_changed")
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["secret", "previous_secret"])

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name or self.url} ({self.owner})"


class WebhookDelivery(models.Model):
    """One event for one subscription: its attempts so far and the last answer. Events of one document are
    delivered in order per subscription: a delivery waits while an earlier one of its document is open."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        RETRYING = "RETRYING", "Retrying"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        GAVE_UP = "GAVE_UP", "Given up"
        SKIPPED = "SKIPPED", "Skipped (no longer in scope)"

    OPEN = (Status.PENDING, Status.RETRYING)

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.BigIntegerField(help_text="The event's outbox id (its sequence)")
    event_uuid = models.CharField(max_length=36)
    event_type = models.CharField(max_length=60)
    document_key = models.CharField(max_length=80, blank=True)
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts of this round (a redeliver starts one)")
    redeliveries = models.PositiveIntegerField(default=0)
    response_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhook_one_delivery_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["subscription", "document_key", "event_id"],
                condition=Q(status__in=["PENDING", "RETRYING"]),
                name="webhook_open_per_doc_idx",
            ),
            models.Index(fields=["status", "next_attempt_at"], name="webhook_status_next_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.event_id} -> {self.subscription_id} ({self.status})"
