from django.contrib import admin

from governance import permissions
from governance.admin import ReadOnlyAdminMixin, ScopedModelAdmin

from .models import KpiSnapshot


@admin.register(KpiSnapshot)
class KpiSnapshotAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Daily KPI snapshots, read only (written by the snapshot_kpis job). Staff who are not enterprise admins
    see their sites' rows, and the network rows only when they may see the network."""

    list_display = ("date", "key", "site", "value", "numerator", "denominator", "unit", "computed_at")
    list_filter = ("key", "site", "date")
    date_hierarchy = "date"
    search_fields = ("key", "site__code")
    list_select_related = ("site",)

    def get_queryset(self, request):
        from django.db.models import Q

        qs = super().get_queryset(request)
        ids = permissions.site_ids_for(request.user)
        if ids is None:
            return qs
        network = Q(site__isnull=True) if permissions.can_see_network(request.user) else Q(pk__in=[])
        return qs.filter(network | Q(site_id__in=ids))
