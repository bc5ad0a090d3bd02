from __future__ import annotations

from rest_framework import serializers

from core.api.fields import UNIT_PATTERN, SignedQuantityField, UnitField, lookup_or_fail
from core.errors import ValidationFailed
from core.validation import MAX_QUANTITY
from governance.api.fields import SiteField
from inventory.api.fields import ItemField
from inventory.models import Adjustment, InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant, Zone
from inventory.services import resolve_lot
from inventory.units import to_base_quantity

ADJUSTABLE_STATUSES = [c for c in InventoryStatus.choices if c[0] != InventoryStatus.IN_TRANSIT]
PHYSICAL_LOCATION_KINDS = [c for c in Location.Kind.choices if c[0] not in Location.VIRTUAL_KINDS]
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"


def as_field_errors(exc: ValidationFailed) -> serializers.ValidationError:
    """A service's ValidationFailed as a serializer error, so input errors read the same wherever found."""
    errors: dict[str, list] = {}
    for error in exc.errors or [{"field": "non_field_errors", "code": exc.code, "message": exc.message}]:
        errors.setdefault(error["field"], []).append(serializers.ErrorDetail(error["message"], error["code"]))
    return serializers.ValidationError(errors)


# --- items -----------------------------------------------------------------------------------------------


class ItemUnitSerializer(serializers.Serializer):
    code = serializers.RegexField(UNIT_PATTERN, help_text="e.g. CASE, PALLET (stored upper case)")
    factor = serializers.IntegerField(min_value=1, max_value=1_000_000, help_text="Base units in one of this unit")


class ItemBarcodeSerializer(serializers.Serializer):
    gtin = serializers.CharField(
        max_length=20, help_text="GTIN-8, -12 (UPC-A), -13 (EAN-13) or -14 with its check digit; answered as GTIN-14"
    )
    unit = serializers.RegexField(
        UNIT_PATTERN, required=False, allow_blank=True, default="", help_text="The unit it labels (CASE); empty: base"
    )


