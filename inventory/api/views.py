"""Inventory API: items, locations, balances, the ledger and adjustments.

Every write calls one inventory service. Balances and the ledger are read only; they change only through
services that write the ledger.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action

from core.api.mixins import ApiViewMixin, ETagMixin, IdempotentCreateMixin
from core.api.pagination import LedgerCursorPagination
from governance import permissions
from inventory import selectors
from inventory.models import Adjustment, Item, ItemBarcode, ItemSubstitute, Location
from inventory.services import adjust_stock, create_item, create_location, decide_adjustment, update_item

from .filters import (
    AdjustmentFilter,
    ItemFilter,
    LocationFilter,
    StockLevelFilter,
    StockMoveFilter,
    StockQuantFilter,
)
from .serializers import (
    AdjustmentInputSerializer,
    AdjustmentSerializer,
    DecisionNoteSerializer,
    ItemSerializer,
    ItemUpdateSerializer,
    LocationCreateSerializer,
    LocationSerializer,
    StockLevelSerializer,
    StockMoveSerializer,
    StockQuantSerializer,
)

# --- items ---------------------------------------------------------------------------------------------------


def create_item_from(*, user, validated: dict) -> Item:
    """``create_item`` with an ItemSerializer's validated data (items/ and items/bulk/)."""
    data = dict(validated)
    units = [dict(u) for u in data.pop("units", [])]
    substitutes = data.pop("substitutes", [])
    barcodes = [dict(b) for b in data.pop("barcodes", [])]
    return create_item(
        user=user,
        sku=data.pop("sku"),
        description=data.pop("description"),
        units=units,
        substitutes=substitutes,
        barcodes=barcodes,
        **data,
    )


def update_item_from(*, user, item: Item, validated: dict) -> Item:
    """``update_item`` with an ItemUpdateSerializer's validated (partial) data: the lists given replace the item's."""
    data = dict(validated)
    units = [dict(u) for u in data.pop("units")] if "units" in data else None
    substitutes = data.pop("substitutes", None)
    barcodes = [dict(b) for b in data.pop("barcodes")] if "barcodes" in data else None
    return update_item(user=user, item=item, units=units, substitutes=substitutes, barcodes=barcodes, **data)


@extend_schema_view(
    create=extend_schema(
        summary="Create an item (admins and planners)",
        responses={201: ItemSerializer},
        examples=[
            OpenApiExample(
                "Item sold by the case",
                value={
                    "sku": "BOLT-M8",
                    "description": "Bolt M8 x 40",
                    "standard_cost": "0.12",
                    "units": [{"code": "CASE", "factor": 100}],
                    "abc_class": "B",
                },
                request_only=True,
            )
        ],
    ),
    partial_update=extend_schema(
        summary="Change an item (admins and planners); `If-Match` guards against lost updates",
        request=ItemUpdateSerializer,
        responses={200: ItemSerializer},
    ),
)
class ItemViewSet(
    ApiViewMixin,
    ETagMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Items: enterprise master data referenced by `sku`. Everyone signed in reads them; admins and planners
    create and change them. Each item carries an `ETag`."""

    serializer_class = ItemSerializer
    output_serializer_class = ItemSerializer
    lookup_field = "sku"
    lookup_value_regex = r"[A-Za-z0-9][A-Za-z0-9._-]*"
    filterset_class = ItemFilter
    ordering_fields = ["sku", "description", "abc_class", "standard_cost", "updated_at", "id"]
    ordering = ["sku"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    etag_fields = ("updated_at",)

    def get_queryset(self):
        return Item.objects.prefetch_related(
            "units",
            Prefetch("substitute_links", queryset=ItemSubstitute.objects.select_related("substitute")),
            Prefetch("barcodes", queryset=ItemBarcode.objects.select_related("unit")),
        )

    def get_serializer_class(self):
        return ItemUpdateSerializer if self.action == "partial_update" else ItemSerializer

    def perform_create(self, serializer):
        return create_item_from(user=self.request.user, validated=serializer.validated_data)

    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        serializer = ItemUpdateSerializer(item, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = self.lock_for_write(request, item)
            item = update_item_from(user=request.user, item=locked, validated=serializer.validated_data)
        return self.respond(item)


# --- locations -----------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Create a location at a site (site admins and supervisors)",
        request=LocationCreateSerializer,
        responses={201: LocationSerializer},
        examples=[
            OpenApiExample(
                "Storage bin",
                value={"site": "DC1", "code": "B-02-03", "kind": "STORAGE", "capacity": 500},
                request_only=True,
            )
        ],
    )
)
class LocationViewSet(
    ApiViewMixin, IdempotentCreateMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Locations of your sites, physical and virtual. `code` is unique within a site."""

    serializer_class = LocationSerializer
    output_serializer_class = LocationSerializer
    filterset_class = LocationFilter
    ordering_fields = ["code", "kind"]
    ordering = ["site__code", "code"]

    def get_queryset(self):
        return permissions.restrict(Location.objects.select_related("site", "zone"), self.request.user)

    def get_serializer_class(self):
        return LocationCreateSerializer if self.action == "create" else LocationSerializer

    def perform_create(self, serializer):
        return create_location(user=self.request.user, **serializer.validated_data)


# --- balances and the ledger -----------------------------------------------------------------------------------


class BlindStockMixin:
    """Blind counts beyond the count (issue 12, finding 3): the serializer nulls the quantities the user may not see
    while a count is open (``inventory.selectors.blind_stock_for``), and the quantity filters and orderings of
    ``revealing_params`` leave those rows out, so they cannot be narrowed down either."""

    revealing_params: tuple[str, ...] = ()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "blind": self._blind()}

    def _blind(self):
        if not hasattr(self, "_blind_stock"):
            self._blind_stock = selectors.blind_stock_for(self.request.user)
        return self._blind_stock

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        blind = self._blind()
        if blind and any(p in self.request.query_params for p in self.revealing_params):
            queryset = self.exclude_hidden(queryset, blind)
        return queryset

    def exclude_hidden(self, queryset, blind):
        return queryset


