"""replenishment/policies/, replenishment/pick-faces/, replenishment/runs/ and replenishment/suggestions/."""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action

from core.api.fields import NaturalKeyField, lookup_or_fail
from core.api.idempotency import idempotent
from core.api.mixins import ApiViewMixin, ETagMixin, IdempotentCreateMixin
from core.validation import MAX_QUANTITY
from governance import permissions
from governance.api.fields import SiteField
from inventory.api.fields import ItemField
from inventory.models import Location
from orders.models import PickFacePolicy, ReplenishmentPolicy, ReplenishmentRun, ReplenishmentSuggestion, Supplier
from orders.services import replenishment as services

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)


class SupplierField(NaturalKeyField):
    """A supplier by ``code`` (enterprise master data)."""

    key_field = "code"
    label_text = "supplier"

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "Supplier code")
        super().__init__(**kwargs)

    def get_queryset(self):
        return Supplier.objects.all()


# --- policies ----------------------------------------------------------------------------------------------


class PolicySerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    item = serializers.CharField(source="item.sku", read_only=True)
    supplier = serializers.CharField(source="supplier.code", default=None, read_only=True, allow_null=True)

    class Meta:
        model = ReplenishmentPolicy
        fields = [
            "id",
            "site",
            "item",
            "method",
            "min_quantity",
            "max_quantity",
            "service_level",
            "review_days",
            "lead_time_days",
            "pack_multiple",
            "min_order_quantity",
            "supplier",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PolicyUpdateSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ReplenishmentPolicy.Method.choices, required=False)
    min_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    max_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    service_level = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal("0.5"),
        max_value=Decimal("0.9999"),
        required=False,
        help_text="REORDER_POINT: probability of not running out during the lead time",
    )
    review_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    lead_time_days = serializers.IntegerField(
        min_value=0, max_value=365, required=False, allow_null=True, help_text="Null: the supplier's lead time"
    )
    pack_multiple = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    min_order_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    supplier = SupplierField(required=False, allow_null=True)
    active = serializers.BooleanField(required=False)


class PolicyCreateSerializer(PolicyUpdateSerializer):
    site = SiteField()
    item = ItemField()
    method = serializers.ChoiceField(choices=ReplenishmentPolicy.Method.choices)


class PolicyFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    supplier = django_filters.CharFilter(field_name="supplier__code")
    method = django_filters.ChoiceFilter(choices=ReplenishmentPolicy.Method.choices)
    active = django_filters.BooleanFilter()

    class Meta:
        model = ReplenishmentPolicy
        fields = ["site", "item", "supplier", "method", "active"]


