"""Read-only admin pages: batches are uploaded, validated and posted through the services (API, command)."""

from django.contrib import admin

from governance.admin import HistoryAdmin, ScopedModelAdmin

from .models import GoLiveRequest, ImportBatch, ImportRowError, Reconciliation, ReconciliationLine, TrainingRecord


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


@admin.register(TrainingRecord)
class TrainingRecordAdmin(HistoryAdmin):
    """Training records are added through the service (site admins, enterprise admins), which checks the trainee
    works at the site; the admin's add form calls it too."""

    list_display = ("user", "site", "process", "certified_on", "valid_until", "revoked_at", "recorded_by")
    list_filter = ("site", "process")
    search_fields = ("user__username", "trainer")
    fields = ("user", "site", "process", "certified_on", "valid_until", "trainer", "note", "revoked_at")
    readonly_fields = ("revoked_at",)

    def get_queryset(self, request):
        from governance import permissions

        return permissions.restrict(super().get_queryset(request), request.user)

    def has_change_permission(self, request, obj=None):
        return obj is None  # records are not edited: revoke one and record a new one

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from .services.training import record_training

        if change:  # pragma: no cover - change is not permitted
            return
        saved = record_training(
            user=request.user,
            site=obj.site,
            trainee=obj.user,
            process=obj.process,
            certified_on=obj.certified_on,
            valid_until=obj.valid_until,
            trainer=obj.trainer,
            note=obj.note,
        )
        obj.pk = saved.pk


@admin.register(GoLiveRequest)
class GoLiveRequestAdmin(HistoryAdmin):
    """Read only: go-live requests are made and decided through the services (API, readiness page)."""

    list_display = ("site", "status", "requested_by", "requested_at", "decided_by", "decided_at", "waiver_reason")
    list_filter = ("status", "site")
    exclude = ("scorecard",)
    readonly_fields = ("scorecard_text",)

    @admin.display(description="Scorecard when asked")
    def scorecard_text(self, obj):
        return "; ".join(f"{c.get('label')}: {c.get('status')} ({c.get('value')})" for c in obj.scorecard or [])

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        from governance import permissions

        return permissions.restrict(super().get_queryset(request), request.user)
