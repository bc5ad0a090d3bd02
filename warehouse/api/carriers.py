"""The carrier interface on ``shipments/{id}/``: ``rates/`` (what the shipment's carrier quotes), ``tracking/``
(GET: the carrier's tracking of it; POST: a typed or scanned tracking number, cleaned by the carrier's adapter,
which confirms a packed shipment or, with ``correct``, replaces a shipped one's number) and ``carrier-label/``
(the adapter's label or bill of lading). Every write goes through ``warehouse.services.carriers``."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from warehouse.carriers import adapter_for
from warehouse.services.carriers import record_tracking


class RateSerializer(serializers.Serializer):
    service = serializers.CharField()
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="null: the carrier quotes it (LTL)"
    )
    currency = serializers.CharField(allow_blank=True)
    transit_days = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)


class RatesSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    adapter = serializers.CharField(help_text="The adapter that answered (MANUAL for a carrier without one)")
    rates = RateSerializer(many=True)


class TrackingSerializer(serializers.Serializer):
    carrier = serializers.CharField()
    number = serializers.CharField(allow_blank=True)
    status = serializers.CharField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    url = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=serializers.DictField())


class TrackingInputSerializer(serializers.Serializer):
    tracking_number = serializers.CharField(max_length=80, help_text="Typed or scanned; cleaned by the carrier")
    carrier = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="Default: the shipment's carrier"
    )
    correct = serializers.BooleanField(
        default=False, help_text="Replace the tracking number of a shipment already shipped (history keeps the old)"
    )


class ShipmentCarrierActions:
    """Mixed into the shipments viewset (``get_object`` scopes the shipment to the caller's sites)."""

    @extend_schema(responses={200: RatesSerializer}, summary="Rates the shipment's carrier quotes for its packages")
    @action(detail=True, methods=["get"])
    def rates(self, request, pk=None):
        shipment = self.get_object()
        adapter = adapter_for(shipment.carrier)
        rates = adapter.rate(shipment, list(shipment.packages.order_by("number")))
        data = {"carrier": shipment.carrier or adapter.code, "adapter": adapter.code, "rates": rates}
        return Response(RatesSerializer(data).data)

    @extend_schema(
        methods=["GET"], responses={200: TrackingSerializer}, summary="The carrier's tracking of the shipment"
    )
    @extend_schema(
        methods=["POST"],
        request=TrackingInputSerializer,
        summary="Record a tracking number: confirms a packed shipment, or corrects a shipped one's (correct=true)",
    )
    @action(detail=True, methods=["get", "post"])
    def tracking(self, request, pk=None):
        shipment = self.get_object()
        if request.method == "GET":
            tracked = adapter_for(shipment.carrier).track(shipment)
            return Response(TrackingSerializer(tracked).data)
        data = TrackingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        shipment = record_tracking(user=request.user, shipment=shipment, **data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=shipment.pk)).data)

    @extend_schema(
        responses={(200, "text/html"): str, (200, "application/octet-stream"): str},
        summary="The carrier's label or bill of lading (the manual/LTL adapter: a print-styled HTML page)",
    )
    @action(detail=True, methods=["get"], url_path="carrier-label")
    def carrier_label(self, request, pk=None):
        shipment = self.get_object()
        document = adapter_for(shipment.carrier).label(
            shipment, list(shipment.packages.order_by("number")), request=request
        )
        response = HttpResponse(document.content, content_type=document.content_type)
        disposition = "inline" if document.content_type.startswith("text/html") else "attachment"
        response["Content-Disposition"] = f'{disposition}; filename="{document.filename}"'
        return response
