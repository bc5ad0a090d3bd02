"""returns/: return authorizations (RMA) against shipped order lines, received with inspection and a
disposition per line (RESTOCK, QUARANTINE, SCRAP, RETURN_TO_VENDOR); authorization and credit above the site's
values wait for approval (``{id}/approve/``, ``{id}/reject/`` or approvals/). Receiving (``{id}/receive/``) is
warehouse work: its endpoint is warehouse.api.returns."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.validation import field_error
from governance import permissions
from governance.models import Site
from inventory.models import Item
from inventory.units import to_base_quantity
from orders.models import ReturnAuthorization, ReturnDisposition, ReturnLine
from orders.selectors import orders_for
from orders.services.returns import create_return, decide_return


class ReturnDispositionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReturnDisposition
        fields = ["quantity", "lot_number", "inspection", "disposition", "note", "scrap_value", "disposed_at"]
        read_only_fields = fields


class ReturnLineSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku", read_only=True)
    order_line = serializers.IntegerField(source="order_line.line_number", read_only=True)
    dispositions = ReturnDispositionSerializer(
        many=True,
        read_only=True,
        help_text="What came back, part by part (a line split between dispositions has several; its own "
        "`disposition` is then empty)",
    )

    class Meta:
        model = ReturnLine
        fields = [
            "id",
            "line_number",
            "order_line",
            "item",
            "quantity",
            "reason",
            "unit_price",
            "received_quantity",
            "lot_number",
            "inspection",
            "inspection_note",
            "disposition",
            "scrap_value",
            "credit_amount",
            "disposed_at",
            "dispositions",
        ]
        read_only_fields = fields


class ReturnSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    sales_order = serializers.CharField(source="sales_order.number", read_only=True)
    customer = serializers.CharField(source="customer.code", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None, allow_null=True)
    received_by = serializers.CharField(source="received_by.username", read_only=True, default=None, allow_null=True)
    lines = ReturnLineSerializer(many=True, read_only=True)

    class Meta:
        model = ReturnAuthorization
        fields = [
            "id",
            "number",
            "site",
            "sales_order",
            "customer",
            "status",
            "currency",
            "value",
            "note",
            "requested_by",
            "created_at",
            "authorized_at",
            "received_by",
            "received_at",
            "disposed_at",
            "turnaround_seconds",
            "credit_amount",
            "credit_status",
            "credit_decided_at",
            "lines",
        ]
        read_only_fields = fields


class ReturnLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40)
    line_number = serializers.IntegerField(
        min_value=1, required=False, help_text="Order line number, when the order has the item on several lines"
    )
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    reason = serializers.ChoiceField(choices=ReturnLine.Reason.choices)


class ReturnInputSerializer(serializers.Serializer):
    sales_order = serializers.CharField(max_length=20)
    site = serializers.CharField(max_length=20, required=False, help_text="Receiving site; default: the shipping site")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, max_length=200)


class ReturnDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class ReturnFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    sales_order = django_filters.CharFilter(field_name="sales_order__number")
    customer = django_filters.CharFilter(field_name="customer__code")
    status = django_filters.ChoiceFilter(choices=ReturnAuthorization.Status.choices)
    credit_status = django_filters.ChoiceFilter(choices=ReturnAuthorization.CreditStatus.choices)

    class Meta:
        model = ReturnAuthorization
        fields = ["site", "sales_order", "customer", "status", "credit_status"]


def _item(sku: str, field: str) -> Item:
    item = Item.objects.prefetch_related("units").filter(sku=sku).first()
    if item is None:
        raise field_error(field, f"No item {sku!r}.", "does_not_exist")
    return item


class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Returns of the user's sites."""

    serializer_class = ReturnSerializer
    filterset_class = ReturnFilter
    ordering_fields = ["created_at", "value", "credit_amount"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return permissions.restrict(
            ReturnAuthorization.objects.select_related(
                "site", "sales_order", "customer", "requested_by", "received_by"
            ).prefetch_related("lines__item", "lines__order_line", "lines__dispositions"),
            self.request.user,
        )

    def _respond(self, rma, code=status.HTTP_200_OK):
        return Response(ReturnSerializer(self.get_queryset().get(pk=rma.pk)).data, status=code)

    @extend_schema(
        request=ReturnInputSerializer,
        responses={201: ReturnSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = ReturnInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        order = orders_for(request.user).filter(number=v["sales_order"]).prefetch_related("lines__item").first()
        if order is None:
            raise field_error("sales_order", f"No sales order {v['sales_order']!r}.", "does_not_exist")
        site = None
        if v.get("site"):
            site = Site.objects.filter(code=v["site"]).first()
            if site is None or not permissions.can_see_site(request.user, site):
                raise field_error("site", f"No site {v['site']!r}.", "does_not_exist")
        order_lines = list(order.lines.all())
        lines = []
        for i, entry in enumerate(v["lines"]):
            item = _item(entry["item"], f"lines[{i}].item")
            matches = [ol for ol in order_lines if ol.item_id == item.pk]
            if entry.get("line_number"):
                matches = [ol for ol in matches if ol.line_number == entry["line_number"]]
            if not matches:
                raise field_error(f"lines[{i}].item", f"{order.number} has no line of {item.sku}.", "not_on_order")
            if len(matches) > 1:
                raise field_error(
                    f"lines[{i}].line_number", f"{item.sku} is on several lines; give the line number.", "ambiguous"
                )
            quantity = to_base_quantity(
                item, entry["quantity"], entry.get("unit") or None, field=f"lines[{i}].quantity"
            )
            lines.append({"line": matches[0], "quantity": quantity, "reason": entry["reason"]})
        rma = create_return(user=request.user, order=order, lines=lines, site=site, note=v.get("note", ""))
        return self._respond(rma, status.HTTP_201_CREATED)

    def _decide(self, request, approve: bool):
        data = ReturnDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rma = decide_return(
            user=request.user, rma=self.get_object(), approve=approve, note=data.validated_data.get("note", "")
        )
        return self._respond(rma)

    @extend_schema(request=ReturnDecisionSerializer, responses={200: ReturnSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve what the return waits for (its authorization, or its credit); not by the requester."""
        return self._decide(request, True)

    @extend_schema(request=ReturnDecisionSerializer, responses={200: ReturnSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject the authorization (the return is refused) or the credit."""
        return self._decide(request, False)
