"""suppliers/ and purchase-orders/."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.feeds import updated_since_filter
from core.api.idempotency import idempotent
from core.validation import field_error
from governance import permissions
from governance.models import Site
from orders import services
from orders.models import PurchaseOrder, PurchaseOrderLine, Supplier


class SupplierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = [
            "id",
            "code",
            "name",
            "active",
            "email",
            "lead_time_days",
            "requires_inspection",
            "over_receipt_tolerance_percent",
            "currency",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {
            "code": {"validators": []},
            "over_receipt_tolerance_percent": {"min_value": 0, "max_value": 100},
        }


class SupplierUpdateSerializer(SupplierSerializer):
    class Meta(SupplierSerializer.Meta):
        read_only_fields = ["id", "code", "created_at"]


class PurchaseLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    unit_cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True)


class PurchaseOrderInputSerializer(serializers.Serializer):
    supplier = serializers.CharField(max_length=30)
    site = serializers.CharField(max_length=20)
    expected_date = serializers.DateField()
    supplier_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = PurchaseLineInputSerializer(many=True, allow_empty=False, max_length=500)


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    open_quantity = serializers.IntegerField(read_only=True)

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "id",
            "line_number",
            "item",
            "quantity",
            "unit_cost",
            "received_quantity",
            "rejected_quantity",
            "open_quantity",
        ]


class PurchaseOrderSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code")
    site = serializers.CharField(source="site.code")
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "number",
            "status",
            "supplier",
            "site",
            "expected_date",
            "currency",
            "supplier_reference",
            "note",
            "created_at",
            "closed_at",
            "updated_at",
            "lines",
        ]


class ShipNoticeLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40)
    lot_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    expiry_date = serializers.DateField(required=False, allow_null=True)
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)


class ShipNoticeInputSerializer(serializers.Serializer):
    lines = ShipNoticeLineInputSerializer(many=True, allow_empty=False, max_length=500)


class PurchaseReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


class SupplierViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Suppliers (enterprise master data): read by everyone signed in; admins and planners maintain them."""

    serializer_class = SupplierSerializer
    lookup_field = "code"
    filterset_fields = ["active", "requires_inspection"]
    ordering = ["code"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Supplier.objects.all()

    def get_serializer_class(self):
        return SupplierUpdateSerializer if self.action == "partial_update" else SupplierSerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        serializer.instance = services.create_supplier(
            user=self.request.user, code=data.pop("code"), name=data.pop("name"), **data
        )

    def perform_update(self, serializer):
        serializer.instance = services.update_supplier(
            user=self.request.user, supplier=serializer.instance, **serializer.validated_data
        )


class PurchaseOrderFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    supplier = django_filters.CharFilter(field_name="supplier__code")
    status = django_filters.MultipleChoiceFilter(choices=PurchaseOrder.Status.choices)
    expected_from = django_filters.DateFilter(field_name="expected_date", lookup_expr="gte")
    expected_to = django_filters.DateFilter(field_name="expected_date", lookup_expr="lte")
    number = django_filters.CharFilter()
    updated_since = updated_since_filter()

    class Meta:
        model = PurchaseOrder
        fields = ["site", "supplier", "status", "number"]


class PurchaseOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Purchase orders of the user's sites: create, add an advance ship notice, cancel (nothing received)."""

    serializer_class = PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilter
    ordering_fields = ["expected_date", "created_at", "number", "updated_at", "id"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return permissions.restrict(
            PurchaseOrder.objects.select_related("supplier", "site").prefetch_related("lines__item"), self.request.user
        )

    def _respond(self, po, code=status.HTTP_200_OK):
        return Response(PurchaseOrderSerializer(self.get_queryset().get(pk=po.pk)).data, status=code)

    @extend_schema(
        request=PurchaseOrderInputSerializer,
        responses={201: PurchaseOrderSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = PurchaseOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        site = Site.objects.filter(code=v.pop("site"), active=True).first()
        if site is None or not permissions.can_see_site(request.user, site):
            raise field_error("site", "No such site.", "does_not_exist")
        po = services.create_purchase_order(
            user=request.user, site=site, lines=[dict(line) for line in v.pop("lines")], **v
        )
        return self._respond(po, status.HTTP_201_CREATED)

    @extend_schema(request=PurchaseReasonSerializer, responses={200: PurchaseOrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = PurchaseReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(
            services.cancel_purchase_order(
                user=request.user, purchase_order=self.get_object(), reason=data.validated_data.get("reason", "")
            )
        )

    @extend_schema(request=ShipNoticeInputSerializer, responses={200: PurchaseOrderSerializer})
    @action(detail=True, methods=["post"], url_path="ship-notice")
    def ship_notice(self, request, pk=None):
        data = ShipNoticeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.add_ship_notice(
            user=request.user,
            purchase_order=self.get_object(),
            lines=[dict(line) for line in data.validated_data["lines"]],
        )
        return self._respond(self.get_object())
