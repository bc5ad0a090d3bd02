"""Query filters of the governance API, named after the fields they filter (``?site=DC1&status=OPEN``)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils import timezone

from governance.models import ApprovalRequest, ExceptionCase, ExceptionCode, JobRun, Role, Site, SiteMembership


class SiteFilter(django_filters.FilterSet):
    region = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=Site.Kind.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = Site
        fields = ["region", "kind", "active"]


class MembershipFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")
    user = django_filters.CharFilter(field_name="user__username", help_text="Username")
    role = django_filters.ChoiceFilter(choices=Role.choices)

    class Meta:
        model = SiteMembership
        fields = ["site", "user", "role"]


class ApprovalFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")
    status = django_filters.ChoiceFilter(choices=ApprovalRequest.Status.choices)
    kind = django_filters.CharFilter(help_text="e.g. ADJUSTMENT")

    class Meta:
        model = ApprovalRequest
        fields = ["site", "status", "kind"]


class ExceptionFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")
    code = django_filters.CharFilter(field_name="code__code", help_text="Exception code, e.g. SHORT_PICK")
    status = django_filters.MultipleChoiceFilter(choices=ExceptionCase.Status.choices)
    severity = django_filters.ChoiceFilter(choices=ExceptionCode.Severity.choices)
    assignee = django_filters.CharFilter(field_name="assignee__username", help_text="Username")
    overdue = django_filters.BooleanFilter(method="filter_overdue", help_text="Past due and not resolved")

    class Meta:
        model = ExceptionCase
        fields = ["site", "code", "status", "severity", "assignee"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        q = Q(due_at__lt=timezone.now()) & ~Q(status=ExceptionCase.Status.RESOLVED)
        return queryset.filter(q) if value else queryset.exclude(q)


class JobRunFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")
    kind = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=JobRun.Status.choices)

    class Meta:
        model = JobRun
        fields = ["site", "kind", "status"]
