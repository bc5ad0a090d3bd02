from django.contrib import admin, messages

from core.errors import DomainError
from governance import permissions
from governance.admin import (
    SITE_FILTER,
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ScopedModelAdmin,
    ServiceAdminMixin,
    SiteScopedAdmin,
)

from .models import (
    Allocation,
    AllocationDecision,
    Customer,
    PurchaseOrder,
    PurchaseOrderLine,
    ReturnAuthorization,
    ReturnLine,
    SalesOrder,
    SalesOrderLine,
    ShipNoticeLine,
    Supplier,
    TransferOrder,
    TransferOrderLine,
)
from .services import cancel_order, create_customer, release_order, update_customer
from .services.customers import CREDIT_FIELDS, CUSTOMER_FIELDS, require_credit_control
from .services.returns import decide_return


@admin.register(Customer)
class CustomerAdmin(ServiceAdminMixin, HistoryAdmin):
    """Saved through ``create_customer`` / ``update_customer``: the credit fields (limit, overdue flag, terms,
    home site) are read only here unless the user is a credit controller or an admin of the customer's home
    site, and the service refuses them otherwise."""

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
        "min_shelf_life_days",
        "active",
    )
    list_filter = ("active", "region", "priority", "credit_overdue", "allow_backorders", "home_site")
    search_fields = ("code", "name", "email")
    list_select_related = ("home_site",)
    autocomplete_fields = ("home_site",)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            try:
                require_credit_control(request.user, obj.home_site)
            except DomainError:
                readonly += [name for name in CREDIT_FIELDS if name not in readonly]
        return readonly

    def save_model(self, request, obj, form, change):
        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in CUSTOMER_FIELDS}
            saved = update_customer(user=request.user, customer=obj, **fields)
        else:
            fields = {
                name: form.cleaned_data[name]
                for name in CUSTOMER_FIELDS
                if name in form.cleaned_data and name != "name"
            }
            saved = create_customer(
                user=request.user, code=form.cleaned_data["code"], name=form.cleaned_data["name"], **fields
            )
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False


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
class SalesOrderAdmin(HistoryAdmin):
    """Orders are entered through the API or the coordinator pages; admin shows them and runs the same
    services (release, cancel), so every rule applies here too."""

    list_display = (
        "number",
        "customer",
        "site",
        "status",
        "priority",
        "promised_date",
        "carrier",
        "route",
        "cutoff",
        "channel",
        "created_at",
    )
    list_filter = ("status", "channel", "priority", "site", "carrier", "route")
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
class AllocationAdmin(ScopedModelAdmin):
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
class SupplierAdmin(ServiceAdminMixin, HistoryAdmin):
    """Saved through ``create_supplier`` / ``update_supplier`` (master-data permission, validation, history); a
    supplier is never deleted (purchase orders refer to it): set it inactive."""

    list_display = ("code", "name", "lead_time_days", "requires_inspection", "over_receipt_tolerance_percent", "active")
    list_filter = ("active", "requires_inspection")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from .services.purchasing import SUPPLIER_FIELDS, create_supplier, update_supplier

        if change:
            fields = {name: form.cleaned_data[name] for name in form.changed_data if name in SUPPLIER_FIELDS}
            saved = update_supplier(user=request.user, supplier=obj, **fields)
        else:
            fields = {name: form.cleaned_data[name] for name in SUPPLIER_FIELDS if name in form.cleaned_data}
            fields.pop("name", None)
            saved = create_supplier(
                user=request.user, code=form.cleaned_data["code"], name=form.cleaned_data["name"], **fields
            )
        obj.pk = saved.pk
        obj._state.adding = False


class PurchaseLineInline(admin.TabularInline):
    model = PurchaseOrderLine
    extra = 0
    can_delete = False
    fields = ("line_number", "item", "quantity", "unit_cost", "received_quantity", "rejected_quantity")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(HistoryAdmin):
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
class ShipNoticeLineAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Ship notice (ASN) lines come from the supplier's notice through the purchasing API; shown here only."""

    list_display = ("po_line", "lot_number", "expiry_date", "quantity", "created_at")
    search_fields = ("lot_number", "po_line__purchase_order__number")
    raw_id_fields = ("po_line",)

    def get_queryset(self, request):
        return permissions.restrict(
            super().get_queryset(request), request.user, site_field="po_line__purchase_order__site"
        )


