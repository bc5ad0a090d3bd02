"""Read-only admin pages: batches are uploaded, validated and posted through the services (API, command)."""

from django.contrib import admin

from governance.admin import ScopedModelAdmin

from .models import ImportBatch, ImportRowError, Reconciliation, ReconciliationLine


class ReadOnlyAdmin(ScopedModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    fields = ("row", "column", "code", "message")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("row", "id")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "site",
        "kind",
        "status",
        "total_rows",
        "valid_rows",
        "error_count",
        "posted_rows",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "kind", "site")
    search_fields = ("number", "file_name")
    exclude = ("content",)
    inlines = [ImportRowErrorInline]

    def get_queryset(self, request):
        from governance import permissions

        return permissions.restrict(super().get_queryset(request).defer("content"), request.user)


class ReconciliationLineInline(admin.TabularInline):
    model = ReconciliationLine
    fields = (
        "sku",
        "site",
        "legacy_units",
        "system_units",
        "difference_units",
        "difference_percent",
        "value_difference",
        "within_tolerance",
    )
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = (
        "batch",
        "tolerance_percent",
        "lines_total",
        "lines_outside",
        "value_difference",
        "created_by",
        "created_at",
    )
    inlines = [ReconciliationLineInline]

    def get_queryset(self, request):
        from governance import permissions

        return permissions.restrict(super().get_queryset(request), request.user, site_field="batch__site")
