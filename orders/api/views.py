from __future__ import annotations

import hashlib

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound as DRFNotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.feeds import updated_since_filter
from core.api.idempotency import idempotent
from core.errors import PermissionDenied, ValidationFailed
from governance import permissions
from governance.models import Site
from inventory.models import Item
from inventory.units import to_base_quantity
from orders import selectors, services
from orders.models import Allocation, AllocationDecision, Customer, SalesOrder, SalesOrderLine

from .serializers import (
    AtpSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    ReasonSerializer,
    SalesOrderInputSerializer,
    SalesOrderListSerializer,
    SalesOrderPatchSerializer,
    SalesOrderSerializer,
)


class CustomerFilter(django_filters.FilterSet):
    home_site = django_filters.CharFilter(field_name="home_site__code")
    region = django_filters.CharFilter()
    active = django_filters.BooleanFilter()
    credit_overdue = django_filters.BooleanFilter()

    class Meta:
        model = Customer
        fields = ["home_site", "region", "active", "credit_overdue", "priority"]


class CustomerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Customers (enterprise master data): everyone signed in reads them; admins and planners maintain them."""

    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    lookup_field = "code"
    ordering_fields = ["code", "name", "priority", "credit_limit"]
    ordering = ["code"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return selectors.customers_for(self.request.user)

    def get_serializer_class(self):
        return CustomerUpdateSerializer if self.action == "partial_update" else CustomerSerializer

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        code, name = data.pop("code"), data.pop("name")
        serializer.instance = services.create_customer(user=self.request.user, code=code, name=name, **data)

    def perform_update(self, serializer):
        serializer.instance = services.update_customer(
            user=self.request.user, customer=serializer.instance, **serializer.validated_data
        )


class SalesOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=SalesOrder.Status.choices)
    customer = django_filters.CharFilter(field_name="customer__code")
    site = django_filters.CharFilter(field_name="site__code")
    promised_from = django_filters.DateFilter(field_name="promised_date", lookup_expr="gte")
    promised_to = django_filters.DateFilter(field_name="promised_date", lookup_expr="lte")
    promised_date = django_filters.DateFilter()
    channel = django_filters.ChoiceFilter(choices=SalesOrder.Channel.choices)
    number = django_filters.CharFilter()
    carrier = django_filters.CharFilter(lookup_expr="iexact")
    route = django_filters.CharFilter(lookup_expr="iexact")
    cutoff_before = django_filters.IsoDateTimeFilter(field_name="cutoff", lookup_expr="lte")
    updated_since = updated_since_filter()

    class Meta:
        model = SalesOrder
        fields = ["status", "customer", "site", "promised_date", "channel", "priority", "number", "carrier", "route"]


def order_etag(order: SalesOrder) -> str:
    digest = hashlib.sha1(f"{order.pk}:{order.version}:{order.updated_at.isoformat()}".encode()).hexdigest()[:20]
    return f'"{digest}"'


class SalesOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sales orders: create drafts, edit them while draft, validate, release for allocation, hold, cancel."""

    filterset_class = SalesOrderFilter
    ordering_fields = ["created_at", "promised_date", "priority", "number", "updated_at", "id"]
    ordering = ["-created_at"]

    #: actions whose lookup only finds the order (the service locks and reads it again); the answer is read
    #: afterwards with its lines (``_respond``), so prefetching them for the lookup would read them twice
    LOOKUP_ONLY = {"partial_update", "validate", "release", "hold", "cancel"}

    def get_queryset(self):
        qs = selectors.orders_for(self.request.user)
        if self.action == "list" or self.action in self.LOOKUP_ONLY:
            return qs
        return self._with_lines(qs)

    @staticmethod
    def _with_lines(qs):
        return qs.prefetch_related(
            Prefetch(
                "lines",
                queryset=SalesOrderLine.objects.select_related("item", "ship_from").prefetch_related(
                    Prefetch("allocations", queryset=Allocation.objects.select_related("site", "item"))
                ),
            ),
            Prefetch("decisions", queryset=AllocationDecision.objects.select_related("site", "item", "line")),
        )

    def get_serializer_class(self):
        if self.action == "list":
            return SalesOrderListSerializer
        return SalesOrderSerializer

    def _respond(self, order: SalesOrder, code=status.HTTP_200_OK, *, fetched: bool = False) -> Response:
        if not fetched:
            order = self._with_lines(selectors.orders_for(self.request.user)).get(pk=order.pk)
        response = Response(SalesOrderSerializer(order, context=self.get_serializer_context()).data, status=code)
        response["ETag"] = order_etag(order)
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._respond(self.get_object(), fetched=True)  # get_object read it with its lines

    @extend_schema(
        request=SalesOrderInputSerializer,
        responses={201: SalesOrderSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = SalesOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        payload = dict(data.validated_data)
        lines = [dict(line) for line in payload.pop("lines")]
        order = services.create_order(user=request.user, lines=lines, **payload)
        return self._respond(order, status.HTTP_201_CREATED, fetched=True)  # handed back with its lines

    @extend_schema(
        request=SalesOrderPatchSerializer,
        responses={200: SalesOrderSerializer},
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)],
    )
    def partial_update(self, request, *args, **kwargs):
        order = self.get_object()
        if_match = request.headers.get("If-Match")
        if if_match and if_match.strip() not in ("*", order_etag(order)):
            from core.api.errors import problem

            return problem(
                412, "Precondition failed", "The order changed since you read it; reload and retry.", code="stale_etag"
            )
        data = SalesOrderPatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = dict(data.validated_data)
        if "lines" in changes:
            changes["lines"] = [dict(line) for line in changes["lines"]]
        order = services.update_draft(user=request.user, order=order, **changes)
        return self._respond(order)

    @extend_schema(request=None, responses={200: SalesOrderSerializer})
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        return self._respond(services.validate_order(user=request.user, order=self.get_object()))

    @extend_schema(request=None, responses={202: SalesOrderSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release for allocation: 202, allocation runs on the allocation worker within seconds. A credit
        problem puts the order ON_HOLD (still 202; see `status` and `hold_reason`)."""
        return self._respond(
            services.release_order(user=request.user, order=self.get_object()), status.HTTP_202_ACCEPTED
        )

    @extend_schema(request=ReasonSerializer, responses={200: SalesOrderSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(
            services.hold_order(
                user=request.user, order=self.get_object(), reason=data.validated_data.get("reason", "")
            )
        )

    @extend_schema(request=ReasonSerializer, responses={200: SalesOrderSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._respond(
            services.cancel_order(
                user=request.user, order=self.get_object(), reason=data.validated_data.get("reason", "")
            )
        )


class AtpView(APIView):
    """Available to promise: per visible site, what can be promised now for an item and quantity."""

    @extend_schema(
        parameters=[
            OpenApiParameter("item", str, required=True, description="Item SKU"),
            OpenApiParameter("quantity", str, required=False, description="Quantity (default 1)"),
            OpenApiParameter("unit", str, required=False, description="Unit code (default: base unit)"),
            OpenApiParameter("site", str, required=False, description="Site code"),
        ],
        responses={200: AtpSerializer},
    )
    def get(self, request):
        sku = request.query_params.get("item")
        if not sku:
            raise ValidationFailed(
                "Give ?item=<sku>.",
                errors=[{"field": "item", "code": "required", "message": "This parameter is required."}],
            )
        item = Item.objects.prefetch_related("units").filter(sku=sku).first()
        if item is None:
            raise DRFNotFound(f"No item {sku!r}.")
        quantity = to_base_quantity(
            item, request.query_params.get("quantity", "1"), request.query_params.get("unit") or None
        )
        site = None
        code = request.query_params.get("site")
        if code:
            site = Site.objects.filter(code=code).first()
            if site is None or not permissions.can_see_site(request.user, site):
                raise DRFNotFound(f"No site {code!r}.")
        if not permissions.visible_sites(request.user).exists():
            raise PermissionDenied("You belong to no site.")
        rows = selectors.available_to_promise(user=request.user, item=item, quantity=quantity, site=site)
        return Response(AtpSerializer({"item": item.sku, "quantity": quantity, "sites": rows}).data)