class TransferLineInline(admin.TabularInline):
    model = TransferOrderLine
    extra = 0
    can_delete = False
    fields = (
        "line_number",
        "item",
        "quantity",
        "allocated_quantity",
        "picked_quantity",
        "shipped_quantity",
        "received_quantity",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(TransferOrder)
class TransferOrderAdmin(HistoryAdmin):
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


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    can_delete = False
    fields = (
        "line_number",
        "order_line",
        "item",
        "quantity",
        "reason",
        "unit_price",
        "received_quantity",
        "lot_number",
        "inspection",
        "disposition",
        "parts",
        "scrap_value",
        "credit_amount",
        "disposed_at",
    )
    readonly_fields = fields

    @admin.display(description="What came back, part by part")
    def parts(self, obj):
        return "; ".join(
            f"{p.quantity} × {p.get_disposition_display()} ({p.get_inspection_display().lower()})"
            + (f" lot {p.lot_number}" if p.lot_number else "")
            for p in obj.dispositions.all()
        )

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ReturnAuthorization)
class ReturnAuthorizationAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    """Returns are authorized and received through the API or pages (the services check every rule); admin
    shows them and decides what they wait for (authorization or credit) through the same service."""

    list_display = (
        "number",
        "site",
        "sales_order",
        "customer",
        "status",
        "value",
        "credit_amount",
        "credit_status",
        "turnaround_seconds",
        "created_at",
    )
    list_filter = ("status", "credit_status", "site")
    search_fields = ("number", "sales_order__number", "customer__code")
    date_hierarchy = "created_at"
    inlines = [ReturnLineInline]
    actions = ["approve_selected", "reject_selected"]

    def _decide(self, request, queryset, approve):
        self.run_for_each(
            request,
            queryset,
            lambda rma: rma.number,
            lambda rma: decide_return(user=request.user, rma=rma, approve=approve),
            "Approved" if approve else "Rejected",
        )

    @admin.action(description="Approve what the selected returns wait for (authorization or credit)")
    def approve_selected(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Reject what the selected returns wait for (authorization or credit)")
    def reject_selected(self, request, queryset):
        self._decide(request, queryset, False)


# --- replenishment -----------------------------------------------------------------------------------------


from .models import PickFacePolicy, ReplenishmentPolicy, ReplenishmentRun, ReplenishmentSuggestion  # noqa: E402
from .services import replenishment as replenishment_services  # noqa: E402


@admin.register(ReplenishmentPolicy)
class ReplenishmentPolicyAdmin(SiteScopedAdmin):
    """Policies per item and site, saved through create_policy / update_policy (planners, supervisors and
    admins of the site). The action starts a planning run for the selected policies' sites."""

    site_choice_action = "replenishment.plan"
    list_display = (
        "item",
        "site",
        "method",
        "min_quantity",
        "max_quantity",
        "service_level",
        "review_days",
        "lead_time_days",
        "pack_multiple",
        "min_order_quantity",
        "supplier",
        "active",
    )
    list_filter = ("method", "active", SITE_FILTER)
    search_fields = ("item__sku", "item__description", "site__code", "supplier__code")
    list_select_related = ("item", "site", "supplier")
    raw_id_fields = ("item",)
    autocomplete_fields = ("supplier",)
    actions = ["plan_sites"]

    def get_readonly_fields(self, request, obj=None):
        return ("site", "item", "created_at") if obj else ("created_at",)

    def save_model(self, request, obj, form, change):
        fields = {
            name: form.cleaned_data[name] for name in replenishment_services.POLICY_FIELDS if name in form.cleaned_data
        }
        if change:
            saved = replenishment_services.update_policy(user=request.user, policy=obj, **fields)
        else:
            saved = replenishment_services.create_policy(user=request.user, site=obj.site, item=obj.item, **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.action(description="Start a planning run for the sites of the selected policies")
    def plan_sites(self, request, queryset):
        sites = {policy.site for policy in queryset.select_related("site")}
        self.run_for_each(
            request,
            sorted(sites, key=lambda s: s.code),
            lambda site: site.code,
            lambda site: replenishment_services.request_run(user=request.user, site=site),
            "Queued a run for",
        )


@admin.register(PickFacePolicy)
class PickFacePolicyAdmin(SiteScopedAdmin):
    """Min/max per item at PICK locations, saved through create_pick_face_policy / update_pick_face_policy."""

    site_choice_action = "replenishment.plan"
    list_display = ("location", "item", "site", "min_quantity", "max_quantity", "active")
    list_filter = ("active", SITE_FILTER)
    search_fields = ("location__code", "item__sku", "site__code")
    list_select_related = ("location", "item", "site")
    raw_id_fields = ("location", "item")
    exclude = ("site",)

    def get_readonly_fields(self, request, obj=None):
        return ("location", "item", "created_at") if obj else ("created_at",)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            saved = replenishment_services.update_pick_face_policy(
                user=request.user,
                policy=obj,
                **{name: data[name] for name in replenishment_services.PICK_FACE_FIELDS if name in data},
            )
        else:
            saved = replenishment_services.create_pick_face_policy(
                user=request.user,
                location=data["location"],
                item=data["item"],
                min_quantity=data["min_quantity"],
                max_quantity=data["max_quantity"],
                active=data.get("active", True),
            )
        obj.pk = saved.pk
        obj._state.adding = False


@admin.register(ReplenishmentRun)
class ReplenishmentRunAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    list_display = ("id", "site", "status", "trigger", "requested_by", "created_at", "finished_at", "counts")
    list_filter = ("status", "trigger", SITE_FILTER)
    list_select_related = ("site", "requested_by")
    date_hierarchy = "created_at"


@admin.register(ReplenishmentSuggestion)
class ReplenishmentSuggestionAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    """Suggestions of the planning runs with every number in `reason`; accept (creates the purchase or transfer
    order) or dismiss them here through the same services as the API."""

    list_display = (
        "id",
        "site",
        "item",
        "kind",
        "quantity",
        "source_site",
        "supplier",
        "value",
        "status",
        "auto_accepted",
        "purchase_order",
        "transfer_order",
        "created_at",
    )
    list_filter = ("status", "kind", "auto_accepted", SITE_FILTER)
    search_fields = ("item__sku", "site__code", "supplier__code", "source_site__code")
    list_select_related = ("site", "item", "source_site", "supplier", "purchase_order", "transfer_order")
    date_hierarchy = "created_at"
    actions = ["accept_selected", "dismiss_selected"]

    @admin.action(description="Accept the selected suggestions (create the purchase or transfer orders)")
    def accept_selected(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            lambda s: f"Suggestion {s.pk}",
            lambda s: replenishment_services.accept_suggestion(user=request.user, suggestion=s),
            "Accepted",
        )

    @admin.action(description="Dismiss the selected suggestions")
    def dismiss_selected(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            lambda s: f"Suggestion {s.pk}",
            lambda s: replenishment_services.dismiss_suggestion(user=request.user, suggestion=s),
            "Dismissed",
        )
