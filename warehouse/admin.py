from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from governance import permissions

from .models import Discrepancy, PutawayRule, PutawayTask, Receipt, ReceiptLine


class ReceiptLineInline(admin.TabularInline):
    model = ReceiptLine
    extra = 0
    can_delete = False
    fields = (
        "item",
        "lot",
        "quantity",
        "damaged_quantity",
        "landed_status",
        "held_quantity",
        "inspection",
        "released_quantity",
        "rejected_quantity",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class DiscrepancyInline(admin.TabularInline):
    model = Discrepancy
    extra = 0
    can_delete = False
    fields = ("code", "item", "expected", "actual", "detail")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Receipt)
class ReceiptAdmin(SimpleHistoryAdmin):
    list_display = ("number", "site", "purchase_order", "received_at", "received_by", "final")
    list_filter = ("site", "final")
    search_fields = ("number", "purchase_order__number")
    inlines = [ReceiptLineInline, DiscrepancyInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Receipt._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = ("receipt", "code", "item", "expected", "actual", "detail", "created_at")
    list_filter = ("code",)
    search_fields = ("receipt__number", "item__sku")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Discrepancy._meta.fields]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user, site_field="receipt__site")


@admin.register(PutawayRule)
class PutawayRuleAdmin(SimpleHistoryAdmin):
    list_display = (
        "site",
        "priority",
        "item",
        "category",
        "storage_type",
        "abc_class",
        "zone",
        "location_kinds",
        "allow_mixed_lots",
        "active",
    )
    list_filter = ("site", "active", "abc_class")
    raw_id_fields = ("item", "zone")

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(PutawayTask)
class PutawayTaskAdmin(SimpleHistoryAdmin):
    list_display = (
        "id",
        "site",
        "item",
        "quantity",
        "suggested_location",
        "status",
        "confirmed_location",
        "reason_code",
        "confirmed_at",
    )
    list_filter = ("site", "status")
    search_fields = ("item__sku",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in PutawayTask._meta.fields]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)
