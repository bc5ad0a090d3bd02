# NOTE for helpers: written by the lead and covered by tests; extend or fix it, do not rewrite it.
"""Django admin of the governance app.

Admin is a client of the services like the API: every write that has a service goes through it (sites,
memberships, rule values, approvals, exceptions), so the same rules, permission checks and history apply.
A refusal (``DomainError``) re-renders the form with the service's message instead of a server error.
Staff who are not enterprise admins see only rows of their sites (``permissions.restrict``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied as AdminPermissionDenied
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from core.downloads import csv_download
from core.errors import DomainError

from . import permissions
from .models import (
    ApiToken,
    ApprovalRequest,
    DocumentSequence,
    ExceptionCase,
    ExceptionCode,
    IdempotencyRecord,
    JobRun,
    RuleChange,
    Site,
    SiteMembership,
    SiteRuleValue,
    WebhookDelivery,
    WebhookSubscription,
    readable_value,
)
from .rules import ENTERPRISE, REGISTRY
from .services import (
    acknowledge_exception,
    add_membership,
    assign_exception,
    clear_rule_value,
    create_site,
    decide_approval,
    remove_membership,
    resolve_exception,
    set_rule_value,
    update_site,
)
from .services.rules import RULE_CHANGE_KIND, effective_rules

# --- shared building blocks (inventory/admin.py uses them too) ---------------------------------------------

#: a site filter that offers only the sites present in the (restricted) list, so no other site's code leaks
SITE_FILTER = ("site", admin.RelatedOnlyFieldListFilter)


def add_domain_error(form, error: DomainError) -> None:
    """Show a service's refusal on ``form``: its message on top, and the details on the fields it names."""
    form.add_error(None, f"Refused: {error}")
    for entry in error.errors or []:
        field = entry.get("field")
        if field in form.fields and field not in form.errors and entry.get("message"):
            form.add_error(field, entry["message"])
    if error.field in form.fields and error.field not in form.errors:
        form.add_error(error.field, str(error))


