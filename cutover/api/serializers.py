from __future__ import annotations

from rest_framework import serializers

from governance.models import Site

from ..columns import IMPORT_KINDS
from ..models import ImportBatch, ImportRowError, Reconciliation, ReconciliationLine
from ..selectors import RECONCILIATION_COLUMNS


class ImportBatchSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approval = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    progress_percent = serializers.FloatField(read_only=True)

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
        ]
        read_only_fields = fields


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
            "created_at",
            "lines",
        ]
