"""Bulk API of the inventory app (issue 14): items/bulk/, locations/bulk/ and stock-levels/query/.

Rows are validated by the single endpoints' serializers and written by the same services (``create_item`` /
``update_item``, ``create_location`` / ``update_location``); see :mod:`core.api.bulk` for the shared
request, the per-row results and the atomic option. The stock query reads like the ``stock-levels/`` list: only
the user's sites, and the quantities of a level the user is blind to (an open count) are null.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.bulk import (
    MAX_ROWS,
    BulkHandler,
    BulkProblemSerializer,
    BulkResultSerializer,
    BulkView,
    RowFailed,
    RowsSerializer,
    bulk_request_serializer,
    row_failure,
)
from core.api.errors import PROBLEM
from core.api.fields import clean_key
from core.api.mixins import ApiViewMixin
from governance import permissions
from inventory import selectors
from inventory.models import Item, Location
from inventory.services import create_location, update_location

from .serializers import ItemSerializer, ItemUpdateSerializer, LocationCreateSerializer, StockLevelSerializer
from .views import BlindStockMixin, create_item_from, update_item_from

BULK_DESCRIPTION = (
    "Up to 1,000 rows, each created or updated by its natural key through the same validation and service as "
    "the single endpoint. Not atomic (default): each row is written on its own, bad rows are reported, and the "
    "answer is 200 with a result per row. `atomic: true`: all rows or none; a failed row refuses the request with "
    "a 422 problem carrying the same `results`. More than 1,000 rows: 400, nothing written. `Idempotency-Key` "
    "replays the first answer."
)
REFUSED = OpenApiResponse(
    BulkProblemSerializer,
    description="An atomic request with a failed row (nothing was written; `results` lists the failed rows), or "
    "an Idempotency-Key reused with a different body.",
)


def _valid(serializer) -> dict:
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- items -------------------------------------------------------------------------------------------------------


class ItemBulkHandler(BulkHandler):
    """An item row by ``sku``: a new SKU is created (ItemSerializer, ``create_item``); a known one is changed
    like PATCH items/{sku}/ (the fields given; ``units``, ``substitutes``, ``barcodes`` replace the lists)."""

    key_fields = ("sku",)

    def check_request(self) -> None:
        permissions.require_master_data(self.user)  # as items/: 403 for the whole request

    def key_of(self, row):
        return clean_key(row.get("sku"))

    def fetch_existing(self, keys):
        return {item.sku: item for item in Item.objects.filter(sku__in=keys)}

    def validate_create(self, row):
        return _valid(ItemSerializer(data=row, context=self.context))

    def validate_update(self, row, instance):
        return _valid(ItemUpdateSerializer(instance, data=row, partial=True, context=self.context))

    def create(self, data):
        return create_item_from(user=self.user, validated=data)

    def update(self, instance, data):
        return update_item_from(user=self.user, item=instance, validated=data)


ItemBulkRequest = bulk_request_serializer(
    "ItemBulkRequest", ItemSerializer, "Items to create (new SKU) or change (known SKU: the fields given)."
)


@extend_schema_view(
    post=extend_schema(
        summary="Create or change up to 1,000 items by SKU (admins and planners)",
        description=BULK_DESCRIPTION,
        request=ItemBulkRequest,
        responses={200: BulkResultSerializer, (422, PROBLEM): REFUSED},
        examples=[
            OpenApiExample(
                "One new item, one price change",
                value={
                    "rows": [
                        {"sku": "BOLT-M8", "description": "Bolt M8 x 40", "units": [{"code": "CASE", "factor": 100}]},
                        {"sku": "WIDGET", "standard_cost": "10.50"},
                    ],
                    "atomic": False,
                },
                request_only=True,
            )
        ],
    )
)
class ItemBulkView(BulkView):
    handler_class = ItemBulkHandler
    serializer_class = ItemBulkRequest


# --- locations ---------------------------------------------------------------------------------------------------


class LocationBulkHandler(BulkHandler):
    """A location row by ``site`` and ``code``: a new code is created (``create_location``); a known one has the
    fields given changed (``update_location``: kind, zone, aisle, capacity, active). Sites the user cannot see
    read as unknown; a site where the user may not manage locations is a per-row 403-like error."""

    key_fields = ("site", "code")

    def key_of(self, row):
        site, code = clean_key(row.get("site")), clean_key(row.get("code"))
        return (site, code) if site and code else None

    def fetch_existing(self, keys):
        if not keys:
            return {}
        found = permissions.restrict(Location.objects.select_related("site", "zone"), self.user).filter(
            site__code__in={s for s, _ in keys}, code__in={c for _, c in keys}
        )
        wanted = set(keys)
        return {(loc.site.code, loc.code): loc for loc in found if (loc.site.code, loc.code) in wanted}

    def validate_create(self, row):
        return _valid(LocationCreateSerializer(data=row, context=self.context))

    def validate_update(self, row, instance):
        data = _valid(LocationCreateSerializer(data=row, partial=True, context=self.context))
        if "zone" not in row:
            data.pop("zone", None)  # the serializer's validate() resolves a missing zone to None: keep the zone
        data.pop("site", None)
        data.pop("code", None)
        return data

    def create(self, data):
        return create_location(user=self.user, **data)

    def update(self, instance, data):
        return update_location(user=self.user, location=instance, **data)


LocationBulkRequest = bulk_request_serializer(
    "LocationBulkRequest",
    LocationCreateSerializer,
    "Locations to create (new site and code) or change (known: the fields given; `kind` may then be left out).",
)


@extend_schema_view(
    post=extend_schema(
        summary="Create or change up to 1,000 locations by site and code (site admins and supervisors)",
        description=BULK_DESCRIPTION,
        request=LocationBulkRequest,
        responses={200: BulkResultSerializer, (422, PROBLEM): REFUSED},
    )
)
class LocationBulkView(BulkView):
    handler_class = LocationBulkHandler
    serializer_class = LocationBulkRequest


# --- stock levels by item and site -----------------------------------------------------------------------------


class StockLevelQueryRowSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40, help_text="Item SKU")
    site = serializers.CharField(max_length=20, help_text="Site code")


class StockLevelQueryRequestSerializer(serializers.Serializer):
    rows = StockLevelQueryRowSerializer(many=True, max_length=MAX_ROWS, help_text=f"1 to {MAX_ROWS:,} rows")


class StockLevelQueryResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=["found", "not_found", "error"],
        help_text="`not_found`: no stock level of that item at that site, or the site is not one of yours",
    )
    stock_level = StockLevelSerializer(allow_null=True, help_text="As stock-levels/ shows it (blind counts too)")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), allow_null=True)


class StockLevelQueryAnswerSerializer(serializers.Serializer):
    results = StockLevelQueryResultSerializer(many=True)
    found = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Rows not found or invalid")


class StockLevelQueryView(BlindStockMixin, ApiViewMixin, GenericAPIView):
    """Stock levels of up to 1,000 (item, site) pairs in one request, read like the stock-levels/ list."""

    #: a POST that only reads: a token's ``read`` scope is enough (governance.api.permissions)
    reads_only = True
    serializer_class = StockLevelQueryRequestSerializer  # what OPTIONS describes

    def get_queryset(self):
        return selectors.stock_levels_for(self.request.user)

    @extend_schema(
        summary="Stock levels of up to 1,000 items and sites in one request",
        description="Each row `{item, site}` is answered in order with the stock level as `stock-levels/` shows "
        "it: only your sites (another site reads as `not_found`, like an unknown SKU), and the quantities are null "
        "while a count you may not see through is open. A token's `read` scope is enough.",
        request=StockLevelQueryRequestSerializer,
        responses={200: StockLevelQueryAnswerSerializer},
    )
    def post(self, request, *args, **kwargs):
        parsed = RowsSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        rows = parsed.validated_data["rows"]
        keys: list[tuple[str, str] | None] = []
        results: list[dict] = []
        for index, row in enumerate(rows):
            serializer = StockLevelQueryRowSerializer(data=row if isinstance(row, dict) else {})
            if not isinstance(row, dict) or not serializer.is_valid():
                failure = (
                    row_failure(serializers.ValidationError(serializer.errors))
                    if isinstance(row, dict)
                    else RowFailed({"non_field_errors": ["A row is a JSON object."]})
                )
                keys.append(None)
                results.append({"index": index, "status": "error", "stock_level": None, "errors": failure.errors})
                continue
            keys.append((serializer.validated_data["item"], serializer.validated_data["site"]))
            results.append({"index": index})
        wanted = {k for k in keys if k is not None}
        levels = {}
        if wanted:
            found = self.get_queryset().filter(
                item__sku__in={sku for sku, _ in wanted}, site__code__in={code for _, code in wanted}
            )
            levels = {(level.item.sku, level.site.code): level for level in found}
        context = self.get_serializer_context()
        for index, key in enumerate(keys):
            if key is None:
                continue
            level = levels.get(key)
            if level is None:
                results[index].update(
                    status="not_found",
                    stock_level=None,
                    errors={"non_field_errors": [f"No stock level of {key[0]!r} at a site {key[1]!r} of yours."]},
                )
            else:
                results[index].update(
                    status="found", stock_level=StockLevelSerializer(level, context=context).data, errors=None
                )
        answer = {
            "results": results,
            "found": sum(r["status"] == "found" for r in results),
            "failed": sum(r["status"] != "found" for r in results),
        }
        return Response(answer, status=status.HTTP_200_OK)