class ItemSerializer(serializers.ModelSerializer):
    sku = serializers.RegexField(SKU_PATTERN, help_text="Letters, digits, '.', '_' and '-'; at most 40")
    units = ItemUnitSerializer(many=True, required=False, max_length=20)
    barcodes = ItemBarcodeSerializer(
        many=True, required=False, max_length=50, help_text="GTINs of the item and its units; unique across items"
    )
    substitutes = serializers.ListField(
        child=serializers.RegexField(SKU_PATTERN),
        required=False,
        max_length=20,
        help_text="SKUs of approved substitutes, in order of preference",
    )

    class Meta:
        model = Item
        fields = [
            "id",
            "sku",
            "description",
            "base_unit",
            "units",
            "barcodes",
            "category",
            "storage_type",
            "standard_cost",
            "currency",
            "lot_tracked",
            "shelf_life_days",
            "abc_class",
            "requires_inspection",
            "weight_grams",
            "substitutes",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "standard_cost": {"min_value": 0},
            "shelf_life_days": {"max_value": 36500},
            "currency": {"min_length": 3},
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["units"] = [{"code": u.code, "factor": u.factor} for u in instance.units.all()]
        data["barcodes"] = [
            {"gtin": b.gtin, "unit": b.unit.code if b.unit_id else instance.base_unit}
            for b in sorted(instance.barcodes.all(), key=lambda b: (b.unit.factor if b.unit_id else 1, b.gtin))
        ]
        data["substitutes"] = [link.substitute.sku for link in instance.substitute_links.all()]
        return data


class ItemUpdateSerializer(ItemSerializer):
    """PATCH: every field but the SKU; `units`, `substitutes` and `barcodes`, when given, replace the lists."""

    sku = serializers.CharField(read_only=True)

    class Meta(ItemSerializer.Meta):
        read_only_fields = ["id", "sku", "created_at", "updated_at"]


# --- locations -------------------------------------------------------------------------------------------


class LocationSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    zone = serializers.CharField(source="zone.code", default=None, allow_null=True)
    kind = serializers.ChoiceField(choices=Location.Kind.choices)

    class Meta:
        model = Location
        fields = ["id", "site", "code", "kind", "zone", "aisle", "capacity", "active", "last_counted_at"]
        read_only_fields = fields


class LocationCreateSerializer(serializers.Serializer):
    site = SiteField()
    code = serializers.CharField(max_length=40, help_text="Unique within the site, e.g. A-01-02")
    kind = serializers.ChoiceField(choices=PHYSICAL_LOCATION_KINDS)
    zone = serializers.CharField(
        max_length=20, required=False, allow_null=True, allow_blank=True, help_text="Zone code within the site"
    )
    aisle = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    capacity = serializers.IntegerField(
        min_value=0, max_value=MAX_QUANTITY, required=False, allow_null=True, help_text="Units; null: no limit"
    )
    active = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        zone = attrs.get("zone")
        attrs["zone"] = (
            lookup_or_fail(Zone.objects.filter(site=attrs["site"]), field="zone", label="zone", value=zone)
            if zone
            else None
        )
        return attrs


# --- balances and the ledger -------------------------------------------------------------------------------


#: said of every quantity the stock endpoints may hide (blind counts, inventory.selectors.blind_stock_for)
BLIND = " null while a count of this location (or, for site totals, of this item at the site) is open and you count"


def _quantity(help_text: str = "", **kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(
        read_only=True, allow_null=True, help_text=(help_text + ";" + BLIND).lstrip(";"), **kwargs
    )


class BlindQuantitiesMixin:
    """Nulls the quantity fields of the rows the requesting user is blind to while a count is open. The view puts
    ``blind`` (a :class:`inventory.selectors.BlindStock`) in the serializer context."""

    blind_fields: tuple[str, ...] = ()

    def hides(self, blind, instance) -> bool:  # pragma: no cover - each serializer says
        raise NotImplementedError

    def to_representation(self, instance):
        data = super().to_representation(instance)
        blind = self.context.get("blind")
        if blind and self.hides(blind, instance):
            data.update(dict.fromkeys(self.blind_fields))
        return data


class StockLevelSerializer(BlindQuantitiesMixin, serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    site = serializers.CharField(source="site.code")
    on_hand = _quantity("received + available + hold + damaged")
    available = _quantity()
    allocated = _quantity()
    available_to_promise = _quantity("available - allocated")
    received = _quantity()
    hold = _quantity()
    damaged = _quantity()
    in_transit = _quantity()
    in_transit_out = _quantity("Shipped from this site on transfers, not yet received at the other end", default=0)
    blind_fields = (
        "on_hand",
        "available",
        "allocated",
        "available_to_promise",
        "received",
        "hold",
        "damaged",
        "in_transit",
        "in_transit_out",
    )

    def hides(self, blind, instance) -> bool:
        return blind.hides_level(instance)

    class Meta:
        model = StockLevel
        fields = [
            "id",
            "item",
            "site",
            "on_hand",
            "available",
            "allocated",
            "available_to_promise",
            "received",
            "hold",
            "damaged",
            "in_transit",
            "in_transit_out",
            "updated_at",
        ]
        read_only_fields = fields


class StockQuantSerializer(BlindQuantitiesMixin, serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    site = serializers.CharField(source="site.code")
    location = serializers.CharField(source="location.code")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    expiry_date = serializers.DateField(source="lot.expiry_date", default=None, allow_null=True)
    quantity = _quantity()
    reserved = _quantity("Claimed by open tasks")
    blind_fields = ("quantity", "reserved")

    def hides(self, blind, instance) -> bool:
        return instance.location_id in blind.location_ids

    class Meta:
        model = StockQuant
        fields = [
            "id",
            "item",
            "site",
            "location",
            "lot",
            "expiry_date",
            "status",
            "quantity",
            "reserved",
            "last_counted_at",
            "last_received_at",
            "updated_at",
        ]
        read_only_fields = fields


class StockMoveSerializer(BlindQuantitiesMixin, serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    quantity = _quantity()
    blind_fields = ("quantity",)

    def hides(self, blind, instance) -> bool:
        return blind.hides_move(instance)

    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    from_site = serializers.CharField(source="from_location.site.code")
    from_location = serializers.CharField(source="from_location.code")
    to_site = serializers.CharField(source="to_location.site.code")
    to_location = serializers.CharField(source="to_location.code")
    from_status = serializers.ChoiceField(
        choices=InventoryStatus.choices,
        allow_null=True,
        help_text="null at a virtual location (supplier, customer ...)",
    )
    to_status = serializers.ChoiceField(
        choices=InventoryStatus.choices,
        allow_null=True,
        help_text="null at a virtual location (supplier, customer ...)",
    )
    user = serializers.CharField(source="user.username", default=None, allow_null=True)

    class Meta:
        model = StockMove
        fields = [
            "id",
            "created_at",
            "kind",
            "item",
            "lot",
            "quantity",
            "from_site",
            "from_location",
            "from_status",
            "to_site",
            "to_location",
            "to_status",
            "reference",
            "reason_code",
            "note",
            "user",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["from_status"] = instance.from_status or None
        data["to_status"] = instance.to_status or None
        return data


# --- adjustments -------------------------------------------------------------------------------------------


class AdjustmentSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    location = serializers.CharField(source="location.code")
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None, allow_null=True)
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None, allow_null=True)

    class Meta:
        model = Adjustment
        fields = [
            "id",
            "number",
            "site",
            "location",
            "item",
            "lot",
            "stock_status",
            "quantity_delta",
            "reason_code",
            "note",
            "value",
            "status",
            "requested_by",
            "created_at",
            "applied_at",
            "decided_by",
        ]
        read_only_fields = fields


class AdjustmentInputSerializer(serializers.Serializer):
    """A stock adjustment at one location. `status`, `number`, `value` and the audit fields are the server's."""

    site = SiteField()
    location = serializers.CharField(max_length=40, help_text="Location code within the site")
    item = ItemField()
    lot = serializers.CharField(
        max_length=60, required=False, allow_null=True, allow_blank=True, help_text="Lot number (lot-tracked items)"
    )
    quantity_delta = SignedQuantityField()
    unit = UnitField()
    reason_code = serializers.ChoiceField(choices=Adjustment.Reason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    stock_status = serializers.ChoiceField(choices=ADJUSTABLE_STATUSES, default=InventoryStatus.AVAILABLE)

    def validate(self, attrs):
        site, item = attrs["site"], attrs["item"]
        attrs["location"] = lookup_or_fail(
            Location.objects.filter(site=site).select_related("site"),
            field="location",
            label=f"location at {site.code}",
            value=attrs["location"],
        )
        delta = attrs["quantity_delta"]
        try:
            attrs["lot"] = resolve_lot(item, attrs.get("lot") or None)
            base = to_base_quantity(item, abs(delta), attrs.get("unit") or None, field="quantity_delta")
        except ValidationFailed as exc:
            raise as_field_errors(exc)
        attrs["quantity_delta"] = base if delta > 0 else -base
        return attrs


class DecisionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
