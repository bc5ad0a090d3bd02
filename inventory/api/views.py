# NOTE for helpers: written by the lead and covered by tests; extend or fix it, do not rewrite it.
from __future__ import annotations

import hashlib

import django_filters
from django.db.models import Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from distribution_erp.api.errors import problem
from distribution_erp.api.idempotency import idempotent
from distribution_erp.api.pagination import LedgerCursorPagination
from distribution_erp.validation import field_error
from governance import permissions
from governance.models import Site
from inventory import selectors
from inventory.models import Adjustment, InventoryStatus, Item, ItemSubstitute, Location, Lot, StockMove, Zone
from inventory.services import adjust_stock, create_item, create_location, decide_adjustment, update_item
from inventory.units import to_base_quantity

from .serializers import (
    AdjustmentInputSerializer,
    AdjustmentSerializer,
    DecisionNoteSerializer,
    ItemSerializer,
    ItemUpdateSerializer,
    LocationSerializer,
    StockLevelSerializer,
    StockMoveSerializer,
    StockQuantSerializer,
)


def etag_for(*parts) -> str:
    return '"' + hashlib.sha1(":".join(str(p) for p in parts).encode()).hexdigest()[:20] + '"'


def visible_site(user, code, field: str = "site") -> Site:
    site = Site.objects.filter(code=str(code or "")).first()
    if site is None or not permissions.can_see_site(user, site):
        raise field_error(field, f"No site {code!r}.", "does_not_exist")
    return site


class ItemFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter()
    search = django_filters.CharFilter(method="filter_search")

    class Meta:
        model = Item
        fields = ["sku", "category", "abc_class", "lot_tracked", "active", "storage_type"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(sku__icontains=value) | Q(description__icontains=value))


class ItemViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Items (enterprise master data, referenced by `sku`). Admins and planners create and edit them; PATCH
    honours `If-Match` with the item's ETag."""

    lookup_field = "sku"
    lookup_value_regex = r"[^/]+"
    filterset_class = ItemFilter
    ordering_fields = ["sku", "description", "abc_class", "standard_cost"]
    ordering = ["sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Item.objects.prefetch_related(
            "units", Prefetch("substitute_links", queryset=ItemSubstitute.objects.select_related("substitute"))
        )

    def get_serializer_class(self):
        return ItemUpdateSerializer if self.action == "partial_update" else ItemSerializer

    def _respond(self, item, code=status.HTTP_200_OK):
        item = self.get_queryset().get(pk=item.pk)
        response = Response(ItemSerializer(item).data, status=code)
        response["ETag"] = etag_for("item", item.pk, item.updated_at.isoformat())
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._respond(self.get_object())

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        units = [dict(u) for u in data.pop("units", [])]
        substitutes = data.pop("substitutes", [])
        item = create_item(
            user=request.user,
            sku=data.pop("sku"),
            description=data.pop("description"),
            units=units,
            substitutes=substitutes,
            **data,
        )
        return self._respond(item, status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)])
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        if_match = request.headers.get("If-Match")
        if if_match and if_match.strip() not in ("*", etag_for("item", item.pk, item.updated_at.isoformat())):
            return problem(
                412, "Precondition failed", "The item changed since you read it; reload and retry.", code="stale_etag"
            )
        serializer = ItemUpdateSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        units = [dict(u) for u in data.pop("units")] if "units" in data else None
        substitutes = data.pop("substitutes", None)
        item = update_item(user=request.user, item=item, units=units, substitutes=substitutes, **data)
        return self._respond(item)


class LocationFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    zone = django_filters.CharFilter(field_name="zone__code")
    code = django_filters.CharFilter()
    kind = django_filters.ChoiceFilter(choices=Location.Kind.choices)

    class Meta:
        model = Location
        fields = ["site", "zone", "code", "kind", "active"]


class LocationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Locations of the user's sites (`code` is unique within a site)."""

    serializer_class = LocationSerializer
    filterset_class = LocationFilter
    ordering_fields = ["code", "kind"]
    ordering = ["site__code", "code"]

    def get_queryset(self):
        return permissions.restrict(Location.objects.select_related("site", "zone"), self.request.user)

    @idempotent
    def create(self, request, *args, **kwargs):
        serializer = LocationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        site = visible_site(request.user, data["site"]["code"])
        zone = None
        zone_code = (data.get("zone") or {}).get("code") if isinstance(data.get("zone"), dict) else None
        if zone_code:
            zone = Zone.objects.filter(site=site, code=zone_code).first()
            if zone is None:
                raise field_error("zone", f"{site.code} has no zone {zone_code!r}.", "does_not_exist")
        location = create_location(
            user=request.user,
            site=site,
            code=data["code"],
            kind=data["kind"],
            zone=zone,
            capacity=data.get("capacity"),
            aisle=data.get("aisle", ""),
            active=data.get("active", True),
        )
        return Response(LocationSerializer(location).data, status=status.HTTP_201_CREATED)


class StockLevelFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    available_below = django_filters.NumberFilter(field_name="available", lookup_expr="lt")

    class Meta:
        model = selectors.StockLevel
        fields = ["site", "item"]


class StockLevelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Per item and site: on hand by status, allocated and available to promise."""

    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    ordering_fields = ["available", "allocated", "updated_at"]
    ordering = ["site__code", "item__sku"]

    def get_queryset(self):
        return selectors.stock_levels_for(self.request.user)


class StockQuantFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    location = django_filters.CharFilter(field_name="location__code")
    lot = django_filters.CharFilter(field_name="lot__number")
    status = django_filters.ChoiceFilter(choices=InventoryStatus.choices)
    nonzero = django_filters.BooleanFilter(method="filter_nonzero")

    class Meta:
        model = selectors.StockQuant
        fields = ["site", "item", "location", "lot", "status"]

    def filter_nonzero(self, queryset, name, value):
        return queryset.filter(quantity__gt=0) if value else queryset


class StockQuantViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Balances per item, location, lot and status."""

    serializer_class = StockQuantSerializer
    filterset_class = StockQuantFilter
    ordering = ["site__code", "location__code", "item__sku"]

    def get_queryset(self):
        return selectors.stock_quants_for(self.request.user)


class StockMoveFilter(django_filters.FilterSet):
    item = django_filters.CharFilter(field_name="item__sku")
    kind = django_filters.ChoiceFilter(choices=StockMove.Kind.choices)
    reference = django_filters.CharFilter()
    site = django_filters.CharFilter(method="filter_site")
    location = django_filters.CharFilter(method="filter_location")
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMove
        fields = ["item", "kind", "reference"]

    def filter_site(self, queryset, name, value):
        return queryset.filter(Q(from_location__site__code=value) | Q(to_location__site__code=value))

    def filter_location(self, queryset, name, value):
        return queryset.filter(Q(from_location__code=value) | Q(to_location__code=value))


class StockMoveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The stock ledger, newest first, cursor paginated (`?cursor=`). Append-only."""

    serializer_class = StockMoveSerializer
    filterset_class = StockMoveFilter
    pagination_class = LedgerCursorPagination
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return selectors.stock_moves_for(self.request.user)


class AdjustmentFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    status = django_filters.ChoiceFilter(choices=Adjustment.Status.choices)
    reason_code = django_filters.ChoiceFilter(choices=Adjustment.Reason.choices)

    class Meta:
        model = Adjustment
        fields = ["site", "item", "status", "reason_code"]


class AdjustmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Stock adjustments: applied at once up to the site's approval value, else PENDING_APPROVAL until an
    approver who is not the requester approves or rejects them."""

    serializer_class = AdjustmentSerializer
    filterset_class = AdjustmentFilter
    ordering_fields = ["created_at", "value"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return permissions.restrict(
            Adjustment.objects.select_related("site", "location", "item", "lot", "requested_by", "decided_by"),
            self.request.user,
        )

    def _respond(self, adjustment, code=status.HTTP_200_OK):
        adjustment = self.get_queryset().get(pk=adjustment.pk)
        response = Response(AdjustmentSerializer(adjustment).data, status=code)
        response["ETag"] = etag_for("adjustment", adjustment.pk, adjustment.status)
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._respond(self.get_object())

    @extend_schema(
        request=AdjustmentInputSerializer,
        responses={201: AdjustmentSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = AdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        site = visible_site(request.user, v["site"])
        location = Location.objects.filter(site=site, code=v["location"]).first()
        if location is None:
            raise field_error("location", f"{site.code} has no location {v['location']!r}.", "does_not_exist")
        item = Item.objects.prefetch_related("units").filter(sku=v["item"]).first()
        if item is None:
            raise field_error("item", f"No item {v['item']!r}.", "does_not_exist")
        lot = None
        if v.get("lot"):
            lot = Lot.objects.filter(item=item, number=v["lot"]).first()
            if lot is None:
                raise field_error("lot", f"{item.sku} has no lot {v['lot']!r}.", "does_not_exist")
        delta = v["quantity_delta"]
        if delta == 0:
            raise field_error("quantity_delta", "Give a non-zero whole quantity.", "not_positive")
        base = to_base_quantity(item, abs(delta), v.get("unit") or None, field="quantity_delta")
        adjustment = adjust_stock(
            user=request.user,
            location=location,
            item=item,
            lot=lot,
            quantity_delta=base if delta > 0 else -base,
            reason_code=v["reason_code"],
            note=v.get("note", ""),
            stock_status=v["stock_status"],
        )
        return self._respond(adjustment, status.HTTP_201_CREATED)

    def _decide(self, request, approve: bool):
        data = DecisionNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adjustment = decide_adjustment(
            user=request.user, adjustment=self.get_object(), approve=approve, note=data.validated_data.get("note", "")
        )
        return self._respond(adjustment)

    @extend_schema(request=DecisionNoteSerializer, responses={200: AdjustmentSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(request=DecisionNoteSerializer, responses={200: AdjustmentSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)
