"""waves/, pick-tasks/, shipments/ and transfer-orders/."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api.feeds import updated_since_filter
from core.api.idempotency import idempotent
from core.errors import StateConflict
from core.validation import field_error
from governance import permissions
from governance.models import Site
from inventory.api.scanning import SCANNED_ITEM_HELP, required_quantity, scanned_item, scanned_lines
from orders.models import TransferOrder
from warehouse import labels as label_data
from warehouse.models import PickTask, Shipment, Wave
from warehouse.services import confirm_pick, confirm_shipment, pack_wave, plan_wave, release_wave
from warehouse.services.floor import floor_record
from warehouse.services.outbound import MAX_PACKAGE_GRAMS
from warehouse.services.transfers import (
    cancel_transfer,
    create_transfer,
    receive_transfer,
    release_transfer,
    ship_transfer,
)

from .carriers import ShipmentCarrierActions
from .views import ReceiptSerializer


class WaveInputSerializer(serializers.Serializer):
    site = serializers.CharField(max_length=20)
    max_orders = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    max_lines = serializers.IntegerField(min_value=1, max_value=10_000, default=500)
    carrier = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="Orders of this carrier")
    route = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="Orders of this route")
    cutoff_before = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Orders whose ship-by cutoff is at or before this time"
    )
    cutoff = serializers.DateTimeField(required=False, allow_null=True, help_text="Older name of cutoff_before")
    max_priority = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    promised_by = serializers.DateField(required=False, allow_null=True)


class PickTaskSerializer(serializers.ModelSerializer):
    wave = serializers.CharField(source="wave.number", default=None, allow_null=True)
    site = serializers.CharField(source="site.code")
    order = serializers.CharField(source="order_line.order.number", default=None, allow_null=True)
    transfer = serializers.CharField(source="transfer_line.transfer.number", default=None, allow_null=True)
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    location = serializers.CharField(source="location.code")
    to_location = serializers.CharField(source="to_location.code")

    class Meta:
        model = PickTask
        fields = [
            "id",
            "wave",
            "site",
            "order",
            "transfer",
            "item",
            "lot",
            "location",
            "to_location",
            "quantity",
            "sequence",
            "status",
            "picked_quantity",
            "short_reason",
            "confirmed_at",
        ]


class WaveSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    orders = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    pick_tasks = PickTaskSerializer(many=True, read_only=True)

    class Meta:
        model = Wave
        fields = [
            "id",
            "number",
            "site",
            "status",
            "carrier",
            "cutoff",
            "filters",
            "orders",
            "lines",
            "created_at",
            "released_at",
            "completed_at",
            "pick_tasks",
        ]

    def get_orders(self, obj) -> list[str]:
        return sorted({wl.order_line.order.number for wl in obj.lines.all()})

    def get_lines(self, obj) -> int:
        return len(obj.lines.all())


class PickConfirmSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000_000,
        required=False,
        help_text="Less than asked: short. In the unit of a scanned unit GTIN; left out: a scanned label's count",
    )
    location = serializers.CharField(max_length=40, help_text="Scanned location code")
    lot = serializers.CharField(
        max_length=200, required=False, allow_blank=True, help_text="Scanned lot (or a GS1-128 label with one)"
    )
    item = serializers.CharField(max_length=200, required=False, allow_blank=True, help_text=SCANNED_ITEM_HELP)
    short_reason = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        help_text="A short pick: why (" + ", ".join(PickTask.ShortReason.values) + ")",
    )


class ShipmentLineSerializer(serializers.Serializer):
    order = serializers.CharField(source="order.number")
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    quantity = serializers.IntegerField()


class PackageSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    weight_grams = serializers.IntegerField(min_value=0, max_value=MAX_PACKAGE_GRAMS)
    contents = serializers.JSONField(required=False)
    sscc = serializers.CharField(read_only=True, allow_null=True, help_text="Given when its label is first printed")


class ShipmentSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    wave = serializers.CharField(source="wave.number", default=None, allow_null=True)
    lines = ShipmentLineSerializer(many=True, read_only=True)
    packages = PackageSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = [
            "id",
            "number",
            "site",
            "wave",
            "customer_code",
            "ship_to_address",
            "status",
            "carrier",
            "tracking_number",
            "packed_at",
            "shipped_at",
            "updated_at",
            "lines",
            "packages",
        ]


class PackInputSerializer(serializers.Serializer):
    packages = PackageSerializer(many=True, required=False)


class ShipConfirmSerializer(serializers.Serializer):
    carrier = serializers.CharField(max_length=40)
    tracking_number = serializers.CharField(max_length=80)


def _site(user, code, field="site") -> Site:
    site = Site.objects.filter(code=str(code or ""), active=True).first()
    if site is None or not permissions.can_see_site(user, site):
        raise field_error(field, f"No site {code!r}.", "does_not_exist")
    return site


class WaveFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.ChoiceFilter(choices=Wave.Status.choices)

    class Meta:
        model = Wave
        fields = ["site", "status", "carrier"]


class WaveViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Waves: POST plans one from allocated lines (whole orders, most urgent first); release creates pick tasks
    that reserve the exact units; pack puts what was picked into shipments."""

    serializer_class = WaveSerializer
    filterset_class = WaveFilter
    ordering = ["-created_at"]

    def get_queryset(self):
        return permissions.restrict(
            Wave.objects.select_related("site").prefetch_related(
                "lines__order_line__order",
                "pick_tasks__item",
                "pick_tasks__lot",
                "pick_tasks__location",
                "pick_tasks__to_location",
                "pick_tasks__order_line__order",
                "pick_tasks__site",
                "pick_tasks__wave",
                "pick_tasks__transfer_line__transfer",
            ),
            self.request.user,
        )

    def _respond(self, wave, code=status.HTTP_200_OK):
        return Response(WaveSerializer(self.get_queryset().get(pk=wave.pk)).data, status=code)

    @extend_schema(
        request=WaveInputSerializer,
        responses={201: WaveSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = WaveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        site = _site(request.user, v.pop("site"))
        return self._respond(plan_wave(user=request.user, site=site, **v), status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WaveSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        return self._respond(release_wave(user=request.user, wave=self.get_object()))

    @extend_schema(request=PackInputSerializer, responses={201: ShipmentSerializer(many=True)})
    @action(detail=True, methods=["post"])
    def pack(self, request, pk=None):
        data = PackInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipments = pack_wave(
            user=request.user,
            wave=self.get_object(),
            packages=[dict(p) for p in data.validated_data.get("packages", [])] or None,
        )
        return Response(ShipmentSerializer(shipments, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "text/html"): str})
    @action(detail=True, methods=["get"], url_path="pick-list")
    def pick_list(self, request, pk=None):
        """Printable pick list (HTML with print styles), in walk order."""
        wave = self.get_object()
        return render(request, "warehouse/pick_list.html", {"wave": wave, "tasks": wave.pick_tasks.all()})


class PickTaskFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    wave = django_filters.CharFilter(field_name="wave__number")
    transfer = django_filters.CharFilter(field_name="transfer_line__transfer__number")
    status = django_filters.ChoiceFilter(choices=PickTask.Status.choices)

    class Meta:
        model = PickTask
        fields = ["site", "wave", "transfer", "status"]


class PickTaskViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pick tasks; confirm with what was scanned. Less than asked is a short pick."""

    serializer_class = PickTaskSerializer
    filterset_class = PickTaskFilter
    ordering = ["wave", "sequence"]

    def get_queryset(self):
        return permissions.restrict(
            PickTask.objects.select_related(
                "wave", "site", "item", "lot", "location", "to_location", "order_line__order", "transfer_line__transfer"
            ),
            self.request.user,
        )

    @extend_schema(request=PickConfirmSerializer, responses={200: PickTaskSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        task = self.get_object()
        data = PickConfirmSerializer(data=request.data)
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
        task = confirm_pick(
            user=request.user,
            task=task,
            quantity=required_quantity(scan.quantity, what="picked quantity"),
            location_code=v["location"],
            lot_number=scan.lot,
            item_sku=scan.item,
            short_reason=v.get("short_reason", ""),
        )
        return Response(PickTaskSerializer(self.get_queryset().get(pk=task.pk)).data)


class ShipmentFilter(django_filters.FilterSet):
    site = django_filters.CharFilter(field_name="site__code")
    status = django_filters.ChoiceFilter(choices=Shipment.Status.choices)
    order = django_filters.CharFilter(field_name="lines__order__number", distinct=True)
    updated_since = updated_since_filter()

    class Meta:
        model = Shipment
        fields = ["site", "status", "order", "customer_code", "tracking_number"]


class ShipmentViewSet(
    ShipmentCarrierActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Shipments; confirm with carrier and tracking number to send the staged stock to the customer."""

    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    ordering = ["-packed_at"]

    def get_queryset(self):
        return permissions.restrict(
            Shipment.objects.select_related("site", "wave").prefetch_related(
                "lines__order", "lines__item", "lines__lot", "packages"
            ),
            self.request.user,
        )

    @extend_schema(request=ShipConfirmSerializer, responses={200: ShipmentSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        data = ShipConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipment = confirm_shipment(user=request.user, shipment=self.get_object(), **data.validated_data)
        return Response(ShipmentSerializer(self.get_queryset().get(pk=shipment.pk)).data)

    @extend_schema(responses={(200, "text/html"): str})
    @action(detail=True, methods=["get"], url_path="packing-slip")
    def packing_slip(self, request, pk=None):
        """Printable packing slip (HTML with print styles), with each package's SSCC (given when it was packed)."""
        shipment = self.get_object()
        return render(request, "warehouse/packing_slip.html", {"shipment": shipment})

    @extend_schema(responses={(200, "application/zpl"): str})
    @action(detail=True, methods=["get"], url_path="labels")
    def labels(self, request, pk=None):
        """The packages' SSCC labels as ZPL for a thermal printer (one label per package, SSCC given at packing).
        A package packed before SSCCs were given at packing has none until its shipment is confirmed: 409."""
        shipment = self.get_object()
        packages = list(shipment.packages.order_by("number"))
        if any(not p.sscc for p in packages):
            raise StateConflict(
                f"{shipment.number} was packed before packages got their SSCC at packing: "
                "its packages get their SSCCs when the shipment is confirmed."
            )
        text = label_data.zpl_document(label_data.package_labels(shipment, packages))
        response = HttpResponse(text, content_type="application/zpl; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="sscc-{shipment.number}.zpl"'
        return response


class TransferLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)


class TransferInputSerializer(serializers.Serializer):
    from_site = serializers.CharField(max_length=20)
    to_site = serializers.CharField(max_length=20)
    priority = serializers.IntegerField(min_value=1, max_value=5, default=3)
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)
    lines = TransferLineInputSerializer(many=True, allow_empty=False, max_length=500)


class TransferReceiveLineSerializer(serializers.Serializer):
    item = serializers.CharField(
        max_length=200, help_text="The SKU, or a scanned GTIN of the item or a unit, or GS1-128 label (as receipts/)"
    )
    quantity = serializers.DecimalField(
        max_digits=16, decimal_places=3, min_value=0, required=False, help_text="Left out: a scanned label's count"
    )
    damaged_quantity = serializers.DecimalField(max_digits=16, decimal_places=3, min_value=0, default=0)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)


class TransferReceiveSerializer(serializers.Serializer):
    lines = TransferReceiveLineSerializer(many=True, allow_empty=False, max_length=500)


class TransferLineSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    item = serializers.CharField(source="item.sku")
    quantity = serializers.IntegerField()
    allocated_quantity = serializers.IntegerField(help_text="Claimed at the source while picking")
    picked_quantity = serializers.IntegerField()
    shipped_quantity = serializers.IntegerField()
    received_quantity = serializers.IntegerField()


class TransferSerializer(serializers.ModelSerializer):
    from_site = serializers.CharField(source="from_site.code")
    to_site = serializers.CharField(source="to_site.code")
    lines = TransferLineSerializer(many=True, read_only=True)
    pick_tasks = serializers.SerializerMethodField()

    @extend_schema_field(PickTaskSerializer(many=True))
    def get_pick_tasks(self, obj):
        tasks = [t for line in obj.lines.all() for t in line.pick_tasks.all()]
        return PickTaskSerializer(sorted(tasks, key=lambda t: (t.sequence, t.pk)), many=True).data

    class Meta:
        model = TransferOrder
        fields = [
            "id",
            "number",
            "status",
            "from_site",
            "to_site",
            "priority",
            "reason",
            "value",
            "created_at",
            "shipped_at",
            "received_at",
            "cycle_seconds",
            "updated_at",
            "lines",
            "pick_tasks",
        ]


class TransferFilter(django_filters.FilterSet):
    from_site = django_filters.CharFilter(field_name="from_site__code")
    to_site = django_filters.CharFilter(field_name="to_site__code")
    status = django_filters.ChoiceFilter(choices=TransferOrder.Status.choices)
    updated_since = updated_since_filter()

    class Meta:
        model = TransferOrder
        fields = ["from_site", "to_site", "status"]


class TransferViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Transfer orders between sites (visible at both ends). Approve through `approvals/` when above the
    source site's value rule; receive at the destination."""

    serializer_class = TransferSerializer
    filterset_class = TransferFilter
    ordering = ["-created_at"]

    def get_queryset(self):
        ids = permissions.site_ids_for(self.request.user)
        qs = TransferOrder.objects.select_related("from_site", "to_site").prefetch_related(
            "lines__item",
            Prefetch(
                "lines__pick_tasks",
                queryset=PickTask.objects.select_related(
                    "site", "item", "lot", "location", "to_location", "transfer_line__transfer"
                ),
            ),
        )
        return qs if ids is None else qs.filter(Q(from_site_id__in=ids) | Q(to_site_id__in=ids))

    def _respond(self, transfer, code=status.HTTP_200_OK):
        return Response(TransferSerializer(self.get_queryset().get(pk=transfer.pk)).data, status=code)

    @extend_schema(
        request=TransferInputSerializer,
        responses={201: TransferSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
    )
    @idempotent
    def create(self, request):
        data = TransferInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        from_site = _site(request.user, v.pop("from_site"), "from_site")
        to_site = Site.objects.filter(code=v.pop("to_site"), active=True).first()
        if to_site is None:
            raise field_error("to_site", "No such site.", "does_not_exist")
        transfer = create_transfer(
            user=request.user, from_site=from_site, to_site=to_site, lines=[dict(line) for line in v.pop("lines")], **v
        )
        return self._respond(transfer, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve a transfer waiting for approval (the same as approving its request in `approvals/`)."""
        from governance.models import ApprovalRequest
        from governance.services import decide_approval

        transfer = self.get_object()
        approval = ApprovalRequest.objects.filter(kind="TRANSFER", object_id=transfer.pk, status="PENDING").first()
        if approval is None:
            from core.errors import StateConflict

            raise StateConflict(f"{transfer.number} is {transfer.status}; nothing to approve.")
        decide_approval(approval=approval, user=request.user, approve=True)
        return self._respond(transfer)

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release an approved transfer for picking at the source: claims the quantities (never stock allocated
        to orders) and creates pick tasks, confirmed through `pick-tasks/{id}/confirm/`."""
        return self._respond(release_transfer(user=request.user, transfer=self.get_object()))

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        """Approved: released for picking (as `release/`). Picking with every pick confirmed: the picked units
        leave staging IN_TRANSIT to the destination."""
        return self._respond(ship_transfer(user=request.user, transfer=self.get_object()))

    @extend_schema(request=None, responses={200: TransferSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._respond(cancel_transfer(user=request.user, transfer=self.get_object()))

    @extend_schema(request=TransferReceiveSerializer, responses={201: ReceiptSerializer})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        data = TransferReceiveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        receipt = receive_transfer(
            user=request.user,
            transfer=self.get_object(),
            lines=scanned_lines([dict(line) for line in data.validated_data["lines"]]),
        )
        return Response(ReceiptSerializer(receipt).data, status=status.HTTP_201_CREATED)
