from __future__ import annotations

import functools
import zoneinfo

from rest_framework import serializers

from core.api.fields import UsernameField
from governance import permissions
from governance.api.fields import SiteField, UserField
from governance.models import ApprovalRequest, ExceptionCase, JobRun, Role, Site, SiteMembership, SiteStageChange


@functools.cache
def known_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = [
            "id",
            "code",
            "name",
            "region",
            "kind",
            "timezone",
            "address",
            "active",
            "stage",
            "stage_changed_at",
            "hypercare_ends_on",
            "created_at",
        ]
        read_only_fields = ["id", "stage_changed_at", "hypercare_ends_on", "created_at"]
        extra_kwargs = {
            "code": {"validators": []},  # uniqueness is the service's answer (400 on `code`)
            "stage": {"help_text": "Set when the site is created (default PLANNED); then moved by stage/ only"},
        }

    def validate_timezone(self, value: str) -> str:
        if value not in known_time_zones():
            raise serializers.ValidationError("Not a known time zone (e.g. Europe/Berlin, UTC).", code="invalid")
        return value


class StageChangeInputSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Site.Stage.choices, help_text="The stage to move to")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    waiver_reason = serializers.CharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="Enterprise admins: move although a gate is red, for this recorded reason",
    )


class SiteStageChangeSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    changed_by = serializers.CharField(source="changed_by.username", default=None, allow_null=True, read_only=True)
    waived_by = serializers.CharField(source="waived_by.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = SiteStageChange
        fields = [
            "id",
            "site",
            "from_stage",
            "to_stage",
            "changed_at",
            "changed_by",
            "note",
            "scorecard",
            "waived_by",
            "waiver_reason",
        ]
        read_only_fields = fields


class SiteMembershipSerializer(serializers.ModelSerializer):
    user = UsernameField()  # looked up by add_membership after its permission check
    site = SiteField()
    role = serializers.ChoiceField(choices=Role.choices)

    class Meta:
        model = SiteMembership
        fields = ["id", "user", "site", "role", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # a duplicate is a 409 from the service


class SiteRuleSerializer(serializers.Serializer):
    """One rule's effective value at one site."""

    key = serializers.CharField()
    site = serializers.CharField(allow_null=True, help_text="Site code; null for the enterprise level")
    type = serializers.ChoiceField(choices=["int", "decimal", "bool", "choice"])
    standardization = serializers.ChoiceField(choices=["ENTERPRISE", "LOCAL"])
    description = serializers.CharField()
    default = serializers.JSONField(help_text="Default declared in code")
    enterprise_value = serializers.JSONField(help_text="The value every site has unless it overrides it")
    value = serializers.JSONField(help_text="Effective value at this site (decimals as strings)")
    overridden = serializers.BooleanField(help_text="The site deviates from the enterprise value")
    reason = serializers.CharField(allow_blank=True, help_text="Why the effective value was set")
    min_value = serializers.JSONField(allow_null=True)
    max_value = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField())
    unit = serializers.CharField(allow_blank=True)


class SiteRuleSiteValueSerializer(serializers.Serializer):
    site = serializers.CharField()
    value = serializers.JSONField()
    overridden = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)


class SiteRuleDetailSerializer(serializers.Serializer):
    """A rule: its definition, its enterprise value and its effective value at every site you can see."""

    key = serializers.CharField()
    type = serializers.ChoiceField(choices=["int", "decimal", "bool", "choice"])
    standardization = serializers.ChoiceField(choices=["ENTERPRISE", "LOCAL"])
    description = serializers.CharField()
    default = serializers.JSONField()
    enterprise_value = serializers.JSONField()
    enterprise_reason = serializers.CharField(allow_blank=True)
    min_value = serializers.JSONField(allow_null=True)
    max_value = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.JSONField())
    unit = serializers.CharField(allow_blank=True)
    sites = SiteRuleSiteValueSerializer(many=True)


class SiteRuleWriteSerializer(serializers.Serializer):
    site = SiteField(
        required=False, allow_null=True, help_text="Site code for a local override; null or omitted: enterprise value"
    )
    value = serializers.JSONField(help_text="The new value, of the rule's type (decimals may be strings)")
    reason = serializers.CharField(max_length=2000, help_text="Why: kept in the rule's history")


class SiteRuleQuerySerializer(serializers.Serializer):
    site = serializers.CharField(required=False, max_length=20, help_text="Site code (default: every visible site)")
    key = serializers.CharField(required=False, max_length=100, help_text="Rule key")
    standardization = serializers.ChoiceField(choices=["ENTERPRISE", "LOCAL"], required=False)
    overridden = serializers.BooleanField(required=False, allow_null=True, default=None)


class SiteRuleDeleteQuerySerializer(serializers.Serializer):
    site = serializers.CharField(
        required=False, max_length=20, help_text="Site code whose override to clear; omit to clear the enterprise value"
    )


class DecisionSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


#: approval kinds whose value betrays hidden quantities (a count's variance value / unit cost = units): only
#: those who may decide approvals at the site read it; counters see null (blind counting)
DECIDERS_ONLY_VALUE_KINDS = frozenset({"COUNT"})


class ApprovalSerializer(serializers.ModelSerializer):
    site = serializers.CharField(
        source="site.code",
        default=None,
        allow_null=True,
        help_text="Null: an enterprise matter (a control rule's enterprise value), decided by enterprise admins",
    )
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)
    subject_type = serializers.CharField(source="content_type.model")
    value = serializers.CharField(
        allow_null=True,
        read_only=True,
        help_text="The value compared with the threshold; null on a count's approval for anyone who may not "
        "decide approvals at its site (blind counting)",
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if instance.kind in DECIDERS_ONLY_VALUE_KINDS:
            request = self.context.get("request")
            user = getattr(request, "user", None)
            if user is None or not permissions.can(user, "approval.decide", instance.site_id):
                data["value"] = None
        return data

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
        read_only_fields = fields


class ExceptionSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="code.code")
    site = serializers.CharField(source="site.code")
    subject = serializers.CharField(source="subject_label")
    subject_type = serializers.CharField(source="content_type.model")
    assignee = serializers.CharField(source="assignee.username", default=None, allow_null=True)
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
        read_only_fields = fields


class ExceptionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ExceptionResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="How the exception was resolved")


class ExceptionAssignSerializer(serializers.Serializer):
    assignee = UserField(
        colleagues_only=True,
        allow_null=True,
        help_text="Username of a member of the exception's site; null to unassign",
    )


class JobRunSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None, allow_null=True)

    class Meta:
        model = JobRun
        fields = ["id", "kind", "site", "status", "started_at", "finished_at", "counts", "error"]
        read_only_fields = fields
