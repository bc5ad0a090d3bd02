from __future__ import annotations

from rest_framework import serializers

from core.actions import allowed_actions
from core.api.fields import UsernameField
from governance.api.fields import SiteField
from governance.models import Site

from ..columns import IMPORT_KINDS
from ..models import GoLiveRequest, ImportBatch, ImportRowError, Reconciliation, ReconciliationLine, TrainingRecord
from ..selectors import RECONCILIATION_COLUMNS


class ImportBatchSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approval = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    progress_percent = serializers.FloatField(read_only=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="The steps the requesting user may take on the batch now: validate, post, reconcile, sign_off "
        "(the data owner's), decide_sign_off (the site lead's)"
    )

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "number",
            "site",
            "kind",
            "status",
            "file_name",
            "file_format",
            "total_rows",
            "rows_done",
            "progress_percent",
            "valid_rows",
            "error_count",
            "posted_rows",
            "created_by",
            "created_at",
            "validated_at",
            "validation_seconds",
            "approval",
            "posted_at",
            "post_seconds",
            "allowed_actions",
        ]
        read_only_fields = fields

    def get_allowed_actions(self, batch) -> list[str]:
        request = self.context.get("request")
        return sorted(allowed_actions(batch, getattr(request, "user", None)))


class ImportBatchInputSerializer(serializers.Serializer):
    site = serializers.SlugRelatedField(slug_field="code", queryset=Site.objects.all())
    kind = serializers.ChoiceField(choices=IMPORT_KINDS)
    file = serializers.FileField(required=False, help_text="A .csv (UTF-8) or .xlsx file, as multipart/form-data")
    rows = serializers.ListField(
        child=serializers.DictField(), required=False, max_length=100_000, help_text="Rows as JSON objects"
    )

    def validate(self, attrs):
        if ("file" in attrs) == ("rows" in attrs):
            raise serializers.ValidationError({"file": "Give a file or rows, not both."})
        return attrs


class ImportRowErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportRowError
        fields = ["row", "column", "code", "message"]


class ReconcileInputSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="CSV or XLSX with columns sku, site, units[, value]")
    rows = serializers.ListField(child=serializers.DictField(), required=False, max_length=100_000)

    def validate(self, attrs):
        if ("file" in attrs) == ("rows" in attrs):
            raise serializers.ValidationError({"file": "Give a file or rows, not both."})
        return attrs


class ReconciliationLineSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ReconciliationLine
        fields = list(RECONCILIATION_COLUMNS)


class ReconciliationSerializer(serializers.ModelSerializer):
    batch = serializers.SlugRelatedField(slug_field="number", read_only=True)
    lines = ReconciliationLineSerializer(many=True, read_only=True)
    within_tolerance = serializers.BooleanField(read_only=True)

    class Meta:
        model = Reconciliation
        fields = [
            "id",
            "batch",
            "source",
            "tolerance_percent",
            "within_tolerance",
            "lines_total",
            "lines_outside",
            "legacy_units",
            "system_units",
            "legacy_value",
            "system_value",
            "value_difference",
            "legacy_lines",
            "system_lines",
            "created_at",
            "lines",
        ]


# --- readiness, go-live and training (issue 13) ---------------------------------------------------------------


class CriterionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    status = serializers.CharField(help_text="GREEN, AMBER or RED (RED blocks the step to LIVE)")
    value = serializers.CharField()
    threshold = serializers.CharField()
    evidence = serializers.CharField()
    rule = serializers.CharField(help_text="The site rule(s) behind the threshold")


class ReadinessSerializer(serializers.Serializer):
    site = serializers.CharField()
    stage = serializers.CharField()
    overall = serializers.CharField(help_text="The worst criterion: GREEN, AMBER or RED")
    evaluated_at = serializers.DateTimeField()
    criteria = CriterionSerializer(many=True)


class GoLiveRequestSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    status = serializers.CharField(read_only=True, help_text="PENDING, APPROVED (the site went live) or REJECTED")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True, read_only=True)
    approval = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    stage_change = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    scorecard = CriterionSerializer(many=True, read_only=True, help_text="The criteria when the request was made")

    class Meta:
        model = GoLiveRequest
        fields = [
            "id",
            "site",
            "status",
            "note",
            "scorecard",
            "requested_by",
            "requested_at",
            "approval",
            "decided_by",
            "decided_at",
            "waiver_reason",
            "stage_change",
        ]
        read_only_fields = fields


class GoLiveRequestInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class GoLiveDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    waiver_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=400,
        help_text="Approve only: waives the red criteria at decision time (enterprise admins), recorded with the step",
    )


class TrainingRecordSerializer(serializers.ModelSerializer):
    site = SiteField()
    user = UsernameField()
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    certified_on = serializers.DateField(required=False, help_text="Empty: today at the site")
    valid = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRecord
        fields = [
            "id",
            "user",
            "site",
            "process",
            "certified_on",
            "valid_until",
            "trainer",
            "note",
            "revoked_at",
            "valid",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["id", "revoked_at", "valid", "recorded_by", "recorded_at"]

    def get_valid(self, obj) -> bool:
        from governance.services.sites import site_local_date

        today = site_local_date(obj.site)
        return (
            obj.revoked_at is None
            and obj.certified_on <= today
            and (obj.valid_until is None or obj.valid_until >= today)
        )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["user"] = instance.user.username
        return data
