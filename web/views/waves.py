"""Supervisors: plan and release waves, print the pick list (the same template as the API's pick-list)."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.actions import allowed_actions
from core.errors import DomainError
from governance import permissions
from governance.services.sites import site_zone
from warehouse.models import PickTask, Wave
from warehouse.selectors import pick_list, wave_progress
from warehouse.services import plan_wave, release_wave

from ..entry import WavePlanForm
from ..lists import Column, Filter, ListPage
from ..workspace import flash_refusal, site_page


def _wave(request, pk) -> Wave:
    wave = Wave.objects.select_related("site").filter(pk=pk).first()
    if wave is None or not permissions.can_see_site(request.user, wave.site_id):
        raise Http404("No such wave.")
    return wave


WAVE_COLUMNS = (
    Column("number", "Wave", lambda w: w.number, "number", link=lambda w: reverse("web:wave-detail", args=[w.pk])),
    Column("status", "Status", lambda w: w.get_status_display(), "status"),
    Column("lines", "Lines", lambda w: w.line_count, "line_count", css="num"),
    Column("open", "Open picks", lambda w: w.open_picks, "open_picks", css="num"),
    Column("picks", "All picks", lambda w: w.all_picks, "all_picks", css="num"),
    Column("carrier", "Carrier", lambda w: w.carrier, "carrier"),
    Column("created", "Created", lambda w: w.created_at, "created_at"),
)


@site_page("warehouse.plan")
def wave_list(request, *, site):
    waves = Wave.objects.filter(site=site).annotate(
        open_picks=Count("pick_tasks", filter=Q(pick_tasks__status=PickTask.Status.OPEN), distinct=True),
        all_picks=Count("pick_tasks", distinct=True),
        line_count=Count("lines", filter=Q(lines__active=True), distinct=True),
    )
    listing = ListPage(
        request,
        waves,
        WAVE_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=Wave.Status.choices),
            Filter("number", "Number", "number__icontains"),
            Filter("carrier", "Carrier", "carrier__iexact"),
            Filter("from", "Created from", "created_at__date__gte", kind="date_from"),
            Filter("to", "Created to", "created_at__date__lte", kind="date_to"),
        ),
        default_sort="-created",
        csv_name=f"waves-{site.code}",
    )
    return listing.respond(
        "web/waves/list.html",
        {"table_id": "wave-table", "row_actions": "web/waves/_row_actions.html", "crumbs": [("Waves", None)]},
    )


@require_POST
@site_page("warehouse.plan")
def wave_plan(request, *, site):
    form = WavePlanForm(request.POST, zone=site_zone(site))
    if not form.is_valid():
        for msgs in form.errors.values():
            for message in msgs:
                messages.error(request, message)
        return redirect("web:wave-list")
    try:
        wave = plan_wave(user=request.user, site=site, **form.cleaned_data)
    except DomainError as exc:
        flash_refusal(request, exc)
        return redirect("web:wave-list")
    messages.success(request, f"Wave {wave.number} planned with {wave.lines.count()} line(s).")
    return redirect("web:wave-detail", wave.pk)


@site_page("warehouse.plan")
def wave_detail(request, pk, *, site):
    wave = _wave(request, pk)
    lines = list(wave.lines.filter(active=True).select_related("order_line__order__customer", "order_line__item"))
    tasks = list(wave.pick_tasks.select_related("item", "lot", "location", "order_line__order"))
    shipments = list(wave.shipments.order_by("number"))
    return render(
        request,
        "web/waves/detail.html",
        {
            "wave": wave,
            "lines": lines,
            "tasks": tasks,
            "shipments": shipments,
            "actions": allowed_actions(wave, request.user),
            "progress": wave_progress(tasks) if tasks else None,
            "crumbs": [("Waves", reverse("web:wave-list")), (wave.number, None)],
        },
    )


@require_POST
@site_page("warehouse.plan")
def wave_release(request, pk, *, site):
    wave = _wave(request, pk)
    try:
        wave = release_wave(user=request.user, wave=wave)
    except DomainError as exc:
        flash_refusal(request, exc)
    else:
        messages.success(request, f"Wave {wave.number} released: {wave.pick_tasks.count()} pick task(s).")
        for problem in wave.filters.get("not_pickable", []):
            messages.warning(request, problem)
    return redirect("web:wave-detail", wave.pk)


@site_page("warehouse.plan")
def wave_pick_list(request, pk, *, site):
    wave = _wave(request, pk)
    zones = pick_list(wave)
    return render(
        request,
        "warehouse/pick_list.html",
        {"wave": wave, "zones": zones, "line_count": sum(len(z.lines) for z in zones)},
    )
