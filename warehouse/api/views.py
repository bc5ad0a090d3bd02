"""receipts/ and putaway-tasks/."""

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
from inventory.api.scanning import SCANNED_ITEM_HELP, required_quantity, scanned_item, scanned_lines
from inventory.models import Location
from orders.models import PurchaseOrder
from warehouse.models import Discrepancy, PutawayTask, Receipt, ReceiptLine
from warehouse.services import confirm_putaway, inspect_receipt_line, receive
from warehouse.services.floor import floor_record
from warehouse.services.putaway import OVERRIDE_REASONS


class ReceiptLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(
        max_length=200,
        help_text="The SKU, or a scanned GTIN of any item or unit (quantities then count that unit) or GS1-128 label "
        "(fills lot, expiry and, left out, quantity)",
    )
    quantity = serializers.DecimalField(
        max_digits=16, decimal_places=3, min_value=0, required=False, help_text="Left out: a scanned label's count"
    )
    damaged_quantity = serializers.DecimalField(max_digits=16, decimal_places=3, min_value=0, required=False, default=0)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    lot = serializers.CharField(max_length=60, required=False, allow_blank=True, allow_null=True)
    expiry_date = serializers.DateField(required=False, allow_null=True)


class ReceiptInputSerializer(serializers.Serializer):
    purchase_order = serializers.CharField(max_length=20, help_text="PO number, e.g. PO-000045")
    final = serializers.BooleanField(default=True, help_text="The delivery is complete: missing units are short")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = ReceiptLineInputSerializer(many=True, allow_empty=False, max_length=500)


class ReceiptLineSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    on_hold = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReceiptLine
        fields = [
            "id",
            "item",
            "lot",
            "quantity",
            "damaged_quantity",
            "landed_status",
            "held_quantity",
            "inspection",
            "released_quantity",
            "rejected_quantity",
            "on_hold",
        ]


class DiscrepancySerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku", default=None, allow_null=True)

    class Meta:
        model = Discrepancy
        fields = ["id", "code", "item", "expected", "actual", "detail", "created_at"]


class ReceiptSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    purchase_order = serializers.CharField(source="purchase_order.number", default=None, allow_null=True)
    location = serializers.CharField(source="location.code")
    received_by = serializers.CharField(source="received_by.username", default=None, allow_null=True)
    lines = ReceiptLineSerializer(many=True, read_only=True)
    discrepancies = DiscrepancySerializer(many=True, read_only=True)

    class Meta:
        model = Receipt
        fields = [
            "id",
            "number",
            "site",
            "purchase_order",
            "location",
            "final",
            "note",
            "received_by",
            "received_at",
            "updated_at",
            "lines",
            "discrepancies",
        ]


class InspectionSerializer(serializers.Serializer):
    release_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)
    reject_quantity = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)
    reject_to = serializers.ChoiceField(choices=["DAMAGED", "RETURN_TO_VENDOR"], default="DAMAGED")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300)


class PutawayTaskSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    from_location = serializers.CharField(source="from_location.code")
    suggested_location = serializers.CharField(source="suggested_location.code", default=None, allow_null=True)
    confirmed_location = serializers.CharField(source="confirmed_location.code", default=None, allow_null=True)
    receipt = serializers.CharField(source="receipt_line.receipt.number", default=None, allow_null=True)

    class Meta:
        model = PutawayTask
        fields = [
            "id",
            "site",
            "receipt",
            "item",
            "lot",
            "quantity",
            "from_location",
            "suggested_location",
            "suggestion_reason",
            "status",
            "confirmed_location",
            "confirmed_quantity",
            "reason_code",
            "created_at",
            "confirmed_at",
            "dock_to_stock_seconds",
        ]


class PutawayConfirmSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=40, help_text="Location code at the task's site")
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=1_000_000_000,
        required=False,
        help_text="In the unit of a scanned unit GTIN; left out: a scanned label's count",
    )
    item = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=SCANNED_ITEM_HELP + "; checked against the task's item and lot when given",
    )
    reason_code = serializers.ChoiceField(choices=list(OVERRIDE_REASONS), required=False, allow_blank=True)


class ReceiptFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    purchase_order = django_filters.CharFilter(field_name="purchase_order__number")
    number = django_filters.CharFilter()
    has_discrepancies = django_filters.BooleanFilter(method="filter_discrepancies")
    updated_since = updated_since_filter()

    class Meta:
        model = Receipt
        fields = ["site", "purchase_order", "number"]

    def filter_discrepancies(self, queryset, name, value):
        return queryset.filter(discrepancies__isnull=not value).distinct()


class ReceiptViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Receipts against purchase orders: discrepancies come back in the response."""

    serializer_class = ReceiptSerializer
    filterset_class = ReceiptFilter
    ordering = ["-received_at"]

    def get_queryset(self):
        return permissions.restrict(
            Receipt.objects.select_related("site", "purchase_order", "location", "received_by").prefetch_related(
                "lines__item", "lines__lot", "discrepancies__item"
            ),
            self.request.user,
        )

    def _respond(self, receipt, code=status.HTTP_200_OK):
        return Response(ReceiptSerializer(self.get_queryset().get(pk=receipt.pk)).data, status=code)

    @extend_schema(
        request=ReceiptInputSerializer,
        responses={201: ReceiptSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = ReceiptInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        po = PurchaseOrder.objects.filter(number=v["purchase_order"]).first()
        if po is None or not permissions.can_see_site(request.user, po.site_id):
            raise field_error("purchase_order", f"No purchase order {v['purchase_order']!r}.", "does_not_exist")
        receipt = receive(
            user=request.user,
            purchase_order=po,
            lines=scanned_lines([dict(line) for line in v["lines"]]),
            final=v["final"],
            note=v.get("note", ""),
        )
        return self._respond(receipt, status.HTTP_201_CREATED)

    @extend_schema(request=InspectionSerializer, responses={200: ReceiptSerializer})
    @action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>\d+)/inspect")
    def inspect(self, request, pk=None, line_id=None):
        """Quality inspection of held units: release to putaway, or reject (DAMAGED or back to the vendor)."""
        receipt = self.get_object()
        line = receipt.lines.filter(pk=line_id).first()
        if line is None:
            from rest_framework.exceptions import NotFound

            raise NotFound("No such receipt line.")
        data = InspectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        inspect_receipt_line(user=request.user, line=line, **data.validated_data)
        return self._respond(receipt)


class PutawayFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.ChoiceFilter(choices=PutawayTask.Status.choices)
    item = django_filters.CharFilter(field_name="item__sku")

    class Meta:
        model = PutawayTask
        fields = ["site", "status", "item"]


class PutawayTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Putaway tasks with a suggested location; confirming makes the stock AVAILABLE."""

    serializer_class = PutawayTaskSerializer
    filterset_class = PutawayFilter
    ordering = ["created_at"]

    def get_queryset(self):
        return permissions.restrict(
            PutawayTask.objects.select_related(
                "site",
                "item",
                "lot",
                "from_location",
                "suggested_location",
                "confirmed_location",
                "receipt_line__receipt",
            ),
            self.request.user,
        )

    @extend_schema(request=PutawayConfirmSerializer, responses={200: PutawayTaskSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        task = self.get_object()
        data = PutawayConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        location = Location.objects.filter(site_id=task.site_id, code=data.validated_data["location"]).first()
        if location is None:
            raise field_error(
                "location", f"No location {data.validated_data['location']!r} at this site.", "does_not_exist"
            )
        scan = scanned_item(
            task.item,
            scanned=data.validated_data.get("item", ""),
            quantity=data.validated_data.get("quantity"),
            task_lot=task.lot.number if task.lot_id else "",
            sku_required=True,
            record=floor_record(request, task),
        )
        task = confirm_putaway(
            user=request.user,
            task=task,
            location=location,
            quantity=required_quantity(scan.quantity, what="quantity put away"),
            reason_code=data.validated_data.get("reason_code", ""),
        )
        return Response(PutawayTaskSerializer(self.get_queryset().get(pk=task.pk)).data)
