from __future__ import annotations

from django.contrib.auth import get_user_model
from rest_framework import serializers

from governance.models import ApprovalRequest, ExceptionCase, JobRun, Role, Site, SiteMembership


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "code", "name", "region", "kind", "timezone", "address", "active", "created_at"]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"code": {"validators": []}}


class SiteMembershipSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.filter(is_active=True))
    site = serializers.SlugRelatedField(slug_field="code", queryset=Site.objects.filter(active=True))
    role = serializers.ChoiceField(choices=Role.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            from governance import permissions

            self.fields["site"].queryset = permissions.visible_sites(request.user).filter(active=True)

    class Meta:
        model = SiteMembership
        fields = ["id", "user", "site", "role", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []


class RuleValueField(serializers.JSONField):
    pass


class SiteRuleSerializer(serializers.Serializer):
    key = serializers.CharField()
    site = serializers.CharField(allow_null=True)
    type = serializers.CharField()
    standardization = serializers.ChoiceField(choices=["ENTERPRISE", "LOCAL"])
    description = serializers.CharField()
    default = serializers.JSONField()
    enterprise_value = serializers.JSONField()
    value = serializers.JSONField()
    overridden = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    min_value = serializers.JSONField(allow_null=True)
    max_value = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField())
    unit = serializers.CharField(allow_blank=True)


class SiteRuleWriteSerializer(serializers.Serializer):
    site = serializers.CharField(allow_null=True, required=False, help_text="Site code; null for the enterprise value")
    value = serializers.JSONField()
    reason = serializers.CharField(max_length=2000)


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApprovalSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)
    subject_type = serializers.CharField(source="content_type.model")

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "kind",
            "site",
            "subject_type",
            "object_id",
            "subject_label",
            "reason",
            "rule_key",
            "threshold",
            "value",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
        ]


class ExceptionSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="code.code")
    site = serializers.CharField(source="site.code")
    subject = serializers.CharField(source="subject_label")
    subject_type = serializers.CharField(source="content_type.model")
    assignee = serializers.CharField(source="assignee.username", default=None)
    overdue = serializers.BooleanField(source="is_overdue")

    class Meta:
        model = ExceptionCase
        fields = [
            "id",
            "code",
            "severity",
            "owner_role",
            "site",
            "subject",
            "subject_type",
            "object_id",
            "summary",
            "details",
            "status",
            "opened_at",
            "due_at",
            "overdue",
            "acknowledged_at",
            "resolved_at",
            "resolution_note",
            "assignee",
            "escalation_level",
        ]


class ExceptionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ExceptionAssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(allow_null=True, help_text="Username, or null to unassign")


class JobRunSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None)

    class Meta:
        model = JobRun
        fields = ["id", "kind", "site", "status", "started_at", "finished_at", "counts", "error"]
