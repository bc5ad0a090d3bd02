"""returns/{id}/receive/: receive an authorized return at the dock, with an inspection and a disposition per
line (RESTOCK, QUARANTINE, SCRAP, RETURN_TO_VENDOR); a line named twice (or more) is split between
dispositions (3 units restocked, 1 scrapped), its parts together at most what was authorized. The return
document and its credit are orders' (see orders.api.returns for the rest of returns/); receiving is warehouse
work, so its endpoint lives here and calls warehouse.services.returns.receive_return directly
(orders never imports warehouse).

Its token scope stays ``orders``, as when the action was part of orders' viewset: the contract integrators
rely on did not change."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response

from core.validation import field_error
from governance import permissions
from inventory.models import Item
from inventory.units import to_base_quantity
from orders.api.returns import ReturnSerializer
from orders.models import ReturnAuthorization, ReturnLine
from warehouse.services.returns import receive_return


class ReceiveLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, required=False, help_text="The return's line number")
    item = serializers.CharField(max_length=40, required=False, help_text="Instead of `line`, when unique")
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    lot = serializers.CharField(max_length=60, required=False, allow_blank=True)
    inspection = serializers.ChoiceField(choices=ReturnLine.Inspection.choices, required=False)
    disposition = serializers.ChoiceField(choices=ReturnLine.Disposition.choices, required=False)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ReceiveInputSerializer(serializers.Serializer):
    arrived_at = serializers.DateTimeField(required=False, help_text="When it reached the dock; default: now")
    lines = ReceiveLineInputSerializer(many=True, allow_empty=False, max_length=200)


def _returns_of(user):
    return permissions.restrict(
        ReturnAuthorization.objects.select_related(
            "site", "sales_order", "customer", "requested_by", "received_by"
        ).prefetch_related("lines__item", "lines__order_line", "lines__dispositions"),
        user,
    )


def resolve_receive_lines(rma: ReturnAuthorization, entries: list[dict]) -> list[dict]:
    """The return's lines named by ``entries`` (by line number, or by item when unique), with quantities in
    whole base units; a bad reference is a field error naming the entry."""
    rma_lines = list(rma.lines.select_related("item"))
    lines = []
    for i, entry in enumerate(entries):
        if entry.get("line"):
            matches = [rl for rl in rma_lines if rl.line_number == entry["line"]]
        elif entry.get("item"):
            matches = [rl for rl in rma_lines if rl.item.sku == entry["item"]]
        else:
            raise field_error(f"lines[{i}].line", "Give the return's line number (or the item).", "required")
        if len(matches) != 1:
            raise field_error(
                f"lines[{i}].line", "No such line on the return (or the item is on several).", "not_on_return"
            )
        line = matches[0]
        item = Item.objects.prefetch_related("units").get(pk=line.item_id)
        quantity = to_base_quantity(
            item, entry["quantity"], entry.get("unit") or None, field=f"lines[{i}].quantity", allow_zero=True
        )
        lines.append(
            {
                "line": line,
                "quantity": quantity,
                "lot": entry.get("lot", ""),
                "inspection": entry.get("inspection"),
                "disposition": entry.get("disposition"),
                "note": entry.get("note", ""),
            }
        )
    return lines


class ReturnReceiveView(generics.GenericAPIView):
    """Receive a return of the user's sites (another site's return is a 404)."""

    api_scope = "orders"
    serializer_class = ReceiveInputSerializer

    def get_queryset(self):
        return _returns_of(self.request.user)

    @extend_schema(
        request=ReceiveInputSerializer, responses={200: ReturnSerializer}, operation_id="returns_receive_create"
    )
    def post(self, request, pk=None):
        """Receive the return: per line the quantity that arrived, inspection and disposition; name a line once
        per part to split it between dispositions."""
        rma = self.get_object()
        data = ReceiveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        lines = resolve_receive_lines(rma, v["lines"])
        rma = receive_return(user=request.user, rma=rma, lines=lines, arrived_at=v.get("arrived_at"))
        return Response(ReturnSerializer(self.get_queryset().get(pk=rma.pk)).data)
