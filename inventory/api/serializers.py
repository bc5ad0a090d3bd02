from __future__ import annotations

from rest_framework import serializers

from inventory.models import Adjustment, InventoryStatus, Item, Location, StockLevel, StockMove, StockQuant

ADJUSTABLE_STATUSES = [c for c in InventoryStatus.choices if c[0] != InventoryStatus.IN_TRANSIT]
PHYSICAL_LOCATION_KINDS = [c for c in Location.Kind.choices if c[0] not in Location.VIRTUAL_KINDS]


class ItemUnitSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12)
    factor = serializers.IntegerField(min_value=1, max_value=1_000_000)


class ItemSerializer(serializers.ModelSerializer):
    units = ItemUnitSerializer(many=True, required=False)
    substitutes = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
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
        extra_kwargs = {"sku": {"validators": []}, "standard_cost": {"min_value": 0}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["units"] = [{"code": u.code, "factor": u.factor} for u in instance.units.all()]
        data["substitutes"] = [link.substitute.sku for link in instance.substitute_links.all()]
        return data


class ItemUpdateSerializer(ItemSerializer):
    class Meta(ItemSerializer.Meta):
        read_only_fields = ["id", "sku", "created_at", "updated_at"]


class LocationSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    zone = serializers.CharField(source="zone.code", allow_null=True, required=False, default=None)
    kind = serializers.ChoiceField(choices=PHYSICAL_LOCATION_KINDS)

    class Meta:
        model = Location
        fields = ["id", "site", "code", "kind", "zone", "aisle", "capacity", "active", "last_counted_at"]
        read_only_fields = ["id", "last_counted_at"]
        extra_kwargs = {"capacity": {"min_value": 0, "max_value": 1_000_000_000}}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["kind"] = instance.kind
        return data


class StockLevelSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    site = serializers.CharField(source="site.code")
    on_hand = serializers.IntegerField()
    available_to_promise = serializers.IntegerField()

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
            "updated_at",
        ]


class StockQuantSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    site = serializers.CharField(source="site.code")
    location = serializers.CharField(source="location.code")
    lot = serializers.CharField(source="lot.number", default=None)
    expiry_date = serializers.DateField(source="lot.expiry_date", default=None)

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


class StockMoveSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None)
    from_site = serializers.CharField(source="from_location.site.code")
    from_location = serializers.CharField(source="from_location.code")
    to_site = serializers.CharField(source="to_location.site.code")
    to_location = serializers.CharField(source="to_location.code")
    user = serializers.CharField(source="user.username", default=None)

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


class AdjustmentSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    location = serializers.CharField(source="location.code")
    item = serializers.CharField(source="item.sku")
    lot = serializers.CharField(source="lot.number", default=None)
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", default=None)

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


class AdjustmentInputSerializer(serializers.Serializer):
    site = serializers.CharField(max_length=20)
    location = serializers.CharField(max_length=40)
    item = serializers.CharField(max_length=40)
    lot = serializers.CharField(max_length=60, required=False, allow_null=True, allow_blank=True)
    quantity_delta = serializers.IntegerField(min_value=-1_000_000_000, max_value=1_000_000_000)
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    reason_code = serializers.ChoiceField(choices=Adjustment.Reason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    stock_status = serializers.ChoiceField(choices=ADJUSTABLE_STATUSES, default="AVAILABLE")


class DecisionNoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
