"""Supervisors: pack a wave's picked lines into shipments, the shipments list, the shipment page (contents,
packages, weight), confirming with carrier and tracking number, and the printable packing slip (the API's template).

Every write goes through ``warehouse.services`` (``pack_wave``, ``confirm_shipment``); refusals are shown with the
service's own words.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError
from governance import permissions
from warehouse.models import Package, Shipment
from warehouse.services import confirm_shipment, pack_wave

from ..lists import Column, Filter, ListPage
from ..shipping_forms import PackForm, TrackingForm
from ..workspace import field_errors, flash_refusal, site_page
from .waves import _wave


def _shipment(request, pk) -> Shipment:
    shipment = Shipment.objects.select_related("site", "wave", "packed_by", "shipped_by").filter(pk=pk).first()
    if shipment is None or not permissions.can_see_site(request.user, shipment.site_id):
        raise Http404("No such shipment.")
    return shipment


# --- packing ------------------------------------------------------------------------------------------------


@require_POST
@site_page("warehouse.execute")
def wave_pack(request, pk, *, site):
    """Pack what the wave picked: the service groups it into shipments (one per order, or per customer and
    address when the site consolidates; orders that must ship complete wait)."""
    wave = _wave(request, pk)
    form = PackForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["weight_grams"][0])
        return redirect("web:wave-detail", wave.pk)
    try:
        shipments = pack_wave(user=request.user, wave=wave, packages=form.packages())
    except DomainError as exc:
        flash_refusal(request, exc)
        return redirect("web:wave-detail", wave.pk)
    numbers = ", ".join(s.number for s in shipments)
    messages.success(request, f"{wave.number} packed into {len(shipments)} shipment(s): {numbers}.")
    if len(shipments) == 1:
        return redirect("web:shipment-detail", shipments[0].pk)
    return redirect("web:wave-detail", wave.pk)


# --- list ---------------------------------------------------------------------------------------------------


def _weights():
    return Coalesce(
        Subquery(
            Package.objects.filter(shipment=OuterRef("pk"))
            .order_by()
            .values("shipment")
            .annotate(total=Sum("weight_grams"))
            .values("total"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


SHIPMENT_COLUMNS = (
    Column(
        "number", "Shipment", lambda s: s.number, "number", link=lambda s: reverse("web:shipment-detail", args=[s.pk])
    ),
    Column("status", "Status", lambda s: s.get_status_display(), "status"),
    Column("customer", "Customer", lambda s: s.customer_code, "customer_code"),
    Column(
        "wave",
        "Wave",
        lambda s: s.wave.number if s.wave_id else "",
        "wave__number",
        link=lambda s: reverse("web:wave-detail", args=[s.wave_id]) if s.wave_id else None,
    ),
    Column("lines", "Lines", lambda s: s.line_count, "line_count", css="num"),
    Column("packages", "Packages", lambda s: s.package_count, "package_count", css="num"),
    Column("weight", "Weight (g)", lambda s: s.weight, "weight", css="num"),
    Column("carrier", "Carrier", lambda s: s.carrier, "carrier"),
    Column("tracking", "Tracking", lambda s: s.tracking_number, "tracking_number"),
    Column("packed", "Packed", lambda s: s.packed_at, "packed_at"),
    Column("shipped", "Shipped", lambda s: s.shipped_at, "shipped_at"),
)


@site_page("warehouse.plan")
def shipment_list(request, *, site):
    shipments = (
        Shipment.objects.filter(site=site)
        .select_related("wave")
        .annotate(
            line_count=Count("lines", distinct=True),
            package_count=Count("packages", distinct=True),
            weight=_weights(),
        )
    )
    listing = ListPage(
        request,
        shipments,
        SHIPMENT_COLUMNS,
        filters=(
            Filter("status", "Status", "status", kind="choice", choices=Shipment.Status.choices),
            Filter("number", "Number", "number__icontains"),
            Filter("customer", "Customer", "customer_code__iexact"),
            Filter("carrier", "Carrier", "carrier__iexact"),
            Filter("tracking", "Tracking", "tracking_number__icontains"),
            Filter("from", "Packed from", "packed_at__date__gte", kind="date_from"),
            Filter("to", "Packed to", "packed_at__date__lte", kind="date_to"),
        ),
        default_sort="-packed",
        csv_name=f"shipments-{site.code}",
    )
    return listing.respond(
        "web/shipping/list.html",
        {
            "table_id": "shipment-table",
            "row_actions": "web/shipping/_row_actions.html",
            "crumbs": [("Shipments", None)],
        },
    )


# --- the shipment page ----------------------------------------------------------------------------------------


def _detail(request, shipment, *, values=None, errors=None, refused=None, status=200):
    lines = list(shipment.lines.select_related("order", "order_line", "item", "lot"))
    packages = list(shipment.packages.all())
    return render(
        request,
        "web/shipping/detail.html",
        {
            "shipment": shipment,
            "lines": lines,
            "packages": packages,
            "units": sum(line.quantity for line in lines),
            "weight": sum(p.weight_grams for p in packages),
            "orders": sorted({line.order.number for line in lines}),
            "can_ship": shipment.status == Shipment.Status.PACKED
            and permissions.can(request.user, "warehouse.execute", shipment.site_id),
            "values": values or {"carrier": shipment.carrier, "tracking_number": ""},
            "errors": errors or {},
            "refused": refused,
            "crumbs": [
                ("Shipments", reverse("web:shipment-list"))
                if permissions.can(request.user, "warehouse.plan", shipment.site_id)
                else ("Shipments", None),
                (shipment.number, None),
            ],
        },
        status=status,
    )


@site_page()
def shipment_detail(request, pk, *, site):
    """Any role of the shipment's site may read it (the order page links here); shipping needs warehouse.execute."""
    return _detail(request, _shipment(request, pk))


@require_POST
@site_page("warehouse.execute")
def shipment_confirm(request, pk, *, site):
    shipment = _shipment(request, pk)
    form = TrackingForm(request.POST)
    form.is_valid()  # text fields: always readable; the carrier's adapter checks the number
    values = form.values()
    try:
        shipment = confirm_shipment(
            user=request.user,
            shipment=shipment,
            carrier=form.cleaned_data.get("carrier", ""),
            tracking_number=form.cleaned_data.get("tracking_number", ""),
        )
    except DomainError as exc:
        shipment.refresh_from_db()
        return _detail(
            request,
            shipment,
            values=values,
            errors=field_errors(exc),
            refused=exc.message,
            status=exc.status_code if exc.status_code != 404 else 400,
        )
    messages.success(
        request, f"{shipment.number} shipped with {shipment.carrier}, tracking {shipment.tracking_number}."
    )
    return redirect("web:shipment-detail", shipment.pk)


@site_page()
def shipment_packing_slip(request, pk, *, site):
    """The printable packing slip: the same template as the API's ``shipments/{id}/packing-slip/``, with the
    SSCCs the packages got when they were packed."""
    shipment = _shipment(request, pk)
    return render(request, "warehouse/packing_slip.html", {"shipment": shipment})
