"""stock/move/, stock/hold/ and stock/release/: bin-to-bin moves and holds on the floor (issue 15).

Each POST validates its input, calls one inventory service (``move_stock``; ``hold_stock`` and ``release_stock``
of ``inventory.services.holds``, which check the site role and lock as the ledger does) and honours an
``Idempotency-Key``. A refusal is a 400 (bad input), 403 (role), 404 (another site), 409 (a site in its cutover
freeze) or 422 (not enough free stock) and writes nothing."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.fields import PositiveQuantityField, UnitField, lookup_or_fail
from core.api.idempotency import idempotent
from core.api.mixins import ApiViewMixin
from core.errors import ValidationFailed
from core.validation import field_error
from governance.api.fields import SiteField
from inventory import selectors
from inventory.api.scanning import SCANNED_ITEM_HELP, identified_item, scanned_item, unit_for
from inventory.models import InventoryStatus, Location
from inventory.policy.holds import HELD, HOLD_REASONS, MOVE_REASONS, RELEASE_REASONS
from inventory.services import move_stock, resolve_lot
from inventory.services.holds import HoldResult, hold_stock, release_stock
from inventory.units import to_base_quantity

from .serializers import ADJUSTABLE_STATUSES, StockMoveSerializer, as_field_errors

S = InventoryStatus


def _location(site, code, field):
    return lookup_or_fail(
        Location.objects.filter(site=site).select_related("site"),
        field=field,
        label=f"location at {site.code}",
        value=code,
    )


class _StockInput(serializers.Serializer):
    site = SiteField()
    item = serializers.CharField(max_length=200, help_text=SCANNED_ITEM_HELP)
    lot = serializers.CharField(
        max_length=200,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="Lot number (lot-tracked items), or a GS1-128 label with one",
    )
    unit = UnitField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")

    def _lot_and_quantity(self, attrs, *, quantity_required: bool):
        """The item named or scanned (SKU, GTIN, GS1-128 label: read as the scanner endpoints do), its lot and the
        quantity in base units. A barcode no item has, of another lot, or a label that does not parse is a 422."""
        raw = attrs["item"]
        item = identified_item(raw)
        if item is None:
            raise serializers.ValidationError(
                {"item": [serializers.ErrorDetail(f"No item {raw!r}.", "does_not_exist")]}
            )
        scan = scanned_item(item, scanned=raw, quantity=attrs.get("quantity"), lot=attrs.get("lot") or "")
        attrs["item"] = item
        try:
            if len(scan.lot) > 60:
                raise field_error("lot", "A lot number has at most 60 characters.", "max_length")
            attrs["lot"] = resolve_lot(item, scan.lot or None)
            if scan.quantity is not None:
                attrs["quantity"] = to_base_quantity(item, scan.quantity, unit_for(scan, attrs.get("unit")))
            elif quantity_required:
                raise field_error("quantity", "Give the quantity, or scan a label that carries a count.", "required")
        except ValidationFailed as exc:
            raise as_field_errors(exc)
        return attrs


class MoveInputSerializer(_StockInput):
    """Move units of one item (lot) and status between two locations of one site."""

    quantity = PositiveQuantityField(required=False, help_text="Left out: a scanned GS1-128 label's count")
    from_location = serializers.CharField(max_length=40, help_text="Location code the units leave")
    to_location = serializers.CharField(max_length=40, help_text="Location code the units go to")
    status = serializers.ChoiceField(
        choices=ADJUSTABLE_STATUSES, default=S.AVAILABLE, help_text="The units' status (it stays the same)"
    )
    reason_code = serializers.ChoiceField(choices=list(MOVE_REASONS.items()), required=False, allow_blank=True)

    def validate(self, attrs):
        site = attrs["site"]
        attrs["from_location"] = _location(site, attrs["from_location"], "from_location")
        attrs["to_location"] = _location(site, attrs["to_location"], "to_location")
        if attrs["to_location"].pk == attrs["from_location"].pk:
            raise serializers.ValidationError(
                {"to_location": [serializers.ErrorDetail("Move to another location than the one it is in.", "same")]}
            )
        return self._lot_and_quantity(attrs, quantity_required=True)


class HoldInputSerializer(_StockInput):
    """Put free units on hold in place: at `location`, or anywhere at the site when it is left out."""

    location = serializers.CharField(max_length=40, required=False, allow_blank=True, help_text="Left out: any bin")
    quantity = PositiveQuantityField(required=False, help_text="Left out: every free unit (of the lot, at the bin)")
    reason_code = serializers.ChoiceField(choices=list(HOLD_REASONS.items()))
    to_status = serializers.ChoiceField(choices=list(HELD), default=S.HOLD)

    def validate(self, attrs):
        code = attrs.get("location")
        attrs["location"] = _location(attrs["site"], code, "location") if code else None
        return self._lot_and_quantity(attrs, quantity_required=False)


class ReleaseInputSerializer(_StockInput):
    """Release held (or damaged) units at a location back to AVAILABLE."""

    location = serializers.CharField(max_length=40)
    quantity = PositiveQuantityField(required=False, help_text="Left out: a scanned GS1-128 label's count")
    reason_code = serializers.ChoiceField(choices=list(RELEASE_REASONS.items()))
    from_status = serializers.ChoiceField(choices=list(HELD), default=S.HOLD)

    def validate(self, attrs):
        attrs["location"] = _location(attrs["site"], attrs["location"], "location")
        return self._lot_and_quantity(attrs, quantity_required=True)


class HeldUnitsSerializer(serializers.Serializer):
    location = serializers.CharField()
    from_status = serializers.CharField()
    quantity = serializers.IntegerField()


class SiteHoldSerializer(serializers.Serializer):
    site = serializers.CharField()
    held = HeldUnitsSerializer(many=True)
    held_total = serializers.IntegerField()
    reserved_not_held = serializers.DictField(
        child=serializers.IntegerField(), help_text="location -> units reserved by open tasks (left AVAILABLE)"
    )
    allocated_not_held = serializers.IntegerField(help_text="Free units order allocations need (left AVAILABLE)")
    already_held = serializers.IntegerField(help_text="Units of the lot on HOLD there before")
    not_held = serializers.IntegerField(help_text="Units left because the user may not hold there (see refused)")
    refused = serializers.CharField()


class HoldResultSerializer(serializers.Serializer):
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    reason_code = serializers.CharField()
    note = serializers.CharField()
    held_total = serializers.IntegerField()
    reserved_total = serializers.IntegerField()
    allocated_total = serializers.IntegerField()
    not_held_total = serializers.IntegerField()
    unseen_sites = serializers.IntegerField(help_text="Sites you cannot see that hold units of the lot")
    sites = SiteHoldSerializer(many=True)
    moves = serializers.SerializerMethodField()

    def get_moves(self, result: HoldResult) -> list[int]:
        return [m.pk for m in result.moves]


class _StockActionView(ApiViewMixin, APIView):
    input_class: type[serializers.Serializer]

    def _input(self, request) -> dict:
        data = self.input_class(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        return data.validated_data

    def _move(self, request, move) -> Response:
        obj = selectors.stock_moves_for(request.user).get(pk=move.pk)
        return Response(StockMoveSerializer(obj, context={"request": request}).data, status=status.HTTP_201_CREATED)


class StockMoveView(_StockActionView):
    """Bin-to-bin move (roles that move stock at the site: operators, supervisors, admins, integrators)."""

    input_class = MoveInputSerializer

    @extend_schema(
        summary="Move stock from one location to another of the same site",
        request=MoveInputSerializer,
        responses={201: StockMoveSerializer},
        operation_id="stock_move_create",
        examples=[
            OpenApiExample(
                "Consolidate two bins",
                value={
                    "site": "DC1",
                    "item": "WIDGET",
                    "quantity": 2,
                    "unit": "CASE",
                    "from_location": "B-01-01",
                    "to_location": "B-01-02",
                    "reason_code": "CONSOLIDATE",
                },
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        v = self._input(request)
        move = move_stock(
            user=request.user,
            item=v["item"],
            lot=v["lot"],
            quantity=v["quantity"],
            from_location=v["from_location"],
            to_location=v["to_location"],
            status=v["status"],
            reason_code=v.get("reason_code") or "",
            note=v["note"],
        )
        return self._move(request, move)


class StockHoldView(_StockActionView):
    """Put stock on hold (supervisors and admins of the site)."""

    input_class = HoldInputSerializer

    @extend_schema(
        summary="Put free stock on HOLD (or DAMAGED) in place",
        description="Units reserved by open tasks and units order allocations need are never taken: asking for more "
        "than is free is a 422 saying how many are reserved and allocated.",
        request=HoldInputSerializer,
        responses={201: HoldResultSerializer},
        operation_id="stock_hold_create",
    )
    @idempotent
    def post(self, request):
        v = self._input(request)
        result = hold_stock(
            user=request.user,
            item=v["item"],
            site=v["site"],
            lot=v["lot"],
            location=v["location"],
            quantity=v.get("quantity"),
            to_status=v["to_status"],
            reason_code=v["reason_code"],
            note=v["note"],
        )
        return Response(HoldResultSerializer(result).data, status=status.HTTP_201_CREATED)


class StockReleaseView(_StockActionView):
    """Release held stock (supervisors and admins of the site)."""

    input_class = ReleaseInputSerializer

    @extend_schema(
        summary="Release HOLD (or DAMAGED) stock back to AVAILABLE",
        request=ReleaseInputSerializer,
        responses={201: StockMoveSerializer},
        operation_id="stock_release_create",
    )
    @idempotent
    def post(self, request):
        v = self._input(request)
        move = release_stock(
            user=request.user,
            item=v["item"],
            location=v["location"],
            lot=v["lot"],
            quantity=v["quantity"],
            from_status=v["from_status"],
            reason_code=v["reason_code"],
            note=v["note"],
        )
        return self._move(request, move)
