from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.NUMBER)
class NumberField(serializers.Field):
    """A number as computed: counts stay integers, ratios and hours are decimals."""

    def to_representation(self, value):
        return value


class KpiSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    higher_is_better = serializers.BooleanField(allow_null=True)
    value = NumberField(allow_null=True)
    numerator = NumberField(allow_null=True)
    denominator = NumberField(allow_null=True)
    breakdown = serializers.JSONField(help_text="Per-bucket, per-site, per-supplier ... rows the KPI defines")


class KpiReportSerializer(serializers.Serializer):
    site = serializers.CharField(allow_null=True, help_text="Site code; null: the whole network")
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    time_zone = serializers.CharField(help_text="Time zone of the period boundaries")
    kpis = KpiSerializer(many=True)
