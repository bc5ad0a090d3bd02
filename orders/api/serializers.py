from __future__ import annotations

from rest_framework import serializers

from core.actions import allowed_actions
from governance.models import Site
from orders.models import Allocation, AllocationDecision, Customer, SalesOrder, SalesOrderLine
from orders.services import open_order_value


class CustomerSerializer(serializers.ModelSerializer):
    home_site = serializers.SlugRelatedField(
        slug_field="code", queryset=Site.objects.filter(active=True), allow_null=True, required=False
    )
    open_order_value = serializers.SerializerMethodField()
    credit_available = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "code",
            "name",
            "active",
            "email",
            "ship_to_address",
            "region",
            "home_site",
            "credit_limit",
            "currency",
            "payment_terms_days",
            "credit_overdue",
            "priority",
            "allow_partial_shipment",
            "allow_backorders",
            "allow_substitution",
            "min_shelf_life_days",
            "open_order_value",
            "credit_available",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"code": {"validators": []}}

    def get_open_order_value(self, obj) -> str:
        return str(open_order_value(obj))

    def get_credit_available(self, obj) -> str:
        return str(obj.credit_limit - open_order_value(obj))


class CustomerUpdateSerializer(CustomerSerializer):
    class Meta(CustomerSerializer.Meta):
        read_only_fields = ["id", "code", "created_at"]


class OrderLineInputSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=40, help_text="Item SKU")
    quantity = serializers.DecimalField(max_digits=16, decimal_places=3, help_text="In `unit` (default: base unit)")
    unit = serializers.CharField(max_length=12, required=False, allow_blank=True)
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0)
    ship_from = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True)


class SalesOrderInputSerializer(serializers.Serializer):
    customer = serializers.CharField(max_length=30, help_text="Customer code")
    promised_date = serializers.DateField()
    channel = serializers.ChoiceField(choices=SalesOrder.Channel.choices, default=SalesOrder.Channel.API)
    priority = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    ship_from = serializers.CharField(max_length=20, required=False, allow_null=True, allow_blank=True)
    customer_reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
    ship_to_address = serializers.CharField(required=False, allow_blank=True)
    carrier = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="Carrier code")
    route = serializers.CharField(max_length=20, required=False, allow_blank=True, help_text="Route code")
    cutoff = serializers.DateTimeField(required=False, allow_null=True, help_text="Ship-by time")
    allow_duplicate_lines = serializers.BooleanField(default=False)
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)


class SalesOrderPatchSerializer(SalesOrderInputSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class AllocationSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code")
    item = serializers.CharField(source="item.sku")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "site",
            "item",
            "quantity",
            "original_quantity",
            "is_substitute",
            "rule",
            "status",
            "created_at",
        ]


class DecisionSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None, allow_null=True)
    item = serializers.CharField(source="item.sku", default=None, allow_null=True)
    line = serializers.IntegerField(source="line.line_number", default=None, allow_null=True)

    class Meta:
        model = AllocationDecision
        fields = ["created_at", "line", "rule", "site", "item", "quantity", "message"]


class SalesOrderLineSerializer(serializers.ModelSerializer):
    item = serializers.CharField(source="item.sku")
    ship_from = serializers.CharField(source="ship_from.code", default=None, allow_null=True)
    allocations = AllocationSerializer(many=True, read_only=True)

    class Meta:
        model = SalesOrderLine
        fields = [
            "id",
            "line_number",
            "item",
            "unit",
            "quantity",
            "quantity_base",
            "unit_price",
            "ship_from",
            "allocated_quantity",
            "backordered_quantity",
            "picked_quantity",
            "shipped_quantity",
            "allocations",
        ]


class SalesOrderSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    site = serializers.CharField(source="site.code")
    ship_from = serializers.CharField(source="ship_from.code", default=None, allow_null=True)
    lines = SalesOrderLineSerializer(many=True, read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    allowed_actions = serializers.SerializerMethodField(
        help_text="What the requesting user may do with the order now (edit, validate, release, hold, cancel, "
        "decide_hold): the rule the services apply, so a client offers only what will be accepted."
    )

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "number",
            "status",
            "customer",
            "site",
            "channel",
            "customer_reference",
            "priority",
            "promised_date",
            "ship_from",
            "ship_to_address",
            "carrier",
            "route",
            "cutoff",
            "currency",
            "allow_duplicate_lines",
            "hold_reason",
            "created_at",
            "validated_at",
            "released_at",
            "allocated_at",
            "cancelled_at",
            "shipped_at",
            "updated_at",
            "version",
            "lines",
            "decisions",
            "allowed_actions",
        ]

    def get_allowed_actions(self, order) -> list[str]:
        request = self.context.get("request")
        return sorted(allowed_actions(order, getattr(request, "user", None)))


class SalesOrderListSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    site = serializers.CharField(source="site.code")

    class Meta:
        model = SalesOrder
        fields = [
            "id",
            "number",
            "status",
            "customer",
            "site",
            "channel",
            "priority",
            "promised_date",
            "carrier",
            "route",
            "cutoff",
            "created_at",
            "released_at",
            "updated_at",
        ]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=300)


#: said of each ATP figure a blind counter does not see
ATP_BLIND = "; null when `blind`"


class AtpSiteSerializer(serializers.Serializer):
    site = serializers.CharField()
    blind = serializers.BooleanField(
        help_text="A count of this item at the site is open and you count it: its stock figures are hidden"
    )
    available = serializers.IntegerField(allow_null=True, help_text="Available at the site" + ATP_BLIND)
    allocated = serializers.IntegerField(allow_null=True, help_text="Allocated to orders" + ATP_BLIND)
    available_to_promise = serializers.IntegerField(allow_null=True, help_text="Available less allocated" + ATP_BLIND)
    in_transit_in = serializers.IntegerField(
        allow_null=True, help_text="Coming from other sites on shipped transfers" + ATP_BLIND
    )
    in_transit_out = serializers.IntegerField(
        allow_null=True, help_text="Shipped to other sites, not yet received there" + ATP_BLIND
    )
    can_promise_now = serializers.BooleanField(allow_null=True, help_text="The quantity fits now" + ATP_BLIND)
    inbound = serializers.IntegerField(help_text="Open purchase order units expected at the site")
    backordered = serializers.IntegerField(help_text="Units earlier promises are already waiting for")
    earliest_date = serializers.DateField(
        allow_null=True, help_text="First date the quantity can be promised (null: no supply, or `blind`)"
    )


class AtpSerializer(serializers.Serializer):
    item = serializers.CharField()
    quantity = serializers.IntegerField()
    sites = AtpSiteSerializer(many=True)
