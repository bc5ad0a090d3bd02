"""Integration API (issue 14): ``webhook-subscriptions/``, ``webhook-deliveries/`` and the ``events/`` feed.

Every write calls ``governance.services.webhooks``. A subscription is its owner's (the integrator's); enterprise
admins see all, site admins those that can deliver events of their sites (read only). The secret is in the
answer of the create and of ``rotate-secret`` only. ``events/`` is a cursor feed of the domain events of the
sites you can see, oldest first: ``?after=<cursor>`` where the cursor is the last event's ``sequence``.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.db.models.expressions import RawSQL
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.mixins import ApiViewMixin, IdempotentCreateMixin
from core.api.schema import ProblemAutoSchema
from core.errors import ValidationFailed
from governance import permissions
from governance.events import EVENT_TYPES
from governance.models import OutboxMessage, WebhookDelivery, WebhookSubscription
from governance.services import webhooks as service

# --- serializers -----------------------------------------------------------------------------------------------


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    url = serializers.CharField(max_length=500, help_text="http:// or https:// URL the events are POSTed to")
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=60),
        required=False,
        max_length=len(EVENT_TYPES),
        help_text=f"Empty: every type. Declared types: {', '.join(EVENT_TYPES)}",
    )
    sites = serializers.ListField(
        child=serializers.CharField(max_length=20),
        required=False,
        max_length=500,
        write_only=True,  # shown by to_representation (codes)
        help_text="Site codes; empty: every site the owner can see when an event is delivered",
    )
    items = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        max_length=service.MAX_WATCHED_ITEMS,
        help_text=f"SKUs whose stock levels are watched: {service.STOCK_EVENT} is sent for these items only "
        "(required when event_types names it; with empty event_types, stock events come for these items)",
    )
    previous_secret_expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    secret_hint = serializers.SerializerMethodField(help_text="The secret's last 4 characters")

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "owner",
            "url",
            "event_types",
            "sites",
            "items",
            "active",
            "secret_hint",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]

    def get_secret_hint(self, obj) -> str:
        return "…" + obj.secret[-4:]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["sites"] = sorted(s.code for s in instance.sites.all())
        return data


class WebhookSubscriptionCreatedSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once: keep it to verify X-Signature")

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = WebhookSubscriptionSerializer.Meta.fields + ["secret"]


class RotateSecretSerializer(serializers.Serializer):
    overlap_hours = serializers.FloatField(
        required=False,
        default=service.DEFAULT_OVERLAP_HOURS,
        help_text="How long the previous secret still signs deliveries (a second v1); 0: not at all",
    )


class WebhookDeliverySerializer(serializers.ModelSerializer):
    subscription = serializers.PrimaryKeyRelatedField(read_only=True)
    site = serializers.CharField(source="site.code", default=None, allow_null=True, read_only=True)
    event_sequence = serializers.IntegerField(source="event_id", read_only=True)
    event_id = serializers.CharField(source="event_uuid", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "event_id",
            "event_sequence",
            "event_type",
            "document_key",
            "site",
            "status",
            "attempts",
            "redeliveries",
            "response_code",
            "response_excerpt",
            "error",
            "duration_ms",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class EventSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(source="pk", help_text="The cursor: pass the last one as ?after=")
    id = serializers.SerializerMethodField()
    type = serializers.CharField(source="topic")
    site = serializers.SerializerMethodField()
    occurred_at = serializers.SerializerMethodField()
    document = serializers.SerializerMethodField()
    data = serializers.SerializerMethodField()

    def get_id(self, obj) -> str:
        return str(obj.payload.get("id", ""))

    def get_site(self, obj) -> str | None:
        return obj.payload.get("site")

    def get_occurred_at(self, obj) -> str | None:
        return obj.payload.get("occurred_at")

    def get_document(self, obj) -> dict:
        return obj.payload.get("document") or {}

    def get_data(self, obj) -> dict:
        return obj.payload.get("data") or {}


class EventPageSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_cursor = serializers.IntegerField(help_text="Pass as ?after= for the next page (same value: nothing new)")
    has_more = serializers.BooleanField()


# --- filters ---------------------------------------------------------------------------------------------------


class DeliveryFilter(django_filters.FilterSet):
    subscription = django_filters.NumberFilter(field_name="subscription_id")
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_type = django_filters.ChoiceFilter(choices=[(t, t) for t in EVENT_TYPES])
    site = django_filters.CharFilter(field_name="site__code", help_text="Site code")
    document_key = django_filters.CharFilter(help_text="e.g. sales_order:17")

    class Meta:
        model = WebhookDelivery
        fields = ["subscription", "status", "event_type", "site", "document_key"]


class SubscriptionFilter(django_filters.FilterSet):
    active = django_filters.BooleanFilter()
    owner = django_filters.CharFilter(field_name="owner__username", help_text="Username")

    class Meta:
        model = WebhookSubscription
        fields = ["active", "owner"]


# --- views -----------------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Subscribe to events (the secret is in this answer only)",
        responses={201: WebhookSubscriptionCreatedSerializer},
        examples=[
            OpenApiExample(
                "Order events of DC1",
                value={
                    "name": "shop",
                    "url": "https://shop.example.com/hooks/erp",
                    "event_types": ["order.shipped", "shipment.confirmed"],
                    "sites": ["DC1"],
                },
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(summary="Change a subscription (its owner)"),
    update=extend_schema(summary="Replace a subscription's settings (its owner)"),
    destroy=extend_schema(summary="Delete a subscription (its owner); its delivery log goes with it"),
)
class WebhookSubscriptionViewSet(
    ApiViewMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook subscriptions: yours (enterprise admins: all; site admins: those delivering their sites' events,
    read only). Events are POSTed signed with the secret; see README "Integrating"."""

    serializer_class = WebhookSubscriptionSerializer
    filterset_class = SubscriptionFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return WebhookSubscription.objects.none()
        return service.subscriptions_visible_to(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        sub, secret = service.create_subscription(
            user=self.request.user,
            url=data["url"],
            event_types=data.get("event_types", []),
            sites=data.get("sites", []),
            items=data.get("items", []),
            name=data.get("name", ""),
            active=data.get("active", True),
        )
        self._secret = secret
        return sub

    def respond(self, obj, code: int = status.HTTP_200_OK) -> Response:
        secret = getattr(self, "_secret", None)
        if secret is None:
            return super().respond(obj, code)
        obj = self.get_queryset().get(pk=obj.pk)
        data = WebhookSubscriptionCreatedSerializer(obj, context=self.get_serializer_context()).data
        data["secret"] = secret
        return Response(data, status=code)

    def update(self, request, *args, **kwargs):
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        sub = service.update_subscription(user=request.user, subscription=instance, **serializer.validated_data)
        return self.respond(sub)

    def perform_destroy(self, instance):
        service.delete_subscription(user=self.request.user, subscription=instance)

    @extend_schema(
        summary="Rotate the secret (the new one is in this answer only; the old one signs too for overlap_hours)",
        request=RotateSecretSerializer,
        responses={200: WebhookSubscriptionCreatedSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        data = RotateSecretSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        sub, secret = service.rotate_secret(
            user=request.user, subscription=self.get_object(), overlap_hours=data.validated_data["overlap_hours"]
        )
        self._secret = secret
        return self.respond(sub)


class WebhookDeliveryViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log of the subscriptions you can see: one row per event and subscription, with the
    attempts so far, the last answer (code, excerpt, duration) and when the next attempt is due."""

    serializer_class = WebhookDeliverySerializer
    filterset_class = DeliveryFilter
    ordering_fields = ["id", "created_at", "last_attempt_at"]
    ordering = ["-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return WebhookDelivery.objects.none()
        return service.deliveries_visible_to(self.request.user)

    @extend_schema(summary="Send the event again (a new round of attempts, in its document's order)", request=None)
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        delivery = service.redeliver(user=request.user, delivery=self.get_object())
        return self.respond(delivery, status.HTTP_202_ACCEPTED)


FEED_MAX = 500


class _PageSchema(ProblemAutoSchema):
    """The feed answers one page object (results + next_cursor), not a list of them."""

    def _is_list_view(self, serializer=None) -> bool:
        return False


class EventFeedViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """The domain events of the sites you can see, oldest first, for integrators who poll (kept 30 days)."""

    schema = _PageSchema()
    serializer_class = EventSerializer
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self):
        qs = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.EVENT)
        ids = permissions.site_ids_for(self.request.user)
        if ids is not None:
            qs = qs.filter(site_id__in=ids)
        # a row shows once no transaction that could still insert a smaller id is running (no skipped rows)
        return qs.filter(
            Q(xid__isnull=True)
            | Q(xid__lt=RawSQL("pg_snapshot_xmin(pg_current_snapshot())::text::bigint", []))
            | Q(xid=RawSQL("pg_current_xact_id_if_assigned()::text::bigint", []))  # this transaction's own
        )

    @extend_schema(
        summary="Events after a cursor",
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="The last sequence you have (default 0)"),
            OpenApiParameter("type", OpenApiTypes.STR, description="Event types, comma separated"),
            OpenApiParameter("site", OpenApiTypes.STR, description="Site code"),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"At most {FEED_MAX} (default 100)"),
        ],
        responses={200: EventPageSerializer},
    )
    def list(self, request):
        params = request.query_params
        errors = []
        after = _int(params.get("after", "0"), "after", errors, low=0)
        limit = _int(params.get("limit", "100"), "limit", errors, low=1, high=FEED_MAX)
        types = [t for t in (params.get("type") or "").split(",") if t]
        for t in types:
            if t not in EVENT_TYPES:
                errors.append({"field": "type", "code": "invalid_choice", "message": f"Unknown event type {t!r}."})
        if errors:
            raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
        qs = self.get_queryset().filter(pk__gt=after)
        if types:
            qs = qs.filter(topic__in=types)
        if params.get("site"):
            qs = qs.filter(site__code=params["site"])
        rows = list(qs.order_by("id")[: limit + 1])
        page = rows[:limit]
        return Response(
            {
                "results": EventSerializer(page, many=True).data,
                "next_cursor": page[-1].pk if page else after,
                "has_more": len(rows) > limit,
            }
        )


def _int(raw, field: str, errors: list, *, low: int, high: int | None = None) -> int:
    try:
        value = int(str(raw))
    except ValueError:
        errors.append({"field": field, "code": "invalid", "message": "A whole number."})
        return low
    if value < low or (high is not None and value > high):
        errors.append({"field": field, "code": "out_of_range", "message": f"From {low} to {high or 'any'}."})
        return low
    return value