@extend_schema_view(
    create=extend_schema(
        summary="Create the policy of an item at a site (planners, supervisors, admins)",
        request=PolicyCreateSerializer,
        responses={201: PolicySerializer},
    ),
    partial_update=extend_schema(request=PolicyUpdateSerializer, responses={200: PolicySerializer}),
)
class PolicyViewSet(
    ApiViewMixin,
    ETagMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Replenishment policies per item and site: `MIN_MAX` (reorder at `min_quantity`, order up to
    `max_quantity`) or `REORDER_POINT` (computed from shipped demand, lead time and `service_level`; min and
    max are floors). Purchases respect `min_order_quantity` and `pack_multiple`."""

    serializer_class = PolicySerializer
    output_serializer_class = PolicySerializer
    filterset_class = PolicyFilter
    ordering_fields = ["updated_at", "min_quantity", "max_quantity"]
    ordering = ["site__code", "item__sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return permissions.restrict(
            ReplenishmentPolicy.objects.select_related("site", "item", "supplier"), self.request.user
        )

    def get_serializer_class(self):
        if self.action == "create":
            return PolicyCreateSerializer
        if self.action == "partial_update":
            return PolicyUpdateSerializer
        return PolicySerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        return services.create_policy(user=self.request.user, site=data.pop("site"), item=data.pop("item"), **data)

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = PolicyUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = self.lock_for_write(request, policy)
            policy = services.update_policy(user=request.user, policy=locked, **serializer.validated_data)
        return self.respond(policy)


# --- pick faces --------------------------------------------------------------------------------------------


class PickFaceSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    location = serializers.CharField(source="location.code", read_only=True)
    item = serializers.CharField(source="item.sku", read_only=True)

    class Meta:
        model = PickFacePolicy
        fields = ["id", "site", "location", "item", "min_quantity", "max_quantity", "active", "updated_at"]
        read_only_fields = fields


class PickFaceUpdateSerializer(serializers.Serializer):
    min_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    max_quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY, required=False)
    active = serializers.BooleanField(required=False)


class PickFaceCreateSerializer(serializers.Serializer):
    site = SiteField()
    location = serializers.CharField(max_length=40, help_text="Code of a PICK location of the site")
    item = ItemField()
    min_quantity = serializers.IntegerField(min_value=0, max_value=MAX_QUANTITY)
    max_quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    active = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        attrs["location"] = lookup_or_fail(
            Location.objects.filter(site=attrs["site"]), field="location", label="location", value=attrs["location"]
        )
        attrs.pop("site")
        return attrs


class PickFaceFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    location = django_filters.CharFilter(field_name="location__code")
    item = django_filters.CharFilter(field_name="item__sku")
    active = django_filters.BooleanFilter()

    class Meta:
        model = PickFacePolicy
        fields = ["site", "location", "item", "active"]


@extend_schema_view(
    create=extend_schema(
        summary="Set the min/max of an item at a pick face",
        request=PickFaceCreateSerializer,
        responses={201: PickFaceSerializer},
    ),
    partial_update=extend_schema(request=PickFaceUpdateSerializer, responses={200: PickFaceSerializer}),
)
class PickFaceViewSet(
    ApiViewMixin,
    ETagMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Pick faces: a PICK location's min/max per item. At or below the min (or when a released wave reserves it
    down) a replenishment task refills it from reserve storage, FEFO (see `replenishment/tasks/`)."""

    serializer_class = PickFaceSerializer
    output_serializer_class = PickFaceSerializer
    filterset_class = PickFaceFilter
    ordering = ["site__code", "location__code", "item__sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return permissions.restrict(
            PickFacePolicy.objects.select_related("site", "location", "item"), self.request.user
        )

    def get_serializer_class(self):
        if self.action == "create":
            return PickFaceCreateSerializer
        if self.action == "partial_update":
            return PickFaceUpdateSerializer
        return PickFaceSerializer

    def perform_create(self, serializer):
        return services.create_pick_face_policy(user=self.request.user, **serializer.validated_data)

    def partial_update(self, request, *args, **kwargs):
        policy = self.get_object()
        serializer = PickFaceUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = self.lock_for_write(request, policy)
            policy = services.update_pick_face_policy(user=request.user, policy=locked, **serializer.validated_data)
        return self.respond(policy)


# --- runs --------------------------------------------------------------------------------------------------


class RunSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", default=None, allow_null=True, read_only=True)

    class Meta:
        model = ReplenishmentRun
        fields = [
            "id",
            "site",
            "status",
            "trigger",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "counts",
            "error",
        ]
        read_only_fields = fields


class RunCreateSerializer(serializers.Serializer):
    site = SiteField()


class RunFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.ChoiceFilter(choices=ReplenishmentRun.Status.choices)

    class Meta:
        model = ReplenishmentRun
        fields = ["site", "status", "trigger"]


class RunViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Planning runs with their counts. POST `{site}` starts one now on the `replenishment` worker: 202 with
    the run, whose `status` moves from QUEUED to SUCCEEDED (or FAILED with `error`) within seconds."""

    serializer_class = RunSerializer
    filterset_class = RunFilter
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return permissions.restrict(ReplenishmentRun.objects.select_related("site", "requested_by"), self.request.user)

    @extend_schema(
        summary="Start a planning run for a site now",
        request=RunCreateSerializer,
        responses={202: RunSerializer},
        parameters=[IDEMPOTENCY],
    )
    @idempotent
    def create(self, request):
        data = RunCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        run = services.request_run(user=request.user, site=data.validated_data["site"])
        return self.respond(run, status.HTTP_202_ACCEPTED)


# --- suggestions -------------------------------------------------------------------------------------------


class SuggestionSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    item = serializers.CharField(source="item.sku", read_only=True)
    source_site = serializers.CharField(source="source_site.code", default=None, read_only=True, allow_null=True)
    supplier = serializers.CharField(source="supplier.code", default=None, read_only=True, allow_null=True)
    purchase_order = serializers.CharField(
        source="purchase_order.number", default=None, read_only=True, allow_null=True
    )
    transfer_order = serializers.CharField(
        source="transfer_order.number", default=None, read_only=True, allow_null=True
    )
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True, allow_null=True)
    reason = serializers.JSONField(read_only=True, help_text="Every number that went into the suggestion")

    class Meta:
        model = ReplenishmentSuggestion
        fields = [
            "id",
            "run",
            "site",
            "item",
            "kind",
            "quantity",
            "source_site",
            "supplier",
            "unit_cost",
            "value",
            "reason",
            "status",
            "auto_accepted",
            "purchase_order",
            "transfer_order",
            "decided_by",
            "decided_at",
            "decision_note",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SuggestionDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class SuggestionFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    source_site = django_filters.CharFilter(field_name="source_site__code")
    supplier = django_filters.CharFilter(field_name="supplier__code")
    kind = django_filters.ChoiceFilter(choices=ReplenishmentSuggestion.Kind.choices)
    status = django_filters.MultipleChoiceFilter(choices=ReplenishmentSuggestion.Status.choices)

    class Meta:
        model = ReplenishmentSuggestion
        fields = ["site", "item", "source_site", "supplier", "kind", "status", "run"]


class SuggestionViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What planning runs suggest: a TRANSFER from a site holding stock above its own max, else a PURCHASE from
    the supplier. `reason` shows every number. Accepting creates the purchase or transfer order."""

    serializer_class = SuggestionSerializer
    filterset_class = SuggestionFilter
    ordering_fields = ["created_at", "value", "quantity"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return permissions.restrict(
            ReplenishmentSuggestion.objects.select_related(
                "site", "item", "source_site", "supplier", "purchase_order", "transfer_order", "decided_by"
            ),
            self.request.user,
        )

    @extend_schema(
        summary="Accept: create the purchase order (or transfer order)",
        request=SuggestionDecisionSerializer,
        responses={200: SuggestionSerializer},
        parameters=[IDEMPOTENCY],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def accept(self, request, pk=None):
        data = SuggestionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.accept_suggestion(
            user=request.user, suggestion=self.get_object(), note=data.validated_data["note"]
        )
        return self.respond(suggestion)

    @extend_schema(summary="Dismiss", request=SuggestionDecisionSerializer, responses={200: SuggestionSerializer})
    @action(detail=True, methods=["post"])
    def dismiss(self, request, pk=None):
        data = SuggestionDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        suggestion = services.dismiss_suggestion(
            user=request.user, suggestion=self.get_object(), note=data.validated_data["note"]
        )
        return self.respond(suggestion)


__all__ = ["PickFaceViewSet", "PolicyViewSet", "RunViewSet", "SuggestionViewSet"]