class StockLevelViewSet(
    BlindStockMixin, ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Per item and site: on hand by status, allocated and available to promise."""

    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    ordering_fields = ["available", "allocated", "updated_at", "id"]
    ordering = ["site__code", "item__sku"]

    #: query parameters that would tell a blind counter something about a hidden quantity
    revealing_params = ("available_below", "ordering", "updated_since")

    def get_queryset(self):
        return selectors.stock_levels_for(self.request.user)

    def exclude_hidden(self, queryset, blind):
        return blind.exclude_levels(queryset)


class StockQuantViewSet(
    BlindStockMixin, ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Balances per item, location, lot and status; `reserved` is claimed by tasks."""

    serializer_class = StockQuantSerializer
    filterset_class = StockQuantFilter
    ordering_fields = ["quantity", "updated_at"]
    ordering = ["site__code", "location__code", "item__sku", "id"]

    revealing_params = ("nonzero", "ordering")

    def get_queryset(self):
        return selectors.stock_quants_for(self.request.user)

    def exclude_hidden(self, queryset, blind):
        return blind.exclude_quants(queryset)


class StockMoveViewSet(
    BlindStockMixin, ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The stock ledger (append-only), newest first, cursor paginated (`?cursor=`)."""

    serializer_class = StockMoveSerializer
    filterset_class = StockMoveFilter
    pagination_class = LedgerCursorPagination
    filter_backends = [DjangoFilterBackend]  # the cursor fixes the order: newest first

    def get_queryset(self):
        return selectors.stock_moves_for(self.request.user)


# --- adjustments ---------------------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(
        summary="Adjust stock at a location",
        description="Applied at once (`status` APPLIED) when its value is at most the site's approval value; "
        "otherwise PENDING_APPROVAL and nothing changes until an approver who is not the requester approves.",
        request=AdjustmentInputSerializer,
        responses={201: AdjustmentSerializer},
        examples=[
            OpenApiExample(
                "Two cases lost",
                value={
                    "site": "DC1",
                    "location": "A-01-01",
                    "item": "WIDGET",
                    "quantity_delta": -2,
                    "unit": "CASE",
                    "reason_code": "LOST",
                    "note": "Not found at cycle check",
                },
                request_only=True,
            )
        ],
    )
)
class AdjustmentViewSet(
    ApiViewMixin,
    ETagMixin,
    IdempotentCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Stock adjustments of your sites. Approve or reject a pending one (approvers other than the requester)."""

    serializer_class = AdjustmentSerializer
    output_serializer_class = AdjustmentSerializer
    filterset_class = AdjustmentFilter
    ordering_fields = ["created_at", "value"]
    ordering = ["-created_at", "-id"]
    etag_fields = ("status", "decided_by_id", "applied_at")

    def get_queryset(self):
        return permissions.restrict(
            Adjustment.objects.select_related("site", "location", "item", "lot", "requested_by", "decided_by"),
            self.request.user,
        )

    def get_serializer_class(self):
        return AdjustmentInputSerializer if self.action == "create" else AdjustmentSerializer

    def perform_create(self, serializer):
        v = serializer.validated_data
        return adjust_stock(
            user=self.request.user,
            location=v["location"],
            item=v["item"],
            lot=v["lot"],
            quantity_delta=v["quantity_delta"],
            reason_code=v["reason_code"],
            note=v["note"],
            stock_status=v["stock_status"],
        )

    def _decide(self, request, approve: bool):
        data = DecisionNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        adjustment = self.get_object()
        # the decision itself re-checks the state under lock; If-Match only guards against deciding on a stale view
        self.check_if_match(request, adjustment)
        adjustment = decide_adjustment(
            user=request.user, adjustment=adjustment, approve=approve, note=data.validated_data.get("note", "")
        )
        return self.respond(adjustment)

    @extend_schema(summary="Approve a pending adjustment: it is applied now", request=DecisionNoteSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(summary="Reject a pending adjustment: nothing changes", request=DecisionNoteSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, False)
