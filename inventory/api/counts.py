"""cycle-counts/: blind cycle counts. Counters see what to count (location, item, lot), never the expected
quantity; approvers see quantities and variances once a line's counting is over (and never for a line they
counted themselves)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.idempotency import idempotent
from core.errors import DomainError, NotFound
from core.validation import field_error
from governance import permissions
from governance.models import Site
from inventory.api.scanning import (
    SCANNED_ITEM_HELP,
    identified_item,
    report_refusal,
    required_quantity,
    scanned_item,
    unit_for,
)
from inventory.models import CycleCount, CycleCountLine, Item, Location, Lot
from inventory.services.counts import (
    create_cycle_count,
    decide_count,
    enter_count,
    may_see_expected,
    record_found_stock,
)
from inventory.signals import scan_skipped
from inventory.units import to_base_quantity

#: fields only approvers see, and only once counting of the line is over
REVIEW_FIELDS = (
    "first_quantity",
    "recount_quantity",
    "counted_quantity",
    "expected_quantity",
    "variance",
    "variance_value",
)


def _floor_record(request, count: CycleCount) -> dict:
    """What a refused scan of a count entry is recorded against (the adoption records, warehouse.FloorEvent)."""
    return {
        "site_id": count.site_id,
        "user": request.user,
        "process": "COUNT",
        "task_id": count.pk,
        "task_ref": count.number,
    }


class CycleCountLineSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code", read_only=True)
    item = serializers.CharField(source="item.sku", read_only=True)
    lot = serializers.CharField(source="lot.number", read_only=True, allow_null=True, default=None)
    first_counted_by = serializers.CharField(
        source="first_counted_by.username", read_only=True, default=None, allow_null=True
    )
    recounted_by = serializers.CharField(source="recounted_by.username", read_only=True, default=None, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, default=None, allow_null=True)
    first_quantity = serializers.IntegerField(read_only=True, required=False, allow_null=True)
    recount_quantity = serializers.IntegerField(read_only=True, required=False, allow_null=True)
    counted_quantity = serializers.IntegerField(read_only=True, required=False, allow_null=True)
    expected_quantity = serializers.IntegerField(
        read_only=True, required=False, allow_null=True, help_text="Approvers only, after counting"
    )
    variance = serializers.IntegerField(read_only=True, required=False, allow_null=True)
    variance_value = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, required=False, allow_null=True
    )

    class Meta:
        model = CycleCountLine
        fields = [
            "id",
            "location",
            "item",
            "lot",
            "trigger",
            "trigger_reason",
            "status",
            "first_counted_by",
            "first_counted_at",
            "recounted_by",
            "recounted_at",
            "decided_by",
            "decided_at",
            "posted_at",
            *REVIEW_FIELDS,
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        user = self.context.get("user")
        if user is None or not may_see_expected(user, instance):
            # null, not absent: the fields are in every answer, as the schema says (blind stock does the same)
            data.update(dict.fromkeys(REVIEW_FIELDS))
        return data


class CycleCountSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default=None, allow_null=True)
    lines = serializers.SerializerMethodField()
    lines_to_count = serializers.SerializerMethodField()

    class Meta:
        model = CycleCount
        fields = [
            "id",
            "number",
            "site",
            "origin",
            "plan_date",
            "status",
            "note",
            "created_by",
            "created_at",
            "counted_at",
            "completed_at",
            "lines_to_count",
            "lines",
        ]
        read_only_fields = fields

    @extend_schema_field(CycleCountLineSerializer(many=True))
    def get_lines(self, obj) -> list[dict]:
        lines = obj.lines.all()
        return CycleCountLineSerializer(lines, many=True, context=self.context).data

    def get_lines_to_count(self, obj) -> int:
        return sum(1 for line in obj.lines.all() if line.status in CycleCountLine.TO_COUNT)


class CycleCountInputSerializer(serializers.Serializer):
    site = serializers.CharField(max_length=20)
    locations = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False, max_length=500)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CountEntrySerializer(serializers.Serializer):
    quantity = serializers.DecimalField(
        max_digits=16,
        decimal_places=3,
        required=False,
        help_text="Counted, in `unit` (or in the unit of a scanned unit GTIN); left out: a scanned label's count",
    )
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    item = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text=SCANNED_ITEM_HELP + "; checked against the line's item and lot when given",
    )


class FoundStockSerializer(CountEntrySerializer):
    location = serializers.CharField(max_length=40)
    item = serializers.CharField(max_length=200, help_text="The SKU, or a GTIN or GS1-128 label of any item")
    lot = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Lot number (or a GS1-128 label with one)"
    )


class CountDecisionSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class CycleCountFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.ChoiceFilter(choices=CycleCount.Status.choices)
    origin = django_filters.ChoiceFilter(choices=CycleCount.Origin.choices)
    plan_date = django_filters.DateFilter()

    class Meta:
        model = CycleCount
        fields = ["site", "status", "origin", "plan_date"]


class CycleCountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cycle counts. POST makes a count of the named locations (supervisors); counters post each line's count
    to ``{id}/lines/{line_id}/count/`` and never see the expected quantity; ``{id}/approve/`` and
    ``{id}/reject/`` decide the variances above the site's approval value (not by someone who counted)."""

    serializer_class = CycleCountSerializer
    filterset_class = CycleCountFilter
    ordering_fields = ["created_at", "plan_date"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return permissions.restrict(
            CycleCount.objects.select_related("site", "created_by").prefetch_related(
                "lines__location",
                "lines__item",
                "lines__lot",
                "lines__first_counted_by",
                "lines__recounted_by",
                "lines__decided_by",
                "lines__count",
            ),
            self.request.user,
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "user": self.request.user}

    def _respond(self, count, code=status.HTTP_200_OK):
        count = self.get_queryset().get(pk=count.pk)
        return Response(CycleCountSerializer(count, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        request=CycleCountInputSerializer,
        responses={201: CycleCountSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = CycleCountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        site = Site.objects.filter(code=v["site"]).first()
        if site is None or not permissions.can_see_site(request.user, site):
            raise field_error("site", f"No site {v['site']!r}.", "does_not_exist")
        by_code = {loc.code: loc for loc in Location.objects.filter(site=site, code__in=v["locations"])}
        missing = [code for code in v["locations"] if code not in by_code]
        if missing:
            raise field_error("locations", f"{site.code} has no location {', '.join(missing)}.", "does_not_exist")
        count = create_cycle_count(
            user=request.user, site=site, locations=[by_code[c] for c in v["locations"]], note=v.get("note", "")
        )
        return self._respond(count, status.HTTP_201_CREATED)

    @extend_schema(request=CountEntrySerializer, responses={200: CycleCountLineSerializer})
    @action(detail=True, methods=["post"], url_path=r"lines/(?P<line_id>[0-9]+)/count")
    def count_line(self, request, pk=None, line_id=None):
        """Enter the counted quantity of one line (blind: the response never shows the expected quantity)."""
        count = self.get_object()
        line = CycleCountLine.objects.select_related("item", "lot").filter(pk=line_id, count=count).first()
        if line is None:
            raise NotFound("No such count line.")
        data = CountEntrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        item = Item.objects.prefetch_related("units").get(pk=line.item_id)
        scan = scanned_item(
            item,
            scanned=v.get("item", ""),
            quantity=v.get("quantity"),
            task_lot=line.lot.number if line.lot_id else "",
            sku_required=True,
            record=_floor_record(request, count),
        )
        quantity = to_base_quantity(
            item,
            required_quantity(scan.quantity, what="counted quantity"),
            unit_for(scan, v.get("unit")),
            allow_zero=True,
        )
        line = enter_count(user=request.user, line=line, quantity=quantity)
        scan_skipped.send(
            sender=CycleCountLine,
            field="location",
            code="no_location_scan",
            expected=line.location.code,
            detail="Counted through the API by line, without the location scan.",
            **_floor_record(request, count),
        )
        line = CycleCountLine.objects.select_related(
            "count", "location", "item", "lot", "first_counted_by", "recounted_by", "decided_by"
        ).get(pk=line.pk)
        return Response(CycleCountLineSerializer(line, context=self.get_serializer_context()).data)

    @extend_schema(request=FoundStockSerializer, responses={201: CycleCountLineSerializer})
    @action(detail=True, methods=["post"])
    def found(self, request, pk=None):
        """Record an item or lot found at a location of the count that the count does not list."""
        count = self.get_object()
        data = FoundStockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        location = Location.objects.filter(site_id=count.site_id, code=v["location"]).first()
        if location is None:
            raise field_error("location", f"No location {v['location']!r} at this site.", "does_not_exist")
        try:
            item = identified_item(v["item"])
        except DomainError as exc:
            raise report_refusal(exc, record=_floor_record(request, count), scanned=v["item"])
        if item is None:
            raise field_error("item", f"No item {v['item']!r}.", "does_not_exist")
        scan = scanned_item(
            item,
            scanned=v["item"],
            quantity=v.get("quantity"),
            lot=v.get("lot", ""),
            record=_floor_record(request, count),
        )
        lot = None
        if scan.lot:
            lot = Lot.objects.filter(item=item, number=scan.lot).first()
            if lot is None:
                raise field_error("lot", f"{item.sku} has no lot {scan.lot!r}.", "does_not_exist")
        quantity = to_base_quantity(
            item, required_quantity(scan.quantity, what="quantity found"), unit_for(scan, v.get("unit"))
        )
        line = record_found_stock(
            user=request.user, count=count, location=location, item=item, lot=lot, quantity=quantity
        )
        line = CycleCountLine.objects.select_related(
            "count", "location", "item", "lot", "first_counted_by", "recounted_by", "decided_by"
        ).get(pk=line.pk)
        return Response(
            CycleCountLineSerializer(line, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    def _decide(self, request, approve: bool):
        data = CountDecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        count = decide_count(
            user=request.user, count=self.get_object(), approve=approve, note=data.validated_data.get("note", "")
        )
        return self._respond(count)

    @extend_schema(request=CountDecisionSerializer, responses={200: CycleCountSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Post the variances waiting for approval (not by someone who counted a line of this count)."""
        return self._decide(request, True)

    @extend_schema(request=CountDecisionSerializer, responses={200: CycleCountSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject the variances waiting for approval: nothing is posted."""
        return self._decide(request, False)
