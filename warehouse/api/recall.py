"""lots/{item}/{lot}/recall/: recall a lot (issue 15).

GET previews where the lot is (per site, location and status, at the sites you can see), where it was shipped and
the open tasks that reserve it. POST ``{reason}`` puts every free AVAILABLE and RECEIVED unit of the lot on HOLD at
every site where you are a supervisor or admin, in one transaction (``inventory.services.holds.recall_lot``), and
answers the report: units held per site and location, units reserved by tasks or needed by order allocations (not
held), sites where you may not hold (not held, with why), and the shipments that carried the lot to customers.

The hold is inventory's and the shipments are the warehouse's, so the report is composed here (inventory never
imports warehouse). Its token scope is ``inventory``, like stock/hold/."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.api.mixins import ApiViewMixin
from inventory import selectors as inventory_selectors
from inventory.api.stock_actions import HoldResultSerializer
from inventory.models import Item, Lot
from inventory.services.holds import recall_lot
from warehouse.selectors import lot_recall_report


class RecallInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Why the lot is recalled (kept on every ledger row)")


class LotShipmentSerializer(serializers.Serializer):
    number = serializers.CharField()
    site = serializers.CharField()
    status = serializers.CharField()
    customer_code = serializers.CharField()
    customer_name = serializers.CharField()
    ship_to_address = serializers.CharField()
    order_numbers = serializers.ListField(child=serializers.CharField())
    quantity = serializers.IntegerField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()


class LotTaskSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["PICK", "REFILL", "PUTAWAY"])
    task_id = serializers.IntegerField()
    site = serializers.CharField()
    location = serializers.CharField()
    quantity = serializers.IntegerField()
    document = serializers.CharField()


class LotStockSerializer(serializers.Serializer):
    site = serializers.CharField(source="site.code")
    location = serializers.CharField(source="location.code")
    status = serializers.CharField()
    quantity = serializers.IntegerField()
    reserved = serializers.IntegerField()


class RecallPreviewSerializer(serializers.Serializer):
    item = serializers.CharField()
    lot = serializers.CharField()
    stock = LotStockSerializer(many=True)
    shipments = LotShipmentSerializer(many=True)
    open_tasks = LotTaskSerializer(many=True)


class RecallReportSerializer(serializers.Serializer):
    recall = HoldResultSerializer()
    shipments = LotShipmentSerializer(many=True)
    shipped_units = serializers.IntegerField()
    customers = serializers.ListField(child=serializers.CharField(), help_text="Customers the lot was shipped to")
    open_tasks = LotTaskSerializer(many=True)


def _item_and_lot(sku: str, number: str) -> tuple[Item, Lot]:
    item = Item.objects.filter(sku=sku).first()
    lot = Lot.objects.filter(item=item, number=number).first() if item else None
    if lot is None:
        raise Http404("No such lot.")
    return item, lot


class LotRecallView(ApiViewMixin, APIView):
    api_scope = "inventory"

    @extend_schema(
        summary="Where a lot is and where it was shipped (recall preview)",
        responses={200: RecallPreviewSerializer},
        operation_id="lots_recall_preview",
    )
    def get(self, request, sku: str, lot: str):
        item, lot_obj = _item_and_lot(sku, lot)
        report = lot_recall_report(request.user, item=item, lot=lot_obj)
        stock = inventory_selectors.lot_stock_for(request.user, item=item, lot=lot_obj)
        return Response(
            RecallPreviewSerializer(
                {
                    "item": item.sku,
                    "lot": lot_obj.number,
                    "stock": list(stock),
                    "shipments": report.shipments,
                    "open_tasks": report.tasks,
                }
            ).data
        )

    @extend_schema(
        summary="Recall a lot: hold every free unit at every site you supervise, and report",
        request=RecallInputSerializer,
        responses={200: RecallReportSerializer},
        operation_id="lots_recall_create",
    )
    @idempotent
    def post(self, request, sku: str, lot: str):
        item, lot_obj = _item_and_lot(sku, lot)
        data = RecallInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = recall_lot(user=request.user, item=item, lot=lot_obj, reason=data.validated_data["reason"])
        report = lot_recall_report(request.user, item=item, lot=lot_obj, result=result)
        body = RecallReportSerializer(
            {
                "recall": result,
                "shipments": report.shipments,
                "shipped_units": report.shipped_units,
                "customers": report.customers,
                "open_tasks": report.tasks,
            }
        ).data
        return Response(body, status=status.HTTP_200_OK)
