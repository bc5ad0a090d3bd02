"""``notifications/``: the signed-in user's own in-app notifications; mark one or all read.

Nobody sees another user's notifications: their ids are 404 like any object one cannot see.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from governance.models import ExceptionCode, Notification
from governance.services.notifications import (
    mark_all_notifications_read,
    mark_notification_read,
    notifications_for,
)


class NotificationSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None, allow_null=True, read_only=True)
    exception = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="Exception case id")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "event_key",
            "title",
            "body",
            "severity",
            "site",
            "exception",
            "created_at",
            "read_at",
            "unread",
        ]
        read_only_fields = fields

    def get_unread(self, obj: Notification) -> bool:
        return obj.read_at is None


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many notifications were marked read")


class NotificationFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull", help_text="Only unread ones")
    severity = django_filters.ChoiceFilter(choices=ExceptionCode.Severity.choices)

    class Meta:
        model = Notification
        fields = ["unread", "severity"]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your notifications (exceptions opened or escalated to you), newest first."""

    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: there is no user
            return Notification.objects.none()
        return notifications_for(self.request.user)

    @extend_schema(request=None, responses={200: NotificationSerializer}, summary="Mark a notification read")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        row = mark_notification_read(user=request.user, notification=self.get_object())
        return Response(NotificationSerializer(self.get_queryset().get(pk=row.pk)).data)

    @extend_schema(request=None, responses={200: MarkedSerializer}, summary="Mark all your notifications read")
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response({"marked": mark_all_notifications_read(user=request.user)})
