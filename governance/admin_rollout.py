"""Rollout waves in Django admin (issue 13): enterprise admins plan a wave (code, name, planned dates, its sites);
every save goes through ``governance.services.rollout`` (dates checked together, a live site never leaves its
wave), with history. Registered from ``GovernanceConfig.ready()``."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from governance import permissions
from governance.models import RolloutWave, Site
from governance.services.rollout import create_wave, set_wave_sites, update_wave, wave_progress

from .admin import HistoryAdmin, ServiceAdminMixin


class RolloutWaveForm(forms.ModelForm):
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.filter(active=True).order_by("code"),
        required=False,
        widget=admin.widgets.FilteredSelectMultiple("sites", is_stacked=False),
        help_text="A site is in one wave at most; a live site stays in the wave it went live in.",
    )

    class Meta:
        model = RolloutWave
        fields = ("code", "name", "planned_cutover", "planned_pilot", "planned_go_live", "note")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["sites"].initial = list(self.instance.sites.all())


@admin.register(RolloutWave)
class RolloutWaveAdmin(ServiceAdminMixin, HistoryAdmin):
    form = RolloutWaveForm
    list_display = ("code", "name", "planned_cutover", "planned_pilot", "planned_go_live", "site_count", "on_plan")
    search_fields = ("code", "name")

    def get_queryset(self, request):
        """Enterprise admins: every wave; other staff: the waves with one of their sites (its history too)."""
        qs = super().get_queryset(request)
        if permissions.is_enterprise_admin(request.user):
            return qs
        return qs.filter(sites__in=permissions.visible_sites(request.user)).distinct()

    def get_readonly_fields(self, request, obj=None):
        return ("code",) if obj else ()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        request._rollout_version = True  # a version has its own fields only (its sites are the sites' history)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not getattr(request, "_rollout_version", False):
            return fieldsets
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f != "sites"]}) for name, opts in fieldsets]

    @admin.display(description="Sites")
    def site_count(self, obj) -> int:
        return obj.sites.count()

    @admin.display(description="Progress")
    def on_plan(self, obj) -> str:
        progress = wave_progress([obj])[0]
        behind = [p.site.code for p in progress.sites if p.status == "behind"]
        return f"{progress.status}" + (f" ({', '.join(behind)})" if behind else "") + f" · {progress.live} live"

    def has_add_permission(self, request):
        return permissions.is_enterprise_admin(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return permissions.is_enterprise_admin(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # the sites' history refers to their wave

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        dates = {f: data.get(f) for f in ("name", "note", "planned_cutover", "planned_pilot", "planned_go_live")}
        if change:
            wave = update_wave(user=request.user, wave=obj, **dates)
        else:
            wave = create_wave(user=request.user, code=data["code"], **dates)
        wave = set_wave_sites(user=request.user, wave=wave, sites=list(data.get("sites") or []))
        obj.pk = wave.pk
        obj.code = wave.code
        obj.created_at = wave.created_at
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        return None  # the sites were set by the service in save_model
