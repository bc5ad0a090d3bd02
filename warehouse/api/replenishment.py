"""replenishment/tasks/: pick-face refills from reserve storage, confirmed by scanning."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action

from core.api.mixins import ApiViewMixin
from core.validation import MAX_QUANTITY
from governance import permissions
from inventory.api.scanning import SCANNED_ITEM_HELP, required_quantity, scanned_item
from warehouse.models import ReplenishmentTask
from warehouse.services.floor import floor_record
from warehouse.services.replenishment import cancel_replenishment_task, confirm_replenishment_task


class ReplenishmentTaskSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", read_only=True)
    item = serializers.CharField(source="item.sku", read_only=True)
    lot = serializers.CharField(source="lot.number", default=None, read_only=True, allow_null=True)
    from_location = serializers.CharField(source="from_location.code", read_only=True)
    to_location = serializers.CharField(source="to_location.code", read_only=True)
    wave = serializers.CharField(source="wave.number", default=None, read_only=True, allow_null=True)
    reason = serializers.JSONField(read_only=True, help_text="The pick face's numbers when the task was made")

    class Meta:
        model = ReplenishmentTask
        fields = [
            "id",
            "site",
            "item",
            "lot",
            "from_location",
            "to_location",
            "quantity",
            "trigger",
            "wave",
            "reason",
            "status",
            "moved_quantity",
            "created_at",
            "confirmed_at",
        ]
        read_only_fields = fields


class ReplenishmentConfirmSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=MAX_QUANTITY,
        required=False,
        help_text="Less than asked: short. In the unit of a scanned unit GTIN; left out: a scanned label's count",
    )
    location = serializers.CharField(max_length=40, help_text="Scanned source (reserve) location code")
    lot = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Scanned lot (or a GS1-128 label with one)"
    )
    item = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=SCANNED_ITEM_HELP)


class ReplenishmentTaskFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    item = django_filters.CharFilter(field_name="item__sku")
    to_location = django_filters.CharFilter(field_name="to_location__code")
    status = django_filters.MultipleChoiceFilter(choices=ReplenishmentTask.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=ReplenishmentTask.Trigger.choices)

    class Meta:
        model = ReplenishmentTask
        fields = ["site", "item", "to_location", "status", "trigger"]


class ReplenishmentTaskViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pick-face refills: move `quantity` from `from_location` (reserve) to `to_location` (pick face). The source
    units are reserved when the task is made; confirm with what was scanned (less than asked: short)."""

    serializer_class = ReplenishmentTaskSerializer
    filterset_class = ReplenishmentTaskFilter
    ordering = ["site__code", "created_at", "id"]

    def get_queryset(self):
        return permissions.restrict(
            ReplenishmentTask.objects.select_related("site", "item", "lot", "from_location", "to_location", "wave"),
            self.request.user,
        )

    @extend_schema(request=ReplenishmentConfirmSerializer, responses={200: ReplenishmentTaskSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        task = self.get_object()
        data = ReplenishmentConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        scan = scanned_item(
            task.item,
            scanned=v.get("item", ""),
            quantity=v.get("quantity"),
            lot=v.get("lot", ""),
            task_lot=task.lot.number if task.lot_id else "",
            record=floor_record(request, task),
        )
        task = confirm_replenishment_task(
            user=request.user,
            task=task,
            quantity=required_quantity(scan.quantity, what="moved quantity"),
            location_code=v["location"],
            lot_number=scan.lot,
            item_sku=scan.item,
        )
        return self.respond(task)

    @extend_schema(request=None, responses={200: ReplenishmentTaskSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self.respond(cancel_replenishment_task(user=request.user, task=self.get_object()))
