from django.contrib import admin, messages
from simple_history.admin import SimpleHistoryAdmin

from distribution_erp.errors import DomainError
from governance import permissions

from .models import (
    Allocation,
    AllocationDecision,
    Customer,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    ShipNoticeLine,
    Supplier,
    TransferOrder,
    TransferOrderLine,
)
from .services import cancel_order, release_order


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name",
        "home_site",
        "region",
        "priority",
        "credit_limit",
        "credit_overdue",
        "allow_partial_shipment",
        "allow_backorders",
        "allow_substitution",
        "active",
    )
    list_filter = ("active", "region", "priority", "credit_overdue", "allow_backorders", "home_site")
    search_fields = ("code", "name", "email")
    list_select_related = ("home_site",)
    autocomplete_fields = ("home_site",)


class LineInline(admin.TabularInline):
    model = SalesOrderLine
    extra = 0
    fields = (
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
    )
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DecisionInline(admin.TabularInline):
    model = AllocationDecision
    extra = 0
    fields = ("created_at", "line", "rule", "site", "item", "quantity", "message")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SalesOrder)
class SalesOrderAdmin(SimpleHistoryAdmin):
    """Orders are entered through the API or the coordinator pages; admin shows them and runs the same
    services (release, cancel), so every rule applies here too."""

    list_display = ("number", "customer", "site", "status", "priority", "promised_date", "channel", "created_at")
    list_filter = ("status", "channel", "priority", "site")
    search_fields = ("number", "customer__code", "customer__name", "customer_reference")
    date_hierarchy = "created_at"
    inlines = [LineInline, DecisionInline]
    readonly_fields = [f.name for f in SalesOrder._meta.fields]
    actions = ["release_selected", "cancel_selected"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)

    def _run(self, request, queryset, service, verb):
        done = 0
        for order in queryset:
            try:
                service(user=request.user, order=order)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{order.number}: {exc}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb} {done} order(s).", messages.SUCCESS)

    @admin.action(description="Release selected orders for allocation")
    def release_selected(self, request, queryset):
        self._run(request, queryset, release_order, "Released")

    @admin.action(description="Cancel selected orders (gives back allocations)")
    def cancel_selected(self, request, queryset):
        self._run(request, queryset, cancel_order, "Cancelled")


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = (
        "line",
        "site",
        "item",
        "quantity",
        "original_quantity",
        "is_substitute",
        "rule",
        "status",
        "created_at",
    )
    list_filter = ("status", "rule", "is_substitute", "site")
    search_fields = ("line__order__number", "item__sku")
    raw_id_fields = ("line", "item")
    readonly_fields = [f.name for f in Allocation._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(Supplier)
class SupplierAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "lead_time_days", "requires_inspection", "over_receipt_tolerance_percent", "active")
    list_filter = ("active", "requires_inspection")
    search_fields = ("code", "name")


class PurchaseLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    fields = ("line_number", "item", "quantity", "unit_cost", "received_quantity", "rejected_quantity")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(SimpleHistoryAdmin):
    list_display = ("number", "supplier", "site", "status", "expected_date", "created_at")
    list_filter = ("status", "site")
    search_fields = ("number", "supplier__code", "supplier_reference")
    inlines = [PurchaseLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in PurchaseOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(ShipNoticeLine)
class ShipNoticeLineAdmin(admin.ModelAdmin):
    list_display = ("po_line", "lot_number", "expiry_date", "quantity", "created_at")
    search_fields = ("lot_number", "po_line__purchase_order__number")
    raw_id_fields = ("po_line",)


class TransferLineInline(admin.TabularInline):
    model = TransferOrderLine
    extra = 0
    can_delete = False
    fields = ("line_number", "item", "quantity", "shipped_quantity", "received_quantity")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TransferOrder)
class TransferOrderAdmin(SimpleHistoryAdmin):
    list_display = ("number", "from_site", "to_site", "status", "value", "created_at", "shipped_at", "received_at")
    list_filter = ("status", "from_site", "to_site")
    search_fields = ("number", "reason")
    inlines = [TransferLineInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TransferOrder._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from django.db.models import Q

        ids = permissions.site_ids_for(request.user)
        qs = super().get_queryset(request)
        return qs if ids is None else qs.filter(Q(from_site_id__in=ids) | Q(to_site_id__in=ids))