class ServiceAdminMixin:
    """Saves and deletes go through services; a refusal is shown on the form, and nothing is saved.

    ``changeform_view`` runs in a transaction: when a service raises a ``DomainError`` the transaction rolls
    back, and the view runs once more with the error attached to the form, so the page shows the submitted
    values and the message (the form is invalid the second time, so nothing is written).
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            if request.method != "POST" or getattr(request, "_service_error", None) is not None:
                raise
            request._service_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        error = getattr(request, "_service_error", None)
        if error is None:
            return form_class

        class FormWithServiceError(form_class):
            def clean(self):
                cleaned = super().clean()
                add_domain_error(self, error)
                return cleaned

        return FormWithServiceError

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except DomainError as error:
            self.message_user(request, f"Not deleted: {error}", messages.ERROR)
            return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def run_for_each(self, request, queryset, label, func, verb: str) -> int:
        """Run ``func(obj)`` for every selected object; report each refusal and the number done."""
        done = 0
        for obj in queryset:
            try:
                func(obj)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{label(obj)}: {error}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb} {done} of {len(queryset)} selected.", messages.SUCCESS)
        return done


class ScopedModelAdmin(admin.ModelAdmin):
    """Base of every admin here: an object the user may not see (another site's, or none at all, or an id that is
    no id) answers 404 on every object page, the same answer for each, instead of Django's redirect to the index.
    Django's own history page (the admin log) only answers GET."""

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404(f"No {opts.verbose_name} with this id.")

    def history_view(self, request, object_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        return super().history_view(request, object_id, extra_context)


def _history_manager(model):
    """The model's django-simple-history manager, or None for a model without history."""
    name = getattr(model._meta, "simple_history_manager_attribute", None)
    return getattr(model, name, None) if name else None


class HistoryAdmin(ScopedModelAdmin, SimpleHistoryAdmin):
    """django-simple-history's pages, scoped exactly like the change view and read only.

    The history list and each version are shown only for an object the change view would show
    (``get_queryset``: the user's sites), and a version only when it belongs to that object; anything else, a
    model without history and an id that is no id answer 404. Nothing is ever reverted or edited from history
    (a revert would write outside the services): both pages answer only GET (405 otherwise) and a version is
    rendered with every field read only and no Revert button. ``check_history_access`` lets an admin refuse an
    object's history (blind count lines)."""

    def revert_disabled(self, request, obj=None):
        return True

    def has_change_history_permission(self, request, obj=None):
        return False

    def check_history_access(self, request, obj) -> None:
        """Raise ``PermissionDenied`` when the user may see ``obj`` but not its history."""

    def _history_object(self, request, object_id):
        if _history_manager(self.model) is None:
            raise Http404(f"{self.model._meta.verbose_name_plural} have no history.")
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404(f"No {self.model._meta.verbose_name} with this id.")
        if not self.has_view_or_change_permission(request, obj):
            raise AdminPermissionDenied
        self.check_history_access(request, obj)
        return obj

    def history_view(self, request, object_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if _history_manager(self.model) is None:
            # no change history of its own (e.g. replenishment runs): the change page's History link shows
            # Django's admin log of the object, scoped like the change view
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                raise Http404(f"No {self.model._meta.verbose_name} with this id.")
            if not self.has_view_or_change_permission(request, obj):
                raise AdminPermissionDenied
            response = admin.ModelAdmin.history_view(self, request, str(obj.pk), extra_context)
            opts = self.model._meta  # Django's own log page, not simple-history's (which offers Revert)
            response.template_name = [
                f"admin/{opts.app_label}/{opts.model_name}/object_history.html",
                f"admin/{opts.app_label}/object_history.html",
                "admin/object_history.html",
            ]
            return response
        obj = self._history_object(request, object_id)
        return SimpleHistoryAdmin.history_view(self, request, str(obj.pk), extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """One version of a visible object, read only (its ``history_id`` must belong to that object)."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        current = self._history_object(request, object_id)
        history = _history_manager(self.model)
        try:
            version_pk = history.model._meta.pk.to_python(unquote(version_id))
        except ValidationError:
            raise Http404("No such version.") from None
        record = history.filter(**{self.model._meta.pk.attname: current.pk, "pk": version_pk}).first()
        if record is None:
            raise Http404("No such version of this object.")
        obj = record.instance
        obj._state.adding = False
        request.current_app = self.admin_site.name
        form = self.get_form(request, obj)(instance=obj)
        fieldsets = self.get_fieldsets(request, obj)
        shown = [name for name in flatten_fieldsets(fieldsets)]
        admin_form = helpers.AdminForm(form, fieldsets, {}, [*shown, *self.get_readonly_fields(request, obj)], self)
        opts = self.model._meta
        info = self.admin_site.name, opts.app_label, opts.model_name
        context = {
            **self.admin_site.each_context(request),
            "title": f"View {opts.verbose_name}: {obj}",
            "adminform": admin_form,
            "object_id": current.pk,
            "original": obj,
            "is_popup": False,
            "media": self.media + admin_form.media,
            "errors": None,
            "inline_admin_formsets": [],
            "app_label": opts.app_label,
            "original_opts": opts,
            "changelist_url": reverse("{}:{}_{}_changelist".format(*info)),
            "change_url": reverse("{}:{}_{}_change".format(*info), args=(current.pk,)),
            "history_url": reverse("{}:{}_{}_history".format(*info), args=(current.pk,)),
            "change_history": False,
            "revert_disabled": True,
            "add": False,
            "change": True,
            "has_add_permission": False,
            "has_view_permission": True,
            "has_change_permission": False,
            "has_delete_permission": False,
            "has_editable_inline_admin_formsets": False,
            "has_file_field": False,
            "has_absolute_url": False,
            "form_url": "",
            "opts": history.model._meta,
            "content_type_id": self.content_type_model_cls.objects.get_for_model(self.model).id,
            "save_as": False,
            "save_on_top": False,
            "show_save": False,
            **(extra_context or {}),
        }
        return self.render_history_view(request, self.object_history_form_template, context)


class SiteScopedAdmin(ServiceAdminMixin, HistoryAdmin):
    """Staff who are not enterprise admins see only rows of their sites, and pick only their sites in forms."""

    site_field = "site"
    #: the action a user needs at a site to choose it in a form of this admin
    site_choice_action = "view"

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user, site_field=self.site_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.remote_field.model is Site:
            kwargs["queryset"] = permissions.visible_sites(request.user, self.site_choice_action)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _read_only_page(model_admin, request, obj) -> bool:
    """Whether ``obj``'s page is shown read only: the user may not change it, or it is a version in its history."""
    match = getattr(request, "resolver_match", None)
    if match is not None and (match.url_name or "").endswith("_simple_history"):
        return True
    return not model_admin.has_change_permission(request, obj)


class ReadOnlyAdminMixin:
    """Shown, searched and filtered; never added, changed or deleted in admin."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- sites and memberships -----------------------------------------------------------------------------------


class MembershipInline(admin.TabularInline):
    """Memberships of a site, added and removed through the membership services."""

    model = SiteMembership
    extra = 1
    fields = ("user", "role", "created_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Site)
class SiteAdmin(SiteScopedAdmin):
    """Sites are created through ``create_site`` (which creates their virtual locations) and changed through
    ``update_site``; only enterprise admins do either."""

    site_field = "pk"
    list_display = ("code", "name", "region", "kind", "stage", "timezone", "active", "created_at")
    list_filter = ("region", "kind", "stage", "active")
    search_fields = ("code", "name", "region")
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        # the stage is chosen when the site is added (PLANNED, or LIVE for a site already run elsewhere); after
        # that only the roll-out steps (governance.services.lifecycle) move it
        lifecycle = ("stage", "stage_changed_at", "hypercare_ends_on")
        return ("code", *lifecycle, "created_at") if obj else ("stage_changed_at", "hypercare_ends_on", "created_at")

    def has_add_permission(self, request):
        return permissions.is_enterprise_admin(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return permissions.is_enterprise_admin(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # sites are deactivated, never deleted: documents and the ledger refer to them

    def save_model(self, request, obj, form, change):
        fields = [f for f in ("name", "region", "kind", "timezone", "address", "active") if f in form.cleaned_data]
        if change:
            site = update_site(
                user=request.user, site=obj, **{f: form.cleaned_data[f] for f in fields if f in form.changed_data}
            )
        else:
            stage = form.cleaned_data.get("stage") or Site.Stage.PLANNED
            site = create_site(
                user=request.user,
                code=form.cleaned_data["code"],
                stage=stage,
                **{f: form.cleaned_data[f] for f in fields},
            )
        obj.pk = site.pk
        obj.created_at = site.created_at
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        if formset.model is not SiteMembership:  # pragma: no cover - only one inline
            return super().save_formset(request, form, formset, change)
        site = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            membership = inline_form.instance
            data = getattr(inline_form, "cleaned_data", None) or {}
            if membership.pk and data.get("DELETE"):
                remove_membership(user=request.user, membership=membership)
                formset.deleted_objects.append(membership)
            elif membership.pk and inline_form.has_changed():
                # a membership is a fact (user, site, role): changing one is removing it and adding the new one
                old = SiteMembership.objects.get(pk=membership.pk)
                remove_membership(user=request.user, membership=old)
                new = add_membership(
                    user=request.user, member_username=data["user"].username, site=site, role=data["role"]
                )
                formset.changed_objects.append((new, inline_form.changed_data))
            elif not membership.pk and inline_form.has_changed() and data and not data.get("DELETE"):
                new = add_membership(
                    user=request.user, member_username=data["user"].username, site=site, role=data["role"]
                )
                formset.new_objects.append(new)


@admin.register(SiteMembership)
class SiteMembershipAdmin(SiteScopedAdmin):
    """A user's role at a site. Added and removed through the membership services (a site's admins may manage
    its memberships); to change a role, remove the membership and add the new one."""

    site_choice_action = "site.manage"
    list_display = ("user", "site", "role", "created_at")
    list_filter = ("role", SITE_FILTER)
    search_fields = ("user__username", "user__first_name", "user__last_name", "site__code")
    list_select_related = ("user", "site")
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and permissions.site_ids_for(request.user, "site.manage") != set()

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        return obj is None or permissions.can(request.user, "site.manage", obj.site_id)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = get_user_model().objects.filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        membership = add_membership(user=request.user, member_username=obj.user.username, site=obj.site, role=obj.role)
        obj.pk = membership.pk
        obj.created_at = membership.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        remove_membership(user=request.user, membership=obj)

    def delete_queryset(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            str,
            lambda membership: remove_membership(user=request.user, membership=membership),
            "Removed",
        )


class UserMembershipInline(admin.TabularInline):
    """A user's memberships on the user's page: only those at sites the viewer sees; added, changed (removed and
    added again) and removed through the membership services, at sites whose memberships the viewer manages."""

    model = SiteMembership
    fk_name = "user"
    extra = 1
    fields = ("site", "role", "created_at")
    readonly_fields = ("created_at",)
    verbose_name = "site membership"
    verbose_name_plural = "site memberships"

    def get_queryset(self, request):
        return permissions.restrict(super().get_queryset(request), request.user).select_related("site")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "site":
            kwargs["queryset"] = permissions.visible_sites(request.user, "site.manage").order_by("code")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _manages_a_site(self, request) -> bool:
        return permissions.site_ids_for(request.user, "site.manage") != set()

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._manages_a_site(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._manages_a_site(request)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._manages_a_site(request)


admin.site.unregister(get_user_model())  # django.contrib.auth's, registered when its admin module was imported


@admin.register(get_user_model())
class UserAdmin(ServiceAdminMixin, ScopedModelAdmin, DjangoUserAdmin):
    """Django's user admin with the user's site memberships (``UserMembershipInline``); the memberships are
    written only through ``add_membership`` / ``remove_membership`` (permission check, history user), and a
    refusal re-renders the page with the service's message.

    Enterprise admins see every user; other staff (a site's admin) only the users with a membership at a site
    they see: anyone else, a user of other sites only or of no site, is not in their list, search or
    autocomplete, and their pages answer 404 (``ScopedModelAdmin``)."""

    inlines = [UserMembershipInline]

    def get_queryset(self, request):
        users = super().get_queryset(request)
        ids = permissions.site_ids_for(request.user)
        if ids is None:
            return users
        return users.filter(pk__in=SiteMembership.objects.filter(site_id__in=ids).values("user_id"))

    def response_add(self, request, obj, post_url_continue=None):
        if not self.get_queryset(request).filter(pk=obj.pk).exists():
            # created without a membership at the creator's sites: theirs to see no longer (only enterprise admins')
            self.message_user(
                request,
                f"The user {obj.username} was created without a membership at your sites, so only enterprise "
                "admins see them now. Give a new user their site membership on the add page (Site memberships), or "
                "ask an enterprise admin.",
                messages.WARNING,
            )
            opts = self.opts
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        return super().response_add(request, obj, post_url_continue)

    def save_formset(self, request, form, formset, change):
        if formset.model is not SiteMembership:  # pragma: no cover - only one inline
            return super().save_formset(request, form, formset, change)
        member = form.instance
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            membership = inline_form.instance
            data = getattr(inline_form, "cleaned_data", None) or {}
            if membership.pk and data.get("DELETE"):
                remove_membership(user=request.user, membership=membership)
                formset.deleted_objects.append(membership)
            elif membership.pk and inline_form.has_changed():
                # a membership is a fact (user, site, role): changing one is removing it and adding the new one
                remove_membership(user=request.user, membership=SiteMembership.objects.get(pk=membership.pk))
                new = add_membership(
                    user=request.user, member_username=member.username, site=data["site"], role=data["role"]
                )
                formset.changed_objects.append((new, inline_form.changed_data))
            elif not membership.pk and inline_form.has_changed() and data and not data.get("DELETE"):
                new = add_membership(
                    user=request.user, member_username=member.username, site=data["site"], role=data["role"]
                )
                formset.new_objects.append(new)


# --- site rules -----------------------------------------------------------------------------------------------


def human_value(value, key: str | None = None) -> str:
    """A rule value as people read it: yes/no, a number (a stored decimal text read as the rule's decimal), a
    list joined with commas, a mapping as ``name: value`` pairs; never JSON (``true``, ``["X"]``, ``{"a": 1}``).
    For the rules' four types the text also parses back (``RuleDefinition.parse``), so a form can start from it."""
    defn = REGISTRY.get(key) if key else None
    if defn is not None and defn.type == "decimal" and isinstance(value, str | int) and not isinstance(value, bool):
        try:
            value = defn.from_json(value)
        except ArithmeticError:
            pass  # not a number after all: shown as the text it is
    return readable_value(value)


def _bounds(defn) -> str:
    parts = []
    if defn.choices:
        parts.append("one of " + ", ".join(human_value(c) for c in defn.choices))
    if defn.min_value is not None:
        parts.append(f"min {human_value(defn.min_value)}")
    if defn.max_value is not None:
        parts.append(f"max {human_value(defn.max_value)}")
    return "; ".join(parts)


class SiteRuleValueForm(forms.ModelForm):
    """The value is typed as text and parsed by the rule's own definition in ``set_rule_value``."""

    key = forms.ChoiceField(choices=())
    value = forms.CharField(
        max_length=100, help_text="yes/no for yes-no rules, a number, or one of the rule's choices."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this value (kept in history).")

    class Meta:
        model = SiteRuleValue
        fields = ("key", "site", "value", "reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "key" in self.fields:
            self.fields["key"].choices = [
                (key, f"{key} ({defn.standardization.lower()}, {defn.type})") for key, defn in sorted(REGISTRY.items())
            ]
        if "site" in self.fields:
            self.fields["site"].required = False
            self.fields["site"].empty_label = "(enterprise value: every site without an override)"
        if self.instance.pk and not self.is_bound:
            self.initial["value"] = human_value(self.instance.value, self.instance.key)


@admin.register(SiteRuleValue)
class SiteRuleValueAdmin(SiteScopedAdmin):
    """Rule values people set: the enterprise value (no site) or a site's override, always through
    ``set_rule_value`` / ``clear_rule_value`` (type, bounds, ENTERPRISE standardization, reason). The
    'Effective rules per site' page shows every declared rule at every site and which sites deviate."""

    form = SiteRuleValueForm
    site_choice_action = "site.manage"
    list_display = (
        "key",
        "site_label",
        "value_shown",
        "standardization",
        "reason",
        "updated_by",
        "approved_by",
        "updated_at",
    )
    list_filter = ("key", SITE_FILTER)
    search_fields = ("key", "reason")
    list_select_related = ("site", "updated_by", "approved_by")
    change_list_template = "admin/governance/siterulevalue/change_list.html"

    def get_queryset(self, request):
        qs = super(SiteScopedAdmin, self).get_queryset(request)
        ids = permissions.site_ids_for(request.user)
        return qs if ids is None else qs.filter(Q(site__isnull=True) | Q(site__in=ids))

    def get_readonly_fields(self, request, obj=None):
        if obj:
            shown = ("value_shown",) if _read_only_page(self, request, obj) else ()
            return ("key", "site", *shown, "updated_by", "approved_by", "updated_at")
        return ("updated_by", "approved_by", "updated_at")

    @admin.display(description="site")
    def site_label(self, obj):
        return obj.site.code if obj.site_id else "(enterprise)"

    @admin.display(description="value")
    def value_shown(self, obj):
        return human_value(obj.value, obj.key)

    def get_fields(self, request, obj=None):
        if obj is None or not _read_only_page(self, request, obj):
            return super().get_fields(request, obj)
        # a page shown read only renders the model field as Django's JSON text (``true``, ``"FEFO"``): the value
        # as people read it instead
        return ["key", "site", "value_shown", "reason", "updated_by", "approved_by", "updated_at"]

    @admin.display(description="standardization")
    def standardization(self, obj):
        defn = REGISTRY.get(obj.key)
        return defn.standardization if defn else "(no longer declared)"

    def _may_set(self, request, obj) -> bool:
        if obj is None:
            return permissions.site_ids_for(request.user, "site.manage") != set()
        if obj.site_id is None:
            return permissions.is_enterprise_admin(request.user)
        return permissions.can(request.user, "site.manage", obj.site_id)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_set(request, None)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_set(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_set(request, obj)

    def save_model(self, request, obj, form, change):
        row = set_rule_value(
            user=request.user,
            key=obj.key,
            site=obj.site,
            value=form.cleaned_data["value"],
            reason=form.cleaned_data["reason"],
        )
        if isinstance(row, RuleChange):  # a control rule: nothing changes until another admin approves
            request._rule_change = row
            return
        obj.pk, obj.value, obj.updated_at = row.pk, row.value, row.updated_at
        obj._state.adding = False

    def _pending_message(self, request, change: RuleChange) -> None:
        self.message_user(
            request,
            f"{change}: waits for approval by another "
            + (f"admin of {change.site.code}" if change.site_id else "enterprise admin")
            + f" (approval requests, kind "
            f"{RULE_CHANGE_KIND}); the value in force is unchanged until then.",
            messages.WARNING,
        )

    def log_addition(self, request, obj, message):
        if getattr(request, "_rule_change", None) is None:
            return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        if getattr(request, "_rule_change", None) is None:
            return super().log_change(request, obj, message)

    def response_add(self, request, obj, post_url_continue=None):
        change = getattr(request, "_rule_change", None)
        if change is None:
            return super().response_add(request, obj, post_url_continue)
        self._pending_message(request, change)
        return redirect(reverse("admin:governance_siterulevalue_changelist"))

    def response_change(self, request, obj):
        change = getattr(request, "_rule_change", None)
        if change is None:
            return super().response_change(request, obj)
        self._pending_message(request, change)
        return redirect(reverse("admin:governance_siterulevalue_changelist"))

    def delete_model(self, request, obj):
        result = clear_rule_value(user=request.user, key=obj.key, site=obj.site)
        if isinstance(result, RuleChange):
            request._rule_change = result

    def response_delete(self, request, obj_display, obj_id):
        change = getattr(request, "_rule_change", None)
        if change is None:
            return super().response_delete(request, obj_display, obj_id)
        self._pending_message(request, change)
        return redirect(reverse("admin:governance_siterulevalue_changelist"))

    def delete_queryset(self, request, queryset):
        def clear(row):
            result = clear_rule_value(user=request.user, key=row.key, site=row.site)
            if isinstance(result, RuleChange):
                self._pending_message(request, result)

        self.run_for_each(request, queryset, str, clear, "Cleared (or sent for approval)")

    def get_urls(self):
        return [
            path(
                "effective/", self.admin_site.admin_view(self.effective_view), name="governance_siterulevalue_effective"
            )
        ] + super().get_urls()

    def effective_view(self, request):
        """Every declared rule: type, standardization, bounds, enterprise value and each site's effective value,
        with deviations highlighted and counted per site; a form sets or clears a value through the services."""
        if not self.has_view_permission(request):
            raise AdminPermissionDenied
        sites = list(permissions.visible_sites(request.user).filter(active=True).order_by("code"))
        if request.method == "POST":
            return self._effective_post(request, sites)
        per_site = {s.pk: {row["key"]: row for row in effective_rules(s)} for s in sites}
        enterprise = {row["key"]: row for row in effective_rules(None)}
        deviations = {s.code: 0 for s in sites}
        rows = []
        for key, defn in sorted(REGISTRY.items()):
            cells = []
            for s in sites:
                row = per_site[s.pk][key]
                if row["overridden"]:
                    deviations[s.code] += 1
                cells.append(
                    {
                        "site": s.code,
                        "value": human_value(row["value"], key),
                        "overridden": row["overridden"],
                        "has_override": row["has_override"],
                        "reason": row["reason"] if row["has_override"] else "",
                    }
                )
            rows.append(
                {
                    "key": key,
                    "defn": defn,
                    "bounds": _bounds(defn),
                    "enterprise": human_value(enterprise[key]["enterprise_value"], key),
                    "enterprise_reason": enterprise[key]["reason"],
                    "default": human_value(defn.default, key),
                    "locked": defn.standardization == ENTERPRISE,
                    "cells": cells,
                    "deviating_sites": [c["site"] for c in cells if c["overridden"]],
                }
            )
        deviations_only = request.GET.get("deviations") == "1"
        if deviations_only:  # only the rules where some site's value differs from the enterprise value
            rows = [row for row in rows if row["deviating_sites"]]
        if request.GET.get("download") == "csv":
            return self._effective_csv(rows, sites, deviations_only)
        selected_key = request.GET.get("key", "")
        selected_site = request.GET.get("site", "")
        current = ""
        if selected_key in REGISTRY:
            source = per_site.get(next((s.pk for s in sites if s.code == selected_site), None)) or enterprise
            current = human_value(source[selected_key]["value"], selected_key)
        context = {
            **self.admin_site.each_context(request),
            "title": "Effective site rules",
            "rows": rows,
            "sites": sites,
            "deviations": deviations,
            "total_deviations": sum(deviations.values()),
            "deviations_only": deviations_only,
            # the grid's "change" / "override" links keep the filter the grid is shown with
            "keep_query": "deviations=1&" if deviations_only else "",
            "keys": sorted(REGISTRY),
            "selected_key": selected_key,
            "selected_site": selected_site,
            "current_value": current,
            "can_set_enterprise": permissions.is_enterprise_admin(request.user),
            "manageable_sites": [s.code for s in sites if permissions.can(request.user, "site.manage", s)],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/governance/effective_rules.html", context)

    @staticmethod
    def _effective_csv(rows, sites, deviations_only: bool):
        """The grid as shown (the same rules, the same readable values), one line per rule."""
        header = [
            "rule",
            "description",
            "type",
            "unit",
            "standardization",
            "bounds",
            "enterprise value",
            "default",
            *[s.code for s in sites],
            "deviating sites",
        ]
        lines = (
            [
                row["key"],
                row["defn"].description,
                row["defn"].type,
                row["defn"].unit,
                row["defn"].standardization,
                row["bounds"],
                row["enterprise"],
                row["default"],
                *[cell["value"] for cell in row["cells"]],
                ", ".join(row["deviating_sites"]),
            ]
            for row in rows
        )
        return csv_download("effective-rules-deviations" if deviations_only else "effective-rules", header, lines)

    def _effective_post(self, request, sites):
        code = (request.POST.get("site") or "").strip()
        key = (request.POST.get("key") or "").strip()
        site = next((s for s in sites if s.code == code), None)
        where = f"{key} at {site.code}" if site else f"{key} (enterprise value)"
        # back to the grid as it was shown (deviations only or every rule)
        keep = {"deviations": "1"} if request.POST.get("deviations") == "1" else {}
        grid = f"{request.path}?{urlencode(keep)}" if keep else request.path
        back = f"{request.path}?{urlencode({**keep, 'key': key, 'site': code})}"
        if code and site is None:
            self.message_user(request, f"Refused: no site {code!r}.", messages.ERROR)
            return redirect(grid)
        try:
            if request.POST.get("clear"):
                removed = clear_rule_value(user=request.user, key=key, site=site)
                if isinstance(removed, RuleChange):
                    self._pending_message(request, removed)
                else:
                    note = "value removed; the next level applies again" if removed else "had no value of its own"
                    self.message_user(request, f"{where}: {note}.", messages.SUCCESS)
            else:
                row = set_rule_value(
                    user=request.user,
                    key=key,
                    value=request.POST.get("value", ""),
                    reason=request.POST.get("reason", ""),
                    site=site,
                )
                if isinstance(row, RuleChange):
                    self._pending_message(request, row)
                else:
                    self.message_user(request, f"{where} set to {human_value(row.value, key)}.", messages.SUCCESS)
        except DomainError as error:
            self.message_user(request, f"Refused: {where}: {error}", messages.ERROR)
            return redirect(back)
        return redirect(grid)


@admin.register(RuleChange)
class RuleChangeAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    """Requested changes of control rules' site overrides: set or removed only when another admin of the site
    approves the RULE_CHANGE approval request (Approval requests)."""

    list_display = ("key", "site", "action", "value_shown", "previous_shown", "status", "requested_by", "decided_by")
    list_filter = ("status", "action", "key", SITE_FILTER)
    search_fields = ("key", "reason", "requested_by__username")
    list_select_related = ("site", "requested_by", "decided_by")
    date_hierarchy = "requested_at"
    #: the values as people read them, not Django's JSON text of the stored values
    _SHOWN = {"value": "value_shown", "previous_value": "previous_shown"}

    def get_readonly_fields(self, request, obj=None):
        return [self._SHOWN.get(name, name) for name in super().get_readonly_fields(request, obj)]

    def get_fields(self, request, obj=None):
        return self.get_readonly_fields(request, obj)

    @admin.display(description="value")
    def value_shown(self, obj):
        return "" if obj.action == RuleChange.Action.CLEAR else human_value(obj.value, obj.key)

    @admin.display(description="previous value")
    def previous_shown(self, obj):
        return human_value(obj.previous_value, obj.key)


# --- approvals, exceptions, jobs -----------------------------------------------------------------------------


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdminMixin, SiteScopedAdmin):
    """Decided only through ``decide_approval`` (the requester never decides their own request)."""

    list_display = (
        "kind",
        "subject_label",
        "site",
        "status",
        "value",
        "threshold",
        "rule_key",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "kind", SITE_FILTER)
    search_fields = ("subject_label", "reason", "requested_by__username")
    list_select_related = ("site", "requested_by", "decided_by")
    date_hierarchy = "requested_at"
    actions = ["approve", "reject"]

    def _decide(self, request, queryset, approve: bool):
        self.run_for_each(
            request,
            queryset,
            lambda a: a.subject_label,
            lambda a: decide_approval(approval=a, user=request.user, approve=approve, note="Decided in admin."),
            "Approved" if approve else "Rejected",
        )

    @admin.action(description="Approve selected requests")
    def approve(self, request, queryset):
        self._decide(request, queryset, True)

    @admin.action(description="Reject selected requests")
    def reject(self, request, queryset):
        self._decide(request, queryset, False)


@admin.register(ExceptionCode)
class ExceptionCodeAdmin(HistoryAdmin):
    """The catalog: severity, owning role and SLA may be tuned; codes are added in governance/catalog.py."""

    list_display = ("code", "name", "severity", "owner_role", "sla_minutes", "active")
    list_filter = ("severity", "owner_role", "active")
    search_fields = ("code", "name", "description")

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False  # cases refer to their code; deactivate it instead


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}), help_text="How was it resolved? Kept on every case."
    )


@admin.register(ExceptionCase)
class ExceptionCaseAdmin(SiteScopedAdmin):
    """Exception cases are opened by the services that detect them; here they are acknowledged, assigned
    (through ``assign_exception``) and resolved with a note."""

    list_display = (
        "code",
        "subject_label",
        "site",
        "severity",
        "status",
        "overdue",
        "opened_at",
        "due_at",
        "assignee",
        "escalation_level",
    )
    list_filter = ("status", "severity", "owner_role", "code", SITE_FILTER)
    search_fields = ("subject_label", "summary", "code__code")
    list_select_related = ("code", "site", "assignee")
    date_hierarchy = "opened_at"
    autocomplete_fields = ("assignee",)
    actions = ["acknowledge", "resolve"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ExceptionCase._meta.fields if f.name != "assignee"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="overdue")
    def overdue(self, obj):
        return obj.is_overdue

    def save_model(self, request, obj, form, change):
        if "assignee" in form.changed_data:
            assign_exception(case=obj, user=request.user, assignee=form.cleaned_data["assignee"])

    @admin.action(description="Acknowledge selected exceptions")
    def acknowledge(self, request, queryset):
        self.run_for_each(
            request,
            queryset,
            str,
            lambda case: acknowledge_exception(case=case, user=request.user),
            "Acknowledged",
        )

    @admin.action(description="Resolve selected exceptions (asks for a note)")
    def resolve(self, request, queryset):
        form = ResolveForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            note = form.cleaned_data["note"]
            self.run_for_each(
                request,
                queryset,
                str,
                lambda case: resolve_exception(case=case, user=request.user, note=note),
                "Resolved",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve exceptions",
            "cases": queryset,
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/governance/exceptioncase/resolve.html", context)


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Background job runs. Staff see the runs of their sites and the enterprise-wide runs."""

    list_display = ("kind", "site", "status", "started_at", "finished_at", "counts", "short_error", "requested_by")
    list_filter = ("status", "kind", SITE_FILTER)
    search_fields = ("kind", "error")
    list_select_related = ("site", "requested_by")
    date_hierarchy = "started_at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = permissions.site_ids_for(request.user)
        return qs if ids is None else qs.filter(Q(site__isnull=True) | Q(site__in=ids))

    @admin.display(description="error")
    def short_error(self, obj):
        return (obj.error[:80] + "…") if len(obj.error) > 80 else obj.error


@admin.register(DocumentSequence)
class DocumentSequenceAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Gap-free document counters: shown, never edited (an edit would break the numbering)."""

    list_display = ("prefix", "last_value", "last_number")
    search_fields = ("prefix",)

    @admin.display(description="last number")
    def last_number(self, obj):
        return str(obj)


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedModelAdmin):
    """API tokens: listed and revoked here, made with ``manage.py create_api_token``. The digest is never shown.
    Staff who are not enterprise admins see only their own tokens."""

    fields = (
        "prefix",
        "user",
        "name",
        "scope_list",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "revoked_by",
        "last_used_at",
    )
    readonly_fields = fields
    list_display = (*fields, "active")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__username", "name", "prefix")
    list_select_related = ("user", "created_by", "revoked_by")
    actions = ["revoke"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if permissions.is_enterprise_admin(request.user) else qs.filter(user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="active")
    def active(self, obj):
        return obj.is_active

    @admin.display(description="scopes")
    def scope_list(self, obj):
        return ", ".join(obj.scopes or []) or "(none)"

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        from governance.services.api_tokens import revoke_token

        count = 0
        for token in queryset.filter(revoked_at__isnull=True).order_by("pk"):
            revoke_token(actor=request.user, token=token)  # who revoked is recorded (revoked_by)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Replayable first responses of API creates sent with an Idempotency-Key (purged after the TTL)."""

    list_display = ("key", "user", "method", "path", "status_code", "created_at", "completed_at")
    list_filter = ("method", "status_code")
    search_fields = ("key", "path", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if permissions.is_enterprise_admin(request.user) else qs.filter(user=request.user)


__all__ = [
    "SITE_FILTER",
    "HistoryAdmin",
    "ReadOnlyAdminMixin",
    "ScopedModelAdmin",
    "ServiceAdminMixin",
    "SiteScopedAdmin",
    "add_domain_error",
]


# --- webhooks (issue 14) ---------------------------------------------------------------------------------------


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyAdminMixin, ScopedModelAdmin):
    """Read only: subscriptions are made and changed through the API (``webhook-subscriptions/``) by their
    owner; the secret is never shown here (only its last characters)."""

    list_display = ("id", "name", "owner", "url", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "url", "owner__username")
    exclude = ("secret", "previous_secret")

    def get_readonly_fields(self, request, obj=None):
        shown = [f.name for f in self.model._meta.fields if f.name not in ("secret", "previous_secret")]
        return [*shown, "site_scope", "secret_hint"]

    @admin.display(description="Sites")
    def site_scope(self, obj):
        return ", ".join(sorted(s.code for s in obj.sites.all())) or "every site the owner can see"

    @admin.display(description="Secret")
    def secret_hint(self, obj):
        return "…" + obj.secret[-4:] if obj.secret else ""

    def get_queryset(self, request):
        from .services.webhooks import subscriptions_visible_to

        return subscriptions_visible_to(request.user)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, ServiceAdminMixin, ScopedModelAdmin):
    """The delivery log; "Redeliver" sends the selected events again (the service checks who may)."""

    list_display = (
        "id",
        "subscription",
        "event_type",
        "event_id",
        "document_key",
        "site",
        "status",
        "attempts",
        "response_code",
        "duration_ms",
        "next_attempt_at",
    )
    list_filter = ("status", "event_type")
    search_fields = ("event_uuid", "document_key", "subscription__name", "subscription__url")
    actions = ["redeliver"]

    def get_queryset(self, request):
        from .services.webhooks import deliveries_visible_to

        return deliveries_visible_to(request.user)

    @admin.action(description="Redeliver the selected events")
    def redeliver(self, request, queryset):
        from .services.webhooks import redeliver

        self.run_for_each(request, queryset, str, lambda d: redeliver(user=request.user, delivery=d), "Redelivered")
