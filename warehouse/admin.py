from django.contrib import admin

from governance import permissions
from governance.admin import HistoryAdmin, ScopedModelAdmin

from .models import (
    CountRequest,
    Discrepancy,
    FloorEvent,
    Package,
    PickTask,
    PutawayRule,
    PutawayTask,
    Receipt,
    ReceiptLine,
    Shipment,
    ShipmentLine,
    Wave,
)


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
class ReceiptAdmin(HistoryAdmin):
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
class DiscrepancyAdmin(ScopedModelAdmin):
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
class PutawayRuleAdmin(HistoryAdmin):
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
class PutawayTaskAdmin(HistoryAdmin):
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


class PickTaskInline(admin.TabularInline):
    model = PickTask
    extra = 0
    can_delete = False
    fields = ("sequence", "location", "item", "lot", "quantity", "status", "picked_quantity", "confirmed_by")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Wave)
class WaveAdmin(HistoryAdmin):
    list_display = ("number", "site", "status", "carrier", "created_at", "released_at", "completed_at")
    list_filter = ("site", "status")
    search_fields = ("number",)
    inlines = [PickTaskInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Wave._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(PickTask)
class PickTaskAdmin(HistoryAdmin):
    list_display = (
        "id",
        "wave",
        "transfer_line",
        "site",
        "item",
        "location",
        "quantity",
        "status",
        "picked_quantity",
        "confirmed_at",
    )
    list_filter = ("site", "status")
    search_fields = ("wave__number", "transfer_line__transfer__number", "item__sku")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in PickTask._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    fields = ("order", "item", "lot", "quantity")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PackageInline(admin.TabularInline):
    model = Package
    extra = 0
    can_delete = False
    fields = ("number", "weight_grams", "contents")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Shipment)
class ShipmentAdmin(HistoryAdmin):
    list_display = (
        "number",
        "site",
        "customer_code",
        "status",
        "carrier",
        "tracking_number",
        "packed_at",
        "shipped_at",
    )
    list_filter = ("site", "status", "carrier")
    search_fields = ("number", "tracking_number", "customer_code")
    inlines = [ShipmentLineInline, PackageInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Shipment._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


@admin.register(CountRequest)
class CountRequestAdmin(HistoryAdmin):
    list_display = ("location", "site", "item", "reason", "status", "requested_at")
    list_filter = ("site", "status")
    search_fields = ("location__code", "reason")
    raw_id_fields = ("location", "item")

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user)


# --- pick-face replenishment -------------------------------------------------------------------------------

from governance.admin import ReadOnlyAdminMixin, SiteScopedAdmin  # noqa: E402

from .models import ReplenishmentTask  # noqa: E402
from .services.replenishment import cancel_replenishment_task  # noqa: E402


@admin.register(ReplenishmentTask)
class ReplenishmentTaskAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    """Pick-face refills (confirmed by scanning through the API); shown here, and cancelled through the
    service, which gives the reserved units back."""

    list_display = (
        "id",
        "site",
        "item",
        "lot",
        "from_location",
        "to_location",
        "quantity",
        "trigger",
        "wave",
        "status",
        "moved_quantity",
        "created_at",
        "confirmed_at",
    )
    list_filter = ("status", "trigger", ("site", admin.RelatedOnlyFieldListFilter))
    search_fields = ("item__sku", "from_location__code", "to_location__code", "wave__number")
    list_select_related = ("site", "item", "lot", "from_location", "to_location", "wave")
    actions = ["cancel_selected"]

    @admin.action(description="Cancel the selected open refills (gives the reserved units back)")
    def cancel_selected(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            lambda task: f"REPL-{task.pk}",
            lambda task: cancel_replenishment_task(user=request.user, task=task),
            "Cancelled",
        )


@admin.register(FloorEvent)
class FloorEventAdmin(ScopedModelAdmin):
    """Adoption records (refused and skipped scans, overrides): read only, append-only."""

    list_display = ("created_at", "site", "user", "process", "kind", "field", "expected", "scanned", "task_ref")
    list_filter = ("kind", "process", "channel")
    search_fields = ("task_ref", "user__username", "scanned")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in FloorEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user).select_related("site", "user")
